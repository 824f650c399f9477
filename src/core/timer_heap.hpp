// SPDX-License-Identifier: Apache-2.0
// timer_heap.hpp — TimerHeap: the deadlines a worker watches for its actors.
//
// A min-heap of (deadline, reason, waiter). Each entry lives on the stack of the actor
// that waits, for exactly the duration of its wait: the actor adds it before parking and
// removes it after waking, whichever way it woke (O(log n) by the index the entry keeps),
// so cancelled or satisfied timeouts leave nothing behind (and the buffer shrinks once
// a peak has passed). Firing pops every expired
// entry and unparks its actor; the unpark carries the waiter's generation, so a late
// firing reaches no one (or, at worst, gives a looping waiter one spurious wake-up).
//
// Each worker has one. An actor registers with the worker it runs on and may migrate
// before it removes the entry, so the heap is locked (a SpinLock: tiny critical
// sections) and its emptiness and earliest deadline are readable without the lock.
// The worker fires its heap at every scheduling decision while it holds timers, and its
// idle sleep ends at the earliest deadline (futex timeout, nanosecond precision).
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

class TimerHeap;

// TimerReason says what firing means: Sleep and WaitTimeout wake the waiter; Cancel
// cancels it as timed out (SpawnOptions::deadline: the entry lives in the actor's
// supervision record, not on a stack, and the actor's exit path removes it).
enum class TimerReason : std::uint8_t { Sleep, WaitTimeout, Cancel };

struct TimerEntry {
  std::int64_t deadline_ns = 0;  // steady_clock nanoseconds since its epoch
  WaiterId waiter;
  TimerReason reason = TimerReason::Sleep;
  TimerHeap* owner = nullptr;  // the heap it is on (set by add)
  std::size_t index = kNotQueued;
  static constexpr std::size_t kNotQueued = std::numeric_limits<std::size_t>::max();
};

class TimerHeap {
 public:
  // add puts e on this heap (e must not be on any heap).
  void add(TimerEntry* e) noexcept;
  // remove takes e off its heap if it is still there (no-op once it fired).
  static void remove(TimerEntry* e) noexcept;
  // fire_expired unparks (or, for Cancel, cancels) every waiter whose deadline is <= now_ns.
  void fire_expired(std::int64_t now_ns) noexcept;

  // earliest() is the earliest deadline, or kNoDeadline; readable without the lock (a hint).
  std::int64_t earliest() const noexcept { return earliest_.load(std::memory_order_acquire); }
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
  // memory_bytes() is what the heap's buffer holds allocated now.
  std::size_t memory_bytes() const noexcept {
    // NOLINTNEXTLINE(bugprone-sizeof-expression): the buffer's slots are pointers
    return capacity_.load(std::memory_order_relaxed) * sizeof(TimerEntry*);
  }

 private:
  void sift_up(std::size_t i) noexcept;
  void sift_down(std::size_t i) noexcept;
  void erase_at(std::size_t i) noexcept;
  void publish() noexcept;  // refresh earliest_, size_ and capacity_ (under the lock)
  // maybe_shrink gives memory back once the heap is mostly empty after a peak (a million
  // timed waits that all ended leave no buffer behind). Takes the lock itself.
  void maybe_shrink() noexcept;
  static constexpr std::size_t kShrinkFloor = 1024;  // never below this many slots

  SpinLock lock_;
  std::vector<TimerEntry*> heap_;  // guarded by lock_
  std::atomic<std::int64_t> earliest_{kNoDeadline};
  std::atomic<std::size_t> size_{0};
  std::atomic<std::size_t> capacity_{0};
};

// now_ns is steady_clock's now in nanoseconds (the timers' time base).
std::int64_t now_ns() noexcept;
std::int64_t to_ns(Deadline d) noexcept;

}  // namespace smarm::detail
