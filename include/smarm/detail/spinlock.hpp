// detail/spinlock.hpp — SpinLock, the short critical-section lock of channels and queues.
//
// Held only for a few instructions (never across a park or a syscall), so spinning beats
// a futex. After a bounded spin it yields the OS thread, so a lock holder descheduled by
// the kernel cannot make a waiter burn its whole time slice.
//
// While a SpinLock is held, the allocator hook must not preempt (preempt.hpp): a switch
// would leave the lock held by a suspended actor. lock() and unlock() therefore count the
// runtime locks this thread holds in a thread-local the hook reads (see below).
#pragma once

#include <sched.h>

#include <atomic>

namespace smarm::detail {

// runtime_locks_add(d) adjusts this thread's count of runtime locks held (preempt.cpp).
// Out of line and opaque to the optimiser, LTO included, on purpose: an actor's code may
// move to another thread at any context switch, and a caller into which a thread-local
// access was inlined could keep the variable's address across one and count on the
// wrong thread.
void runtime_locks_add(int d) noexcept;

class SpinLock {
 public:
  void lock() noexcept {
    runtime_locks_add(1);
    // Test-and-test-and-set: spin on a plain load so waiters share the line read-only.
    for (unsigned spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins > 256) {
          sched_yield();
          spins = 0;
        } else {
          __builtin_ia32_pause();
        }
      }
    }
  }
  bool try_lock() noexcept {
    runtime_locks_add(1);
    if (!locked_.load(std::memory_order_relaxed) &&
        !locked_.exchange(true, std::memory_order_acquire))
      return true;
    runtime_locks_add(-1);
    return false;
  }
  // release pairs with the acquire exchange in lock().
  void unlock() noexcept {
    locked_.store(false, std::memory_order_release);
    runtime_locks_add(-1);
  }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace smarm::detail
