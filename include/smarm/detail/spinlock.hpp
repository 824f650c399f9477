// detail/spinlock.hpp — SpinLock, the short critical-section lock of channels and queues.
//
// Held only for a few instructions (never across a park or a syscall), so spinning beats
// a futex. After a bounded spin it yields the OS thread, so a lock holder descheduled by
// the kernel cannot make a waiter burn its whole time slice.
#pragma once

#include <sched.h>

#include <atomic>

namespace smarm::detail {

class SpinLock {
 public:
  void lock() noexcept {
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
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  // release pairs with the acquire exchange in lock().
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace smarm::detail
