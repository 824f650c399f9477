// SPDX-License-Identifier: Apache-2.0
// debug.hpp — introspection for humans: what every actor is doing right now.
#pragma once

#include <string>

namespace smarm::debug {

// dump_actors() lists every live actor of the caller's runtime, one line each: pid, name,
// state (running / runnable / parked) and, for a parked actor, what it waits for and on
// which object. Outside a runtime it returns an empty string. Meant for hang reports: it
// takes no lock an actor could hold.
std::string dump_actors();

// channel_bias_available() says whether channel locks can become biased to a worker in
// this process (detail/biased_lock.hpp): false without membarrier(2), under
// ThreadSanitizer, or with SMARM_CHANNEL_BIAS=0 in the environment.
bool channel_bias_available() noexcept;

// preempt_clock() names the clock the preemption timeslice is measured with: the cycle
// counter with its calibrated rate, or CLOCK_MONOTONIC and why.
std::string preempt_clock();

// allocator_hook_installed() says whether allocations in this program drive preemption:
// a run-time probe (one allocation, watched), so it reports what was linked. True with
// smarm::smarm; false under ThreadSanitizer, whose runtime owns operator new (there only
// SMARM_CHECK() preempts), and with smarm::smarm_no_alloc_hook unless the program's own
// operator new calls smarm::preempt_hook().
bool allocator_hook_installed() noexcept;

}  // namespace smarm::debug
