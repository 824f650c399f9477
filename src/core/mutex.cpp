// SPDX-License-Identifier: Apache-2.0
// mutex.cpp — the waiting logic of Mutex<T> (detail/mutex_core.hpp), shared by every T.
//
// Hand-off protocol, in numbered steps (lock_ is the queue's SpinLock):
//   1. A locker that finds the mutex owned takes lock_, sets kWaiters (so the owner's
//      fast unlock fails), appends its MutexWaiter, releases lock_ and parks.
//   2. The owner's unlock finds kWaiters, takes lock_, unlinks the oldest waiter (clearing
//      kWaiters if it was the last; kLocked stays: ownership moves, the mutex is never
//      free in between), copies its WaiterId, sets `granted`, releases lock_ and unparks.
//   3. The waiter wakes: `granted` means it owns the mutex. Otherwise (a deadline, a
//      cancel, a stale wake-up) it takes lock_ and looks at `granted` again — step 2 may
//      have run in between — and only then, still under lock_, leaves the queue (or, for
//      a stale wake-up, releases lock_ and parks again).
// unpark() of an actor that has not finished parking leaves a token, so step 2 can never
// be lost between 1's release of lock_ and its park.
#include <smarm/detail/mutex_core.hpp>

#include "core/timer_wheel.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

namespace {

// may_wait says why the calling thread cannot wait in lock(), if it cannot: outside an
// actor (NotInActor) or cancelled (Cancelled, checked before anything else is tried).
Result<void> may_wait(Actor* self) noexcept {
  if (!self)
    return smarm::detail::not_in_actor(
        "Mutex::lock() called outside an actor (try_lock() works on any thread)");
  if (is_cancelled(self)) return Error(Errc::Cancelled, "Mutex::lock(): the caller was cancelled");
  return {};
}

}  // namespace

Result<void> MutexCore::lock_until(std::int64_t deadline_ns) noexcept {
  Actor* self = current_actor();
  if (auto r = may_wait(self); !r) return r;
  if (try_lock()) return {};
  return lock_slow(self, deadline_ns);
}

Result<void> MutexCore::lock_for(std::int64_t timeout_ns) noexcept {
  Actor* self = current_actor();
  if (auto r = may_wait(self); !r) return r;
  if (try_lock()) return {};
  std::int64_t deadline_ns = kNoDeadline;
  if (timeout_ns != kNoDeadline) {
    const std::int64_t now = now_ns();
    deadline_ns = timeout_ns >= kNoDeadline - now ? kNoDeadline : now + timeout_ns;
  }
  return lock_slow(self, deadline_ns);
}

Result<void> MutexCore::lock_slow(Actor* self, std::int64_t deadline_ns) noexcept {
  const bool timed = deadline_ns != kNoDeadline;
  if (timed && deadline_ns <= now_ns())  // zero or negative timeout: do not wait
    return Error(Errc::TimedOut, "Mutex::lock(): the mutex was held and the timeout had passed");

  MutexWaiter w;
  w.id = current_waiter();
  lock_.lock();
  std::uintptr_t s = state_.load(std::memory_order_relaxed);
  for (;;) {
    if (!(s & kLocked)) {
      // Freed since the fast path. kWaiters implies kLocked, so nobody waits: take it.
      // acquire: pairs with the release of the unlock that freed it.
      if (state_.compare_exchange_weak(s, s | kLocked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        lock_.unlock();
        return {};
      }
      continue;
    }
    if (s & kWaiters) break;
    // release: pairs with the acquire of the owner's failed fast unlock. It makes our
    // taking of lock_ happen-before the owner's, so the owner, which found kWaiters,
    // takes lock_ after we have queued and sees us.
    if (state_.compare_exchange_weak(s, s | kWaiters, std::memory_order_release,
                                     std::memory_order_relaxed))
      break;
  }
  push_back_locked(&w);
  lock_.unlock();

  TimerEntry timer{deadline_ns, w.id, TimerReason::WaitTimeout};
  if (timed) current_worker()->timers.add(&timer);
  bool owned = false;
  bool cancelled = false;
  for (;;) {
    park(WaitKind::Lock, this, deadline_ns);
    // acquire: pairs with the release store in unlock_slow(), so the previous owner's
    // writes to the protected value are visible to us.
    if (w.granted.load(std::memory_order_acquire)) {
      owned = true;
      break;
    }
    cancelled = is_cancelled(self);
    const bool expired = timed && now_ns() >= deadline_ns;
    // Every wake-up that shows no grant looks again under lock_, even a stale one with
    // nothing to do, because only lock_ guarantees that a grant already made is seen:
    // unpark() returns without a read-modify-write when it finds a wake-up already
    // pending, so it does not order the unlocker's store of `granted` before our load
    // above. Parking again on a missed grant would strand the mutex (LOOM.md, "Mutex").
    lock_.lock();
    // relaxed: `granted` is only ever set under lock_, whose acquire orders this load.
    if (w.granted.load(std::memory_order_relaxed)) {
      owned = true;  // handed over since the check above: step 3's race
    } else if (cancelled || expired) {
      remove_locked(&w);
    } else {
      lock_.unlock();
      continue;  // a stale wake-up: still queued, park again
    }
    lock_.unlock();
    break;
  }
  if (timed) TimerWheel::remove(&timer);

  if (owned) {
    // A hand-off that raced with the deadline is a success: the mutex was won. One that
    // raced with cancellation is passed on, so the next waiter is not stranded.
    if (!is_cancelled(self)) return {};
    unlock();
    cancelled = true;
  }
  if (cancelled) return Error(Errc::Cancelled, "Mutex::lock(): the caller was cancelled");
  return Error(Errc::TimedOut, "Mutex::lock(): the mutex was not free before the deadline");
}

void MutexCore::unlock_slow() noexcept {
  lock_.lock();
  assert((state_.load(std::memory_order_relaxed) & kLocked) && "unlock of an unlocked Mutex");
  MutexWaiter* w = head_;
  if (!w) {
    // Every waiter gave up between our failed fast unlock and lock_: really free it.
    // Under lock_ nobody else changes the state (kLocked blocks the fast lock).
    // release: pairs with the acquire of the next lock.
    state_.store(0, std::memory_order_release);
    lock_.unlock();
    return;
  }
  remove_locked(w);           // ownership passes to w: kLocked stays set
  const WaiterId id = w->id;  // copied first: *w dies as soon as its actor sees `granted`
  // release: pairs with the waiter's acquire load; it now owns the mutex.
  w->granted.store(true, std::memory_order_release);
  lock_.unlock();
  unpark(id);
}

void MutexCore::push_back_locked(MutexWaiter* w) noexcept {
  w->prev = tail_;
  w->next = nullptr;
  if (tail_)
    tail_->next = w;
  else
    head_ = w;
  tail_ = w;
}

void MutexCore::remove_locked(MutexWaiter* w) noexcept {
  if (w->prev)
    w->prev->next = w->next;
  else
    head_ = w->next;
  if (w->next)
    w->next->prev = w->prev;
  else
    tail_ = w->prev;
  w->prev = w->next = nullptr;
  // The last waiter gone: let the owner's fast unlock work again. relaxed: the owner
  // reads the queue under lock_, not through this bit.
  if (!head_) state_.fetch_and(~kWaiters, std::memory_order_relaxed);
}

}  // namespace smarm::detail
