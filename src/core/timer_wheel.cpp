// SPDX-License-Identifier: Apache-2.0
// timer_wheel.cpp — TimerWheel (see timer_wheel.hpp).
#include "core/timer_wheel.hpp"

#include <algorithm>
#include <bit>
#include <chrono>
#include <utility>

#include "core/actor.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

std::int64_t now_ns() noexcept { return to_ns(Clock::now()); }

std::int64_t to_ns(Deadline d) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d.time_since_epoch()).count();
}

namespace {
// tick_of is the tick a deadline falls in (deadlines before the clock's epoch: tick 0).
std::uint64_t tick_of(std::int64_t ns) noexcept {
  return ns <= 0 ? 0 : static_cast<std::uint64_t>(ns) >> TimerWheel::kTickShift;
}
std::int64_t start_of(std::uint64_t tick) noexcept {
  constexpr std::uint64_t kMaxTick =
      static_cast<std::uint64_t>(INT64_MAX) >> TimerWheel::kTickShift;
  return tick >= kMaxTick ? kNoDeadline : static_cast<std::int64_t>(tick << TimerWheel::kTickShift);
}
// first_bit_after(words, n_bits, after) is the first set bit with index > after, or n_bits.
std::uint32_t first_bit_after(const std::uint64_t* words, std::uint32_t n_bits,
                              std::uint32_t after) noexcept {
  std::uint32_t i = after + 1;
  while (i < n_bits) {
    const std::uint64_t w = words[i / 64] >> (i % 64);
    if (w != 0) return i + static_cast<std::uint32_t>(std::countr_zero(w));
    i = (i / 64 + 1) * 64;
  }
  return n_bits;
}
}  // namespace

TimerWheel::TimerWheel() noexcept : now_tick_(tick_of(now_ns())) {}

void TimerWheel::add(TimerEntry* e) noexcept {
  lock_.lock();
  e->owner = this;
  if (nursery_size_ == kNursery) flush_nursery_locked();
  e->place = TimerEntry::Place::Nursery;
  e->index = nursery_size_;
  nursery_[nursery_size_++] = e;
  nursery_min_ = std::min(nursery_min_, e->deadline_ns);
  ++count_;
  size_.store(count_, std::memory_order_relaxed);
  if (e->deadline_ns < earliest_.load(std::memory_order_relaxed))
    earliest_.store(e->deadline_ns, std::memory_order_release);
  lock_.unlock();
}

void TimerWheel::remove(TimerEntry* e) noexcept {
  TimerWheel* w = e->owner;
  if (!w) return;
  w->lock_.lock();
  if (e->place != TimerEntry::Place::None) {
    w->unplace_locked(e);
    --w->count_;
    w->size_.store(w->count_, std::memory_order_relaxed);
    // earliest_ stays as it was (still a lower bound); an empty wheel says so, so that an
    // idle worker does not wake for a deadline nobody waits for any more.
    if (w->count_ == 0) {
      w->nursery_min_ = kNoDeadline;
      w->earliest_.store(kNoDeadline, std::memory_order_release);
    }
  }
  w->lock_.unlock();
  e->owner = nullptr;
}

void TimerWheel::fire_expired(std::int64_t now) noexcept {
  // Waiters are woken after the lock is released; a small batch per pass keeps the
  // buffer on the stack, and the loop picks up the rest.
  constexpr std::size_t kBatch = 32;
  for (;;) {
    DueTimer due[kBatch];
    const std::size_t n = take_expired(now, due, kBatch);
    for (std::size_t i = 0; i < n; ++i) {
      if (due[i].reason == TimerReason::Cancel)  // a stale generation makes it a no-op
        cancel_actor(due[i].waiter.actor, due[i].waiter.generation, current_worker(),
                     state::kTimedOut);
      else
        unpark(due[i].waiter);
    }
    if (n < kBatch) return;
  }
}

std::size_t TimerWheel::take_expired(std::int64_t now, DueTimer* out, std::size_t max) noexcept {
  std::size_t n = 0;
  lock_.lock();
  flush_nursery_locked();
  advance_locked(tick_of(now));
  while (n < max && !near_.empty() && near_.front()->deadline_ns <= now) {
    TimerEntry* e = near_.front();
    out[n++] = DueTimer{e->waiter, e->reason, e->deadline_ns};
    near_erase_locked(0);
    e->place = TimerEntry::Place::None;
    --count_;
  }
  if (n < max) maybe_shrink_near_locked();
  publish_locked();
  lock_.unlock();
  return n;
}

