// SPDX-License-Identifier: Apache-2.0
// main.cpp — smarm-bench, the workload runner (BENCHMARKS.md W1-W5, W7, W7b, W8, W8b, W9; TL;
// under load: W10, W7c, W11, TL1M).
//
//   smarm-bench W1 --threads 2      one workload at T=2
//   smarm-bench W2 W3 --runs 9      several workloads, 9 timed runs each
//   smarm-bench all                 every workload, default thread counts
//   smarm-bench smoke               every workload once at a small size (ctest)
//
// The command line, its options and exit statuses are common/runner.hpp's (shared with
// asio-bench); this file holds only the table of workloads.
#include <cstdlib>
#include <cstring>

#include "common/runner.hpp"
#include "workloads.hpp"

smarm::Config smarm::bench::bench_config(std::size_t threads) {
  const char* env = std::getenv("SMARM_BENCH_PREEMPTION");
  return Config::exact(threads).preemption(!(env && std::strcmp(env, "0") == 0));
}

namespace {

namespace bench = smarm::bench;

constexpr bench::Workload kWorkloads[] = {
    {"W1", true, bench::run_w1_skynet, "skynet: 1,111,111 actors spawned and joined"},
    {"W2", false, bench::run_w2_ping_pong, "ping-pong: 1,000,000 round trips"},
    {"W3", true, bench::run_w3_ring, "ring: 1,000 actors, 1,000,000 hops"},
    {"W4", true, bench::run_w4_primes, "primes below 2,000,000 in 200 actors"},
    {"W5", true, bench::run_w5_pipeline,
     "pipeline: 1,000,000 items through map and filter actors (pipe and by hand)"},
    {"W7", false, bench::run_w7_preemption, "preemption latency: allocating loop vs 1 ms sleeper"},
    {"W7b", false, bench::run_w7b_preemption_check,
     "preemption latency: SMARM_CHECK() loop vs 1 ms sleeper"},
    {"W8", false, bench::run_w8_memory, "memory per parked actor, N=100,000"},
    {"W8b", false, bench::run_w8b_memory, "memory per parked actor, N=1,000,000"},
    {"W9", false, bench::run_w9_switch, "yield_now switch, 10,000,000 switches"},
    {"TL", false, bench::run_tl_timer_lateness, "timer lateness: 1,000 sleeps of 1 ms, idle"},
    {"W10", false, bench::run_w10_fairness,
     "fairness: N = 2, 10, 1000 allocating CPU-bound actors for 2 s", bench::Threads::Two},
    {"W7c", false, bench::run_w7c_responsiveness,
     "responsiveness: 1 ms sleeper and SIGUSR1 beside 10,000 CPU-bound actors",
     bench::Threads::Two},
    {"W11", false, bench::run_w11_handoff,
     "hand-off: sleeper and pipe reader on a worker blocked 500 ms", bench::Threads::Two},
    {"TL1M", false, bench::run_tl1m_timers,
     "timers at scale: 1,000,000 actors sleep to random deadlines in 3 s", bench::Threads::Two},
};

}  // namespace

int main(int argc, char** argv) {
  return bench::run_main(argc, argv, {"smarm-bench", "scheduler threads"}, kWorkloads);
}
