// SPDX-License-Identifier: Apache-2.0
// timer_wheel.hpp — TimerWheel: the deadlines a worker watches for its actors.
//
// Each entry lives on the stack of the actor that waits (or in a supervision record),
// for exactly the duration of its wait: the actor adds it before parking and removes it
// after waking, whichever way it woke, so satisfied or cancelled timeouts leave nothing
// behind. Firing unparks the entry's actor; the unpark carries the waiter's generation, so
// a late firing reaches no one (or, at worst, gives a looping waiter one spurious wake).
//
// Three places an entry can be, cheapest first:
// - the nursery: the last few entries added, unsorted (kNursery slots). Most timed waits
//   end before their deadline (a reply came, a lock was granted), and an entry removed
//   from the nursery never touched anything but itself and a hot array. When it is full,
//   or when the worker fires timers, its entries move on.
// - the wheel: hierarchical buckets of ticks (2^20 ns, about 1 ms). Level 0 has 256
//   buckets of one tick for the current block of 256 ticks; levels 1-4 have 64 buckets
//   each, of 2^8, 2^14, 2^20 and 2^26 ticks, for the current block of the level above.
//   An entry goes to the lowest level whose current block holds its deadline, in an
//   intrusive doubly linked list: add and remove are O(1) and touch at most the two
//   neighbouring entries, never one per level as a heap's sift does (a million waiters'
//   entries on a million cold stacks made a heap's every add a chain of cache misses).
//   When time reaches a bucket of a higher level, its entries cascade down, each at most
//   once per level. Deadlines past level 4's block (about 49 days) wait in a far list.
// - the near heap: an exact min-heap of the entries whose tick has come (due within
//   about a millisecond). Deadlines stay exact: an entry fires when its deadline in
//   nanoseconds has passed, never when its bucket is reached.
//
// An actor registers with the worker it runs on and may migrate before it removes the
// entry, so the wheel is locked (a SpinLock: tiny critical sections); earliest() and
// size() are readable without the lock. earliest() is a lower bound of the next
// deadline (a bucket's start, or a deadline since removed), never later than it: the
// worker fires at every scheduling decision once it has passed, and its idle sleep ends
// there.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include <smarm/detail/core.hpp>
#include <smarm/detail/spinlock.hpp>
#include <smarm/timer.hpp>

namespace smarm::detail {

class TimerWheel;

// TimerReason says what firing means: Sleep and WaitTimeout wake the waiter; Cancel
// cancels it as timed out (SpawnOptions::deadline: the entry lives in the actor's
// supervision record, not on a stack, and the actor's exit path removes it).
enum class TimerReason : std::uint8_t { Sleep, WaitTimeout, Cancel };

struct TimerEntry {
  std::int64_t deadline_ns = 0;  // steady_clock nanoseconds since its epoch
  WaiterId waiter;
  TimerReason reason = TimerReason::Sleep;
  // Bookkeeping of the wheel it is on (under that wheel's lock).
  TimerWheel* owner = nullptr;
  enum class Place : std::uint8_t { None, Nursery, Bucket, Far, Near };
  Place place = Place::None;
  std::uint16_t bucket = 0;  // Bucket: level * 256 + slot
  std::uint32_t index = 0;   // Nursery: its slot; Near: its heap index
  TimerEntry* next = nullptr;
  TimerEntry** pprev = nullptr;  // Bucket/Far: the link that points at this entry
};

class TimerWheel {
 public:
  TimerWheel() noexcept;
  TimerWheel(const TimerWheel&) = delete;
  TimerWheel& operator=(const TimerWheel&) = delete;

  // add puts e on this wheel (e must not be on any).
  void add(TimerEntry* e) noexcept;
  // remove takes e off its wheel if it is still there (no-op once it fired).
  static void remove(TimerEntry* e) noexcept;
  // fire_expired unparks (or, for Cancel, cancels) every waiter whose deadline is <= now.
  void fire_expired(std::int64_t now_ns) noexcept;

