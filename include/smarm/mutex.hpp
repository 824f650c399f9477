// SPDX-License-Identifier: Apache-2.0
// mutex.hpp — Mutex<T>: a value that actors take turns to use, in arrival order.
//
//   smarm::Mutex<Stats> m;
//   auto g = m.lock(10ms);              // parks the actor (never the worker), FIFO
//   if (!g) return g.error();           // TimedOut, Cancelled or NotInActor
//   (*g)->count++;                      // the guard reaches the value with * and ->
//                                       // the guard's destructor unlocks
//
// The only blocking lock takes a timeout: lock(duration) or lock_until(deadline). Zero or
// negative durations (deadlines already passed) mean "do not wait": the mutex is taken if
// it is free, otherwise the result is TimedOut at once, as for any timeout that ran out;
// a zero timeout is never an error in itself. To wait with no limit, say so:
// lock_until(Deadline::max()). try_lock() never waits (WouldBlock).
//
// Semantics:
// - Strict FIFO. unlock() hands the mutex directly to the oldest waiter, so nobody can
//   barge in front of a waiter and try_lock() fails while anyone waits. Uncontended, a
//   lock is one compare-and-swap and an unlock another.
// - A waiter whose deadline passes, or who is cancelled, leaves the queue. If the mutex
//   was handed to it at that very moment: after a deadline it keeps the mutex and lock
//   succeeds (it was won in time); after cancellation it passes the mutex on to the next
//   waiter and lock returns Cancelled. Nothing is ever lost or left locked.
// - Cancellation is strict, as for every blocking call: a cancelled actor's lock() and
//   lock_until() return Cancelled, even if the mutex is free. try_lock() still works.
// - lock()/lock_until() outside an actor return NotInActor (a thread cannot park).
//   try_lock() and guard release work on any thread, inside a runtime or not.
// - The guard is move-only and may be released by another actor, on another worker, or
//   by a plain thread (send it through a channel). Releasing is unlock() or destruction;
//   a second unlock() is a no-op.
// - Not reentrant, and there is no owner check: an actor that locks a mutex it already
//   holds waits behind itself until its timeout (TimedOut) — or forever with
//   Deadline::max().
// - Destroying a Mutex that is locked or has waiters is a precondition violation
//   (asserted in debug builds). A Mutex can be neither copied nor moved: parked actors
//   and guards point at it.
// - A parked locker shows in debug::dump_actors() as "waiting for lock on <mutex>".
#pragma once

#include <cassert>
#include <chrono>
#include <type_traits>
#include <utility>

#include <smarm/detail/mutex_core.hpp>
#include <smarm/error.hpp>
#include <smarm/timer.hpp>

namespace smarm {

template <class T>
class Mutex;

// MutexGuard<T> owns a locked Mutex<T> and gives access to its value. Move-only; an empty
// (default-constructed, moved-from or unlocked) guard owns nothing and must not be
// dereferenced.
template <class T>
class MutexGuard {
 public:
  MutexGuard() noexcept = default;
  MutexGuard(MutexGuard&& o) noexcept : mutex_(std::exchange(o.mutex_, nullptr)) {}
  MutexGuard& operator=(MutexGuard&& o) noexcept {
    if (this != &o) {
      unlock();
      mutex_ = std::exchange(o.mutex_, nullptr);
    }
    return *this;
  }
  MutexGuard(const MutexGuard&) = delete;
  MutexGuard& operator=(const MutexGuard&) = delete;
  ~MutexGuard() { unlock(); }

  // operator* / operator-> reach the protected value. Require owns_lock().
  T& operator*() const noexcept {
    assert(mutex_ && "dereferencing an empty MutexGuard");
    return mutex_->value_;
  }
  T* operator->() const noexcept {
    assert(mutex_ && "dereferencing an empty MutexGuard");
    return &mutex_->value_;
  }

  // unlock() releases the mutex now (handing it to the oldest waiter, if any) and leaves
  // the guard empty. Never parks; callable on any thread; a no-op on an empty guard.
  void unlock() noexcept {
    if (Mutex<T>* m = std::exchange(mutex_, nullptr)) m->core_.unlock();
  }

  // owns_lock() says whether this guard still holds the mutex.
  bool owns_lock() const noexcept { return mutex_ != nullptr; }

 private:
  friend class Mutex<T>;
  explicit MutexGuard(Mutex<T>* m) noexcept : mutex_(m) {}
  Mutex<T>* mutex_ = nullptr;
};

template <class T>
class Mutex {
 public:
  // Mutex(args...) constructs the protected value from args (Mutex<T>() value-initialises).
  template <class... Args>
  requires std::is_constructible_v<T, Args&&...>
  explicit Mutex(Args&&... args) : value_(std::forward<Args>(args)...) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;
  ~Mutex() = default;  // precondition: unlocked, no waiters (asserted by the core)

  // lock(timeout) takes the mutex, parking the calling actor (FIFO) while others hold it,
  // for at most `timeout`. Zero or negative: do not wait; a century or more: no limit.
  // Errors: TimedOut (never before the timeout has passed), Cancelled, NotInActor.
  template <class Rep, class Period>
  Result<MutexGuard<T>> lock(std::chrono::duration<Rep, Period> timeout) noexcept {
    return guard_or_error(core_.lock_for(detail::timeout_ns(timeout)));
  }

  // lock_until(d) is lock() with an absolute deadline; Deadline::max() waits forever, a
  // deadline already passed does not wait.
  Result<MutexGuard<T>> lock_until(Deadline d) noexcept {
    return guard_or_error(core_.lock_until(detail::to_deadline_ns(d)));
  }

  // try_lock() takes the mutex if it is free and nobody waits for it; otherwise
  // WouldBlock. Never parks; works on any thread and in a cancelled actor.
  Result<MutexGuard<T>> try_lock() noexcept {
    if (!core_.try_lock()) return unexpected(Error(Errc::WouldBlock));
    return MutexGuard<T>(this);
  }

 private:
  friend class MutexGuard<T>;
  Result<MutexGuard<T>> guard_or_error(Result<void> r) noexcept {
    if (!r) return unexpected(std::move(r).error());
    return MutexGuard<T>(this);
  }

  detail::MutexCore core_;  // first: its address is the mutex's, as dump_actors() shows it
  T value_;
};

}  // namespace smarm
