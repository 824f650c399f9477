// SPDX-License-Identifier: Apache-2.0
// lock_bias.hpp — whether channel locks may be biased (detail/biased_lock.hpp), probed once.
//
// Biasing needs expedited private membarriers, and asking the kernel for them (a QUERY and
// a REGISTER syscall) can take a long time on a loaded machine — ~100 ms was seen. So the
// probe runs when a runtime is built (Scheduler's constructor), on the thread that calls
// run(), holding no lock; a lock's slow path only reads the published answer.
#pragma once

namespace smarm::detail {

// probe_lock_bias() asks the kernel once per process (later calls return the cached
// answer) and publishes the result for lock_bias_enabled(). It may block in syscalls:
// never call it with a runtime lock held.
bool probe_lock_bias() noexcept;

// lock_bias_enabled() is the published answer, false until probe_lock_bias() has run.
// A single atomic load: safe on any thread, inside any critical section.
bool lock_bias_enabled() noexcept;

}  // namespace smarm::detail
