// SPDX-License-Identifier: Apache-2.0
// context_switch_bench.cpp — BM_BareSwitch: the bare context switch, no runtime.
//
// Two contexts on mmap'd stacks (the thread's own and one fresh one) switch back and
// forth with smarm_context_switch; see common/bare_switch.hpp. One iteration is one
// round trip, i.e. two switches. Google Benchmark's "Time" column is per round trip; the
// `per_switch` counter is the time of one switch (seconds, printed with an SI prefix:
// "2.5n" is 2.5 ns). W9 in smarm-bench compares the runtime's yield with this figure.
#include <benchmark/benchmark.h>

#include "common/bare_switch.hpp"

namespace {

void BM_BareSwitch(benchmark::State& state) {
  smarm::bench::BareSwitchPair pair;
  for (auto _ : state) pair.round_trip();
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2);
  // 2 switches per iteration; kInvert turns the rate into seconds per switch.
  state.counters["per_switch"] = benchmark::Counter(
      2, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_BareSwitch);

}  // namespace
