// SPDX-License-Identifier: Apache-2.0
// spawn_bench.cpp — BM_SpawnJoin: spawn one actor that returns a value, join it.
//
// The whole benchmark loop runs inside the root actor of a runtime with `threads`
// workers (the loop is ordinary code on a green thread). One iteration is one spawn plus
// one join; the joined value is checked. Real time is measured because with 2 workers
// the root actor may migrate between threads, which makes per-thread CPU time
// meaningless. Runtime start and stop happen outside the timed loop.
#include <cstdint>
#include <string>

#include <benchmark/benchmark.h>

#include <smarm/smarm.hpp>

#include "micro_config.hpp"

namespace {

void BM_SpawnJoin(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(threads)).run([&] {
    std::int64_t sum = 0;
    std::int64_t expected = 0;
    for (auto _ : state) {
      auto h = smarm::spawn([v = expected] { return v + 1; });
      auto v = h.join();
      if (!v) {
        failure = "join: " + v.error().message();
        break;
      }
      ++expected;
      sum += *v;
      benchmark::DoNotOptimize(sum);
    }
    if (failure.empty() && sum != expected * (expected + 1) / 2)
      failure = "wrong sum of joined values";
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) {
    state.SkipWithError(failure.c_str());
    return;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_SpawnJoin)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
