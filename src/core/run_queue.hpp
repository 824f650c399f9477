// SPDX-License-Identifier: Apache-2.0
// run_queue.hpp — RunQueue: a locked, intrusive double-ended queue of runnable actors.
//
// Each worker owns two (its run queue and its fresh queue of never-run actors); the
// scheduler has one more (the inject queue) for work that arrives from outside any
// worker. The owner pushes at either end — front for a parent whose child was started
// first (depth-first fan-out), back for woken and yielding actors (fairness) — and pops
// at the front; thieves take from the back: the actor woken last, or in a fan-out tree
// the parent nearest the root. (The hand-off monitor, which empties a blocked worker's
// queues, takes from the front: the order is kept.) Only runnable actors are ever
// queued: a parked actor is on no run queue.
#pragma once

#include <atomic>
#include <cstddef>

#include <smarm/detail/spinlock.hpp>

#include "core/actor.hpp"
#include "core/sanitizer.hpp"

namespace smarm::detail {

class RunQueue {
 public:
  // set_private(true) drops the lock: in a one-worker runtime nobody but the owner ever
  // touches its queue (no thieves; wake-ups from other threads use the inject queue), so
  // a hand-off between two actors costs no locked instruction here.
  // (Not under TSan: there the lock also tells TSan how actors hand over to each other.)
  void set_private(bool p) noexcept {
#if defined(SMARM_TSAN)
    (void)p;
#else
    private_ = p;
#endif
  }

  void push_back(Actor* a) noexcept {
    lock();
    set(a->next, nullptr);
    set(a->prev, tail_);
    if (tail_)
      set(tail_->next, a);
    else
      head_ = a;
    tail_ = a;
    size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    unlock();
  }
  void push_front(Actor* a) noexcept {
    lock();
    set(a->prev, nullptr);
    set(a->next, head_);
    if (head_)
      set(head_->prev, a);
    else
      tail_ = a;
    head_ = a;
    size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    unlock();
  }
  Actor* pop_front() noexcept {
    if (empty()) return nullptr;  // racy peek; a miss is re-checked by the idle path
    lock();
    Actor* a = head_;
    if (a) unlink(a);
    unlock();
    return a;
  }
  // steal_back takes the newest entry unless the lock is busy (a thief never waits).
  Actor* steal_back() noexcept {
    if (empty() || (!private_ && !lock_.try_lock())) return nullptr;
    Actor* a = tail_;
    if (a) unlink(a);
    unlock();
    return a;
  }
  // steal_front takes the oldest entry unless the lock is busy: for the hand-off monitor,
  // which moves a blocked worker's queue to the inject queue in order (moved newest
  // first, a woken actor queued before a burst of spawns waited for all of them).
  Actor* steal_front() noexcept {
    if (empty() || (!private_ && !lock_.try_lock())) return nullptr;
    Actor* a = head_;
    if (a) unlink(a);
    unlock();
    return a;
  }
  bool empty() const noexcept { return size_.load(std::memory_order_relaxed) == 0; }
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

 private:
  static Actor* get(const std::atomic<Actor*>& link) noexcept {
    return link.load(std::memory_order_relaxed);
  }
  static void set(std::atomic<Actor*>& link, Actor* v) noexcept {
    link.store(v, std::memory_order_relaxed);
  }
  void unlink(Actor* a) noexcept {
    Actor* prev = get(a->prev);
    Actor* next = get(a->next);
    if (prev)
      set(prev->next, next);
    else
      head_ = next;
    if (next)
      set(next->prev, prev);
    else
      tail_ = prev;
    set(a->next, nullptr);
    set(a->prev, nullptr);
    size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
  }

  void lock() noexcept {
    if (!private_) lock_.lock();
  }
  void unlock() noexcept {
    if (!private_) lock_.unlock();
  }

  SpinLock lock_;
  bool private_ = false;   // set before the workers start, never after
  Actor* head_ = nullptr;  // guarded by lock_
  Actor* tail_ = nullptr;  // guarded by lock_
  // Written under lock_, read without it as a hint (relaxed: only ever a hint).
  std::atomic<std::size_t> size_{0};
};

}  // namespace smarm::detail
