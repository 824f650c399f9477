// SPDX-License-Identifier: Apache-2.0
// workloads.hpp — the smarm workloads of smarm-bench, one file each (w1_skynet.cpp, ...).
//
// run_<w>(rep, threads) measures and prints the workload's lines (report.hpp) at
// `threads` scheduler threads; sizes shrink when rep.smoke(). main.cpp lists them.
#pragma once

#include <cstddef>

#include <smarm/config.hpp>

#include "report.hpp"

namespace smarm::bench {

// bench_config is the Config every workload runs with: exactly `threads` workers, the
// defaults otherwise — except that SMARM_BENCH_PREEMPTION=0 in the environment turns
// allocator-driven preemption off, to measure what the hook costs a workload
// (benchmarks/preempt_cost.sh runs both, alternating).
Config bench_config(std::size_t threads);

void run_w1_skynet(Reporter& rep, std::size_t threads);
void run_w2_ping_pong(Reporter& rep, std::size_t threads);
void run_w3_ring(Reporter& rep, std::size_t threads);
void run_w4_primes(Reporter& rep, std::size_t threads);
void run_w5_pipeline(Reporter& rep, std::size_t threads);
void run_w7_preemption(Reporter& rep, std::size_t threads);
void run_w7b_preemption_check(Reporter& rep, std::size_t threads);
void run_w8_memory(Reporter& rep, std::size_t threads);
void run_w8b_memory(Reporter& rep, std::size_t threads);
void run_w9_switch(Reporter& rep, std::size_t threads);
void run_tl_timer_lateness(Reporter& rep, std::size_t threads);
// Under load (BENCHMARKS.md; T=2 by default).
void run_w10_fairness(Reporter& rep, std::size_t threads);
void run_w7c_responsiveness(Reporter& rep, std::size_t threads);
void run_w11_handoff(Reporter& rep, std::size_t threads);
void run_tl1m_timers(Reporter& rep, std::size_t threads);

}  // namespace smarm::bench
