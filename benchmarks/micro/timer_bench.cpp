// SPDX-License-Identifier: Apache-2.0
// timer_bench.cpp — the cost of timers: arming and disarming a timeout, and sleep_for(0).
//
// BM_TimerArmDisarm: what every timed wait that ends early pays — add an entry to a
// worker's timer heap and remove it again — with `pending` other deadlines already on the
// heap (the heap is O(log n)). Runs on a bare TimerHeap, outside any runtime.
// BM_RecvForSatisfied: recv_for(1 h) on a channel that already holds a value (no timer is
// armed: the fast path of a timed wait). BM_RecvForTimeout0: recv_for(0) on an empty
// channel (TimedOut at once, no timer). BM_SleepForZero: sleep_for(0), which returns at
// once without parking.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include <smarm/smarm.hpp>

#include "core/timer_heap.hpp"
#include "micro_config.hpp"

namespace {

using namespace std::chrono_literals;

void BM_TimerArmDisarm(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  smarm::detail::TimerHeap heap;
  const std::int64_t now = smarm::detail::now_ns();
  std::vector<smarm::detail::TimerEntry> others(pending);
  for (std::size_t i = 0; i < pending; ++i) {
    // Spread deadlines out, later than the measured one half of the time.
    others[i].deadline_ns =
        now + 1'000'000'000 +
        static_cast<std::int64_t>((i * 7919) % 100'000) * 1'000 * ((i & 1) ? 1 : -1);
    heap.add(&others[i]);
  }
  std::int64_t d = now + 1'000'000'000;
  for (auto _ : state) {
    smarm::detail::TimerEntry e{d, {}, smarm::detail::TimerReason::WaitTimeout};
    heap.add(&e);
    smarm::detail::TimerHeap::remove(&e);
    d += 1'000;
  }
  for (auto& o : others) smarm::detail::TimerHeap::remove(&o);
}
BENCHMARK(BM_TimerArmDisarm)->ArgName("pending")->Arg(0)->Arg(1'000)->Arg(100'000);

// in_runtime runs `body(state)` as the root actor of a one-worker runtime.
template <class Body>
void in_runtime(benchmark::State& state, Body body) {
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(1)).run([&] { failure = body(state); });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) state.SkipWithError(failure.c_str());
}

void BM_RecvForSatisfied(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> std::string {
    auto [tx, rx] = smarm::channel<int>();
    for (auto _ : st) {
      (void)tx.send(1);
      auto v = rx.recv_for(1h);
      if (!v) return "recv_for: " + v.error().message();
      benchmark::DoNotOptimize(*v);
    }
    return {};
  });
}
BENCHMARK(BM_RecvForSatisfied);

void BM_RecvForTimeout0(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> std::string {
    auto [tx, rx] = smarm::channel<int>();
    for (auto _ : st) {
      auto v = rx.recv_for(0ms);
      if (v || v.error().code() != smarm::Errc::TimedOut) return "expected TimedOut";
    }
    return {};
  });
}
BENCHMARK(BM_RecvForTimeout0);

void BM_SleepForZero(benchmark::State& state) {
  in_runtime(state, [](benchmark::State& st) -> std::string {
    for (auto _ : st)
      if (!smarm::sleep_for(0ms)) return "sleep_for failed";
    return {};
  });
}
BENCHMARK(BM_SleepForZero);

}  // namespace
