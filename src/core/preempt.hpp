// SPDX-License-Identifier: Apache-2.0
// preempt.hpp (private) — the per-worker side of allocator-driven preemption.
//
// configure_preempt() runs at the start of each worker thread and copies the runtime's
// settings into that thread's thread-locals, so the hook on the allocation path reads
// nothing shared. unconfigure_preempt() turns the hook into a near no-op again when the
// thread stops being a worker.
#pragma once

#include <cstdint>
#include <string>

#include <smarm/config.hpp>

namespace smarm::detail {

void configure_preempt(const Config& config) noexcept;
void unconfigure_preempt() noexcept;

// ticks_per_us() is the calibrated rate of the preemption clock (cycle counter, or
// CLOCK_MONOTONIC nanoseconds when the TSC cannot be trusted); timeslice_ticks converts a
// Config's timeslice into it.
double ticks_per_us() noexcept;
std::uint64_t timeslice_ticks(const Config& config) noexcept;
// preempt_clock_now() reads the preemption clock (this thread's choice of it: call it on
// a worker, after configure_preempt).
std::uint64_t preempt_clock_now() noexcept;

// The hook's countdown on this thread: how many allocations until the next look at the
// clock. Exposed for tests (the allocating-loop test checks that it advanced).
std::uint64_t preempt_hook_calls() noexcept;
// How many looks of the hook (process-wide, every runtime) found a runtime lock held and
// therefore did not switch. For the stress test.
std::uint64_t preempt_refused_under_runtime_lock() noexcept;

}  // namespace smarm::detail