// ---------------------------------------------------------------------------------------
// Placement.

void TimerWheel::link_locked(TimerEntry*& head, TimerEntry* e) noexcept {
  e->next = head;
  e->pprev = &head;
  if (head) head->pprev = &e->next;
  head = e;
}

void TimerWheel::place_locked(TimerEntry* e) noexcept {
  const std::uint64_t t = tick_of(e->deadline_ns);
  if (t <= now_tick_) {  // its tick has come: the exact part
    near_push_locked(e);
    return;
  }
  for (int level = 0; level < kLevels; ++level) {
    // Level `level` holds the ticks of the current block of the level above it.
    const std::uint32_t above = shift(level) + (level == 0 ? kLevel0Bits : kLevelBits);
    if ((t >> above) != (now_tick_ >> above)) continue;
    const auto slot = static_cast<std::uint32_t>((t >> shift(level)) & (slots(level) - 1));
    e->place = TimerEntry::Place::Bucket;
    e->bucket = static_cast<std::uint16_t>(level * kSlots0 + slot);
    link_locked(buckets_[level][slot], e);
    occupied_[level][slot / 64] |= std::uint64_t{1} << (slot % 64);
    return;
  }
  e->place = TimerEntry::Place::Far;
  link_locked(far_, e);
}

void TimerWheel::unplace_locked(TimerEntry* e) noexcept {
  switch (e->place) {
    case TimerEntry::Place::Nursery: {
      TimerEntry* last = nursery_[--nursery_size_];
      nursery_[e->index] = last;
      last->index = e->index;
      break;
    }
    case TimerEntry::Place::Bucket:
    case TimerEntry::Place::Far: {
      *e->pprev = e->next;
      if (e->next) e->next->pprev = e->pprev;
      if (e->place == TimerEntry::Place::Bucket) {
        const std::uint32_t level = e->bucket / kSlots0, slot = e->bucket % kSlots0;
        if (!buckets_[level][slot])
          occupied_[level][slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
      }
      break;
    }
    case TimerEntry::Place::Near:
      near_erase_locked(e->index);
      break;
    case TimerEntry::Place::None:
      break;
  }
  e->place = TimerEntry::Place::None;
}

void TimerWheel::flush_nursery_locked() noexcept {
  for (std::uint32_t i = 0; i < nursery_size_; ++i) place_locked(nursery_[i]);
  nursery_size_ = 0;
  nursery_min_ = kNoDeadline;
}

void TimerWheel::cascade_locked(int level, std::uint64_t tick) noexcept {
  const auto slot = static_cast<std::uint32_t>((tick >> shift(level)) & (slots(level) - 1));
  TimerEntry* e = std::exchange(buckets_[level][slot], nullptr);
  occupied_[level][slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
  while (e) {
    TimerEntry* next = e->next;
    place_locked(e);  // a lower level now (or the near heap)
    e = next;
  }
}

void TimerWheel::advance_locked(std::uint64_t target) noexcept {
  if (count_ == near_.size()) {  // nothing in buckets or the far list: jump
    if (target > now_tick_) now_tick_ = target;
    return;
  }
  while (now_tick_ < target) {
    const std::uint64_t t = ++now_tick_;
    if ((t & (kSlots0 - 1)) == 0) {
      // A new block of level 0 begins: bring down what the levels above hold for it,
      // the highest first (its entries may land in a lower level's bucket for t).
      if ((t & ((std::uint64_t{1} << shift(kLevels)) - 1)) == 0 && far_) {
        TimerEntry* e = std::exchange(far_, nullptr);
        while (e) {
          TimerEntry* next = e->next;
          place_locked(e);
          e = next;
        }
      }
      for (int level = kLevels - 1; level >= 1; --level)
        if ((t & ((std::uint64_t{1} << shift(level)) - 1)) == 0) cascade_locked(level, t);
    }
    const auto slot = static_cast<std::uint32_t>(t & (kSlots0 - 1));
    if (TimerEntry* e = std::exchange(buckets_[0][slot], nullptr)) {
      occupied_[0][slot / 64] &= ~(std::uint64_t{1} << (slot % 64));
      while (e) {
        TimerEntry* next = e->next;
        near_push_locked(e);
        e = next;
      }
    }
    // Skip the ticks with nothing to do: up to the next occupied level-0 bucket of this
    // block, or the block's end, whichever comes first.
    const std::uint32_t next = first_bit_after(occupied_[0], kSlots0, slot);
    const std::uint64_t block_end = t | (kSlots0 - 1);
    const std::uint64_t quiet_until =
        next < kSlots0 ? (t & ~std::uint64_t{kSlots0 - 1}) + next - 1 : block_end;
    now_tick_ = std::min(target, std::max(now_tick_, quiet_until));
  }
}

// ---------------------------------------------------------------------------------------
// earliest().

std::int64_t TimerWheel::lower_bound_locked() const noexcept {
  std::int64_t lb = near_.empty() ? kNoDeadline : near_.front()->deadline_ns;
  lb = std::min(lb, nursery_min_);
  // The lowest level with a bucket ahead holds the earliest of the wheel's entries; the
  // start of that bucket's range is a lower bound of its deadlines.
  for (int level = 0; level < kLevels; ++level) {
    const std::uint32_t cur =
        static_cast<std::uint32_t>((now_tick_ >> shift(level)) & (slots(level) - 1));
    const std::uint32_t idx = first_bit_after(occupied_[level], slots(level), cur);
    if (idx == slots(level)) continue;
    const std::uint32_t above = shift(level) + (level == 0 ? kLevel0Bits : kLevelBits);
    const std::uint64_t tick =
        ((now_tick_ >> above) << above) | (std::uint64_t{idx} << shift(level));
    return std::min(lb, start_of(tick));
  }
  if (far_) lb = std::min(lb, start_of(((now_tick_ >> shift(kLevels)) + 1) << shift(kLevels)));
  return lb;
}

void TimerWheel::publish_locked() noexcept {
  earliest_.store(count_ == 0 ? kNoDeadline : lower_bound_locked(), std::memory_order_release);
  size_.store(count_, std::memory_order_relaxed);
  near_capacity_.store(near_.capacity(), std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------------------
// The near heap.

void TimerWheel::near_push_locked(TimerEntry* e) noexcept {
  e->place = TimerEntry::Place::Near;
  e->index = static_cast<std::uint32_t>(near_.size());
  near_.push_back(e);  // may allocate: growth only, amortised, never with a park pending
  near_sift_up(e->index);
}

void TimerWheel::near_erase_locked(std::uint32_t i) noexcept {
  TimerEntry* last = near_.back();
  near_.pop_back();
  if (i == near_.size()) return;
  near_[i] = last;
  last->index = i;
  near_sift_down(i);
  near_sift_up(i);
}

void TimerWheel::near_sift_up(std::uint32_t i) noexcept {
  while (i > 0) {
    const std::uint32_t parent = (i - 1) / 2;
    if (near_[parent]->deadline_ns <= near_[i]->deadline_ns) break;
    std::swap(near_[parent], near_[i]);
    near_[parent]->index = parent;
    near_[i]->index = i;
    i = parent;
  }
}

void TimerWheel::near_sift_down(std::uint32_t i) noexcept {
  const auto n = static_cast<std::uint32_t>(near_.size());
  for (;;) {
    const std::uint32_t l = 2 * i + 1, r = l + 1;
    std::uint32_t m = i;
    if (l < n && near_[l]->deadline_ns < near_[m]->deadline_ns) m = l;
    if (r < n && near_[r]->deadline_ns < near_[m]->deadline_ns) m = r;
    if (m == i) return;
    std::swap(near_[m], near_[i]);
    near_[m]->index = m;
    near_[i]->index = i;
    i = m;
  }
}

void TimerWheel::maybe_shrink_near_locked() noexcept {
  // A burst of deadlines in one tick (a million sleepers) grows the heap; give it back
  // once it is mostly empty. Rare: the swap's allocation happens under the lock.
  constexpr std::size_t kFloor = 1024;
  if (near_.capacity() <= kFloor || near_.size() * 4 > near_.capacity()) return;
  try {
    std::vector<TimerEntry*> fresh;
    fresh.reserve(std::max(near_.size() * 2, kFloor));
    fresh.assign(near_.begin(), near_.end());
    near_.swap(fresh);
  } catch (...) {
    // Out of memory while shrinking: keep the big buffer; it is correct, just large.
  }
}

}  // namespace smarm::detail
