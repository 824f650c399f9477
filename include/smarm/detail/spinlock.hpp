// SPDX-License-Identifier: Apache-2.0
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

// smarm_tls_runtime_locks counts the runtime locks this thread holds (SpinLock,
// BiasedLock, RuntimeMutex); the preemption hook never switches while it is non-zero
// (preempt.cpp). Initial-exec TLS, defined in preempt.cpp.
extern "C" {
extern __thread unsigned smarm_tls_runtime_locks __attribute__((tls_model("initial-exec")));
}

// runtime_locks_add(d) adjusts the count of the thread running *now*. An actor's code
// may move to another thread at any context switch, so a compiler that kept the
// variable's address (%fs-relative, computed once) across a switch would count on the
// wrong thread. The access is therefore one volatile asm that computes the address from
// %fs and adds in place, every time — two instructions and no call. The "memory"
// clobber keeps it where it is written: it cannot drift across the lock's own accesses
// or across a call that may switch.
inline void runtime_locks_add(int d) noexcept {
  asm volatile(
      "movq smarm_tls_runtime_locks@gottpoff(%%rip), %%rax\n\t"
      "addl %0, %%fs:(%%rax)"
      :
      : "ri"(d)
      : "rax", "cc", "memory");
}

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
