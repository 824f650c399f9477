// SPDX-License-Identifier: Apache-2.0
// detail/mutex_core.hpp — MutexCore, the type-independent half of Mutex<T>.
//
// Not part of the public API. Mutex<T> (mutex.hpp) is a MutexCore plus the protected T;
// the waiting logic lives once, out of line, in src/core/mutex.cpp.
//
// The state word holds two bits:
//   kLocked   — somebody owns the mutex (an actor, or a guard passed to any thread);
//   kWaiters  — the FIFO queue of parked lockers is not empty.
// Invariants (each changes only under lock_, except the two fast paths below):
//   - kWaiters is set iff the queue is non-empty, and only ever together with kLocked:
//     a locker queues only behind an owner, and unlock() hands the mutex straight to the
//     oldest waiter (kLocked stays set) instead of freeing it. So the mutex is never free
//     while anyone waits, nobody can barge past the queue, and try_lock() fails while
//     waiters queue.
//   - The fast paths touch only the state word, one compare-and-swap each: lock is
//     0 -> kLocked, unlock is kLocked -> 0. Either fails as soon as kWaiters is set, and
//     the slow paths then take lock_.
// A waiter that gives up (deadline or cancellation) removes itself under lock_; if the
// hand-off reached it first (granted, set under lock_) it owns the mutex and must either
// keep it (a deadline: the lock was won in time) or pass it on (cancellation).
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdint>

#include <smarm/detail/core.hpp>
#include <smarm/detail/spinlock.hpp>
#include <smarm/error.hpp>

namespace smarm::detail {

// MutexWaiter is one parked locker's place in the FIFO queue. It lives on the parked
// actor's stack for the duration of its wait. Links are guarded by MutexCore::lock_.
struct MutexWaiter {
  WaiterId id;
  MutexWaiter* prev = nullptr;
  MutexWaiter* next = nullptr;
  // Set (under lock_, release) when unlock() hands the mutex to this waiter; from then on
  // the waiter owns it. After the store the unlocker never touches the node again: the
  // waiter may see the flag, return, and the node's stack frame is gone.
  std::atomic<bool> granted{false};
};

// timeout_ns(d) is a lock timeout in nanoseconds for MutexCore::lock_for: 0 for zero or
// negative durations ("do not wait"), rounded up (never early), and kNoDeadline ("never")
// for durations of a century or more — longer than anyone means by a timeout, and short
// enough (int64 nanoseconds reach 292 years) that now + timeout cannot overflow.
template <class Rep, class Period>
std::int64_t timeout_ns(std::chrono::duration<Rep, Period> d) noexcept {
  using Seconds = std::chrono::duration<double>;
  if (d <= d.zero()) return 0;
  if (Seconds(d) >= Seconds(std::chrono::hours(24 * 365 * 100))) return kNoDeadline;
  return std::chrono::ceil<std::chrono::nanoseconds>(d).count();
}

class MutexCore {
 public:
  static constexpr std::uintptr_t kLocked = 1;
  static constexpr std::uintptr_t kWaiters = 2;

  MutexCore() noexcept = default;
  MutexCore(const MutexCore&) = delete;
  MutexCore& operator=(const MutexCore&) = delete;
  // Destroying a locked mutex, or one with waiters, is a precondition violation: the
  // guard or the parked actors would refer to a dead object. Checked in debug builds.
  ~MutexCore() {
    assert(state_.load(std::memory_order_relaxed) == 0 &&
           "smarm::Mutex destroyed while locked or with waiters");
  }

  // try_lock() takes the mutex if it is free; never parks, works on any thread.
  bool try_lock() noexcept {
    std::uintptr_t expected = 0;
    // acquire: pairs with the release in unlock(); the last owner's writes are visible.
    return state_.compare_exchange_strong(expected, kLocked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  // lock_for(timeout_ns) is lock_until(now + timeout_ns), with the clock read only if the
  // mutex is held (so an uncontended lock costs no clock read). 0: do not wait;
  // kNoDeadline: wait forever. Same errors as lock_until().
  Result<void> lock_for(std::int64_t timeout_ns) noexcept;

  // lock_until(deadline_ns) takes the mutex, parking the calling actor in FIFO order
  // while it is owned. deadline_ns is steady_clock nanoseconds; kNoDeadline waits
  // forever, a deadline already passed does not wait (a free mutex is still taken).
  // Errors: NotInActor, Cancelled (checked first and after every wake-up; a hand-off
  // that reached a cancelled waiter is passed on), TimedOut.
  Result<void> lock_until(std::int64_t deadline_ns) noexcept;

  // unlock() releases the mutex, or hands it to the oldest waiter and wakes it. Callable
  // from any thread (the owner need not be the actor that locked). Requires ownership.
  void unlock() noexcept {
    std::uintptr_t expected = kLocked;
    // release: pairs with the acquire of the next try_lock()/lock_until(). acquire on
    // failure: pairs with the release that set kWaiters (see lock_slow in mutex.cpp).
    if (state_.compare_exchange_strong(expected, 0, std::memory_order_release,
                                       std::memory_order_acquire))
      return;
    unlock_slow();
  }

 private:
  Result<void> lock_slow(Actor* self, std::int64_t deadline_ns) noexcept;
  void unlock_slow() noexcept;
  void push_back_locked(MutexWaiter* w) noexcept;
  void remove_locked(MutexWaiter* w) noexcept;

  std::atomic<std::uintptr_t> state_{0};
  SpinLock lock_;                // guards the queue; held for a few instructions only
  MutexWaiter* head_ = nullptr;  // guarded by lock_; the oldest waiter
  MutexWaiter* tail_ = nullptr;  // guarded by lock_
};

}  // namespace smarm::detail
