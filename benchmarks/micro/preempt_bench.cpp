// SPDX-License-Identifier: Apache-2.0
// preempt_bench.cpp — the cost of the allocator hook on an allocation-heavy loop.
//
// BM_AllocationLoop/preempt:1 runs in a one-worker runtime with the default configuration
// (hook on, 1 ms timeslice); /preempt:0 with Config::preemption(false) (the hook reduced
// to a countdown that practically never reaches its slow path). One iteration allocates
// and frees a std::vector<int> of 16 elements whose address escapes. Nothing else runs,
// so no preemption actually switches: this is the price of counting and looking at the
// clock. Compare them interleaved (one command line):
//   smarm-micro --benchmark_filter=AllocationLoop --benchmark_repetitions=11
//     --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <smarm/smarm.hpp>

#include "micro_config.hpp"

namespace {

std::atomic<void*> g_sink{nullptr};

void BM_AllocationLoop(benchmark::State& state) {
  const bool preempt = state.range(0) != 0;
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(1).preemption(preempt)).run([&] {
    for (auto _ : state) {
      auto v = std::make_unique<std::vector<int>>(16, 1);
      g_sink.store(v.get(), std::memory_order_relaxed);
    }
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) state.SkipWithError(failure.c_str());
}
BENCHMARK(BM_AllocationLoop)->ArgName("preempt")->Arg(0)->Arg(1);

void BM_SmarmCheck(benchmark::State& state) {
  auto r = smarm::runtime::init(smarm::bench::micro_config(1)).run([&] {
    for (auto _ : state) SMARM_CHECK();
  });
  if (!r) state.SkipWithError(r.error().message().c_str());
}
BENCHMARK(BM_SmarmCheck);

}  // namespace
