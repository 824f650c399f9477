// SPDX-License-Identifier: Apache-2.0
// timer_heap.cpp — TimerHeap (see timer_heap.hpp).
#include "core/timer_heap.hpp"

#include <algorithm>
#include <chrono>

#include "core/actor.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

std::int64_t now_ns() noexcept { return to_ns(Clock::now()); }

std::int64_t to_ns(Deadline d) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d.time_since_epoch()).count();
}

void TimerHeap::add(TimerEntry* e) noexcept {
  lock_.lock();
  e->owner = this;
  e->index = heap_.size();
  heap_.push_back(e);  // may allocate: growth only, amortised, never with a park pending
  sift_up(e->index);
  publish();
  lock_.unlock();
}

void TimerHeap::remove(TimerEntry* e) noexcept {
  TimerHeap* h = e->owner;
  if (!h) return;
  h->lock_.lock();
  if (e->index != TimerEntry::kNotQueued) {
    h->erase_at(e->index);
    h->publish();
  }
  h->lock_.unlock();
  e->owner = nullptr;
  h->maybe_shrink();
}

void TimerHeap::maybe_shrink() noexcept {
  // Cheap check first, without the lock: most removals leave the heap well used.
  const std::size_t cap = capacity_.load(std::memory_order_relaxed);
  if (cap <= kShrinkFloor || size_.load(std::memory_order_relaxed) * 4 > cap) return;
  std::vector<TimerEntry*> old;  // freed after the lock is released
  lock_.lock();
  if (heap_.capacity() > kShrinkFloor && heap_.size() * 4 <= heap_.capacity()) {
    try {
      std::vector<TimerEntry*> fresh;
      fresh.reserve(std::max(heap_.size() * 2, kShrinkFloor));
      fresh.assign(heap_.begin(), heap_.end());
      heap_.swap(fresh);
      old.swap(fresh);
    } catch (...) {
      // Out of memory while shrinking: keep the big buffer; it is correct, just large.
    }
    publish();
  }
  lock_.unlock();
}

void TimerHeap::fire_expired(std::int64_t now) noexcept {
  // Waiters are woken after the lock is released; a small batch per pass keeps the
  // buffer on the stack, and the loop picks up the rest.
  constexpr std::size_t kBatch = 32;
  for (;;) {
    WaiterId due[kBatch];
    bool cancel[kBatch];
    std::size_t n = 0;
    lock_.lock();
    while (n < kBatch && !heap_.empty() && heap_.front()->deadline_ns <= now) {
      TimerEntry* e = heap_.front();
      // Copied: once off the heap the entry belongs to its owner again (a waiter's stack,
      // or a supervision record the exiting actor may free at once).
      cancel[n] = e->reason == TimerReason::Cancel;
      due[n++] = e->waiter;
      erase_at(0);
    }
    publish();
    const bool more = !heap_.empty() && heap_.front()->deadline_ns <= now;
    lock_.unlock();
    for (std::size_t i = 0; i < n; ++i) {
      if (cancel[i])  // the generation check makes a deadline of an ended actor a no-op
        cancel_actor(due[i].actor, due[i].generation, current_worker(), state::kTimedOut);
      else
        unpark(due[i]);
    }
    if (!more) {
      maybe_shrink();
      return;
    }
  }
}

void TimerHeap::erase_at(std::size_t i) noexcept {
  heap_[i]->index = TimerEntry::kNotQueued;
  TimerEntry* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  heap_[i] = last;
  last->index = i;
  sift_down(i);
  sift_up(i);
}

void TimerHeap::sift_up(std::size_t i) noexcept {
  while (i > 0) {
    std::size_t parent = (i - 1) / 2;
    if (heap_[parent]->deadline_ns <= heap_[i]->deadline_ns) break;
    std::swap(heap_[parent], heap_[i]);
    heap_[parent]->index = parent;
    heap_[i]->index = i;
    i = parent;
  }
}

void TimerHeap::sift_down(std::size_t i) noexcept {
  for (;;) {
    std::size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < heap_.size() && heap_[l]->deadline_ns < heap_[m]->deadline_ns) m = l;
    if (r < heap_.size() && heap_[r]->deadline_ns < heap_[m]->deadline_ns) m = r;
    if (m == i) return;
    std::swap(heap_[m], heap_[i]);
    heap_[m]->index = m;
    heap_[i]->index = i;
    i = m;
  }
}

void TimerHeap::publish() noexcept {
  earliest_.store(heap_.empty() ? kNoDeadline : heap_.front()->deadline_ns,
                  std::memory_order_release);
  size_.store(heap_.size(), std::memory_order_relaxed);
  capacity_.store(heap_.capacity(), std::memory_order_relaxed);
}

}  // namespace smarm::detail
