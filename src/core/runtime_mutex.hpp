// SPDX-License-Identifier: Apache-2.0
// runtime_mutex.hpp — RuntimeMutex: a std::mutex the allocator hook respects.
//
// The runtime's own bookkeeping (actor names, the slot table's growth, the stack slabs,
// the registry of runtimes) is guarded by OS mutexes and allocates while holding them.
// If the preemption hook switched an actor out there, another actor of the same worker
// could try the same mutex on the same thread and deadlock it. A RuntimeMutex counts
// itself as a runtime lock (detail/spinlock.hpp's runtime_locks_add), which the hook
// checks before it switches.
#pragma once

#include <mutex>

#include <smarm/detail/spinlock.hpp>

namespace smarm::detail {

class RuntimeMutex {
 public:
  void lock() {
    runtime_locks_add(1);
    mu_.lock();
  }
  bool try_lock() {
    runtime_locks_add(1);
    if (mu_.try_lock()) return true;
    runtime_locks_add(-1);
    return false;
  }
  void unlock() {
    mu_.unlock();
    runtime_locks_add(-1);
  }

 private:
  std::mutex mu_;
};

}  // namespace smarm::detail
