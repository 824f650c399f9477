// SPDX-License-Identifier: Apache-2.0
// main.cpp — asio-bench, the Boost.Asio comparison runner (BENCHMARKS.md W1-W5, W9 with
// Asio C++20 coroutines, runtime=asio). The same command line and output as smarm-bench
// (benchmarks/workloads/main.cpp), so the two can be run side by side:
//
//   asio-bench W1 --threads 2      one workload at T=2
//   asio-bench W2 W3 --runs 9      several workloads, 9 timed runs each
//   asio-bench all                 every workload, default thread counts
//   asio-bench smoke               every workload once at a small size (ctest)
//
// The command line, its options and exit statuses are common/runner.hpp's (shared with
// smarm-bench); this file holds only the table of workloads.
#include "asio_workloads.hpp"
#include "common/runner.hpp"

namespace {

namespace bench = smarm::bench;
namespace vs = smarm::bench::vs_asio;

constexpr bench::Workload kWorkloads[] = {
    {"W1", true, vs::run_w1_skynet, "skynet: 1,111,111 coroutines spawned, sums via channels"},
    {"W2", false, vs::run_w2_ping_pong, "ping-pong: 1,000,000 round trips over two channels"},
    {"W3", true, vs::run_w3_ring, "ring: 1,000 coroutines, 1,000,000 hops"},
    {"W4", true, vs::run_w4_primes, "primes below 2,000,000 in 200 coroutines"},
    {"W5", true, vs::run_w5_pipeline, "pipeline: 1,000,000 items, 4 coroutines, channels of 64"},
    {"W9", false, vs::run_w9_switch, "post() switch, 10,000,000 switches"},
};

}  // namespace

int main(int argc, char** argv) {
  return bench::run_main(argc, argv, {"asio-bench", "io_context threads"}, kWorkloads);
}