  // DueTimer is what firing needs of an entry, copied out: once off the wheel the entry
  // belongs to its owner again (a waiter's stack, or a record the exiting actor frees).
  struct DueTimer {
    WaiterId waiter;
    TimerReason reason;
    std::int64_t deadline_ns;
  };
  // take_expired moves up to `max` entries whose deadline is <= now off the wheel into
  // out, earliest first, and returns how many (fire_expired's first half; tests use it
  // to watch the order without a runtime).
  std::size_t take_expired(std::int64_t now_ns, DueTimer* out, std::size_t max) noexcept;

  // earliest() is a lower bound of the earliest deadline, or kNoDeadline when empty;
  // readable without the lock (a hint).
  std::int64_t earliest() const noexcept { return earliest_.load(std::memory_order_acquire); }
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  // memory_bytes() is what the wheel holds allocated now (the near heap's buffer; the
  // buckets are part of the worker).
  std::size_t memory_bytes() const noexcept {
    // NOLINTNEXTLINE(bugprone-sizeof-expression): the buffer's slots are pointers
    return near_capacity_.load(std::memory_order_relaxed) * sizeof(TimerEntry*);
  }

  static constexpr int kTickShift = 20;  // a tick is 2^20 ns (1.05 ms)
  static constexpr std::size_t kNursery = 16;
  static constexpr int kLevels = 5;

 private:
  static constexpr std::uint32_t kLevel0Bits = 8;
  static constexpr std::uint32_t kLevelBits = 6;
  static constexpr std::uint32_t kSlots0 = 1u << kLevel0Bits;
  static constexpr std::uint32_t kSlots = 1u << kLevelBits;
  // shift(level) is the tick bits below a level's bucket index.
  static constexpr std::uint32_t shift(int level) noexcept {
    return level == 0 ? 0 : kLevel0Bits + kLevelBits * static_cast<std::uint32_t>(level - 1);
  }
  static constexpr std::uint32_t slots(int level) noexcept { return level == 0 ? kSlots0 : kSlots; }

  void place_locked(TimerEntry* e) noexcept;         // into wheel, far list or near heap
  void unplace_locked(TimerEntry* e) noexcept;       // out of wherever it is
  void flush_nursery_locked() noexcept;              // nursery -> wheel
  void advance_locked(std::uint64_t tick) noexcept;  // move due buckets to the near heap
  void cascade_locked(int level, std::uint64_t tick) noexcept;
  void link_locked(TimerEntry*& head, TimerEntry* e) noexcept;
  void publish_locked() noexcept;  // recompute earliest_, size_
  std::int64_t lower_bound_locked() const noexcept;
  // The near heap (exact, small).
  void near_push_locked(TimerEntry* e) noexcept;
  void near_erase_locked(std::uint32_t i) noexcept;
  void near_sift_up(std::uint32_t i) noexcept;
  void near_sift_down(std::uint32_t i) noexcept;
  void maybe_shrink_near_locked() noexcept;

  SpinLock lock_;
  std::uint64_t now_tick_;  // every bucket up to this tick has been moved to the near heap
  TimerEntry* nursery_[kNursery] = {};
  std::uint32_t nursery_size_ = 0;
  std::int64_t nursery_min_ = kNoDeadline;  // a lower bound of the nursery's deadlines
  TimerEntry* buckets_[kLevels][kSlots0] = {};
  std::uint64_t occupied_[kLevels][kSlots0 / 64] = {};  // a bit per non-empty bucket
  TimerEntry* far_ = nullptr;                           // beyond the top level's block
  std::vector<TimerEntry*> near_;
  std::size_t count_ = 0;  // entries on the wheel, all places
  std::atomic<std::int64_t> earliest_{kNoDeadline};
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> near_capacity_{0};
};

// now_ns is steady_clock's now in nanoseconds (the timers' time base).
std::int64_t now_ns() noexcept;
std::int64_t to_ns(Deadline d) noexcept;

}  // namespace smarm::detail
