// SPDX-License-Identifier: Apache-2.0
// timer_bench.cpp — the cost of timers: arming and disarming a timeout, and sleep_for(0).
//
// BM_TimerArmDisarm: what every timed wait that ends early pays — add an entry to a
// worker's timer wheel and remove it again — with `pending` other deadlines already on
// it, spread over 3 s (TL1M's window). Runs on a bare TimerWheel, outside any runtime.
// The measured entry is the newest, so it stays in the wheel's nursery: the common case
// of a wait satisfied soon. BM_TimerArmFlushDisarm makes every entry reach its bucket
// first (the wait outlived the nursery), which is what a long wait pays.
// BM_RecvForParked: a parked-then-satisfied recv_for(1 s) (a timer armed and removed
// around a real park and hand-off) with `pending` timers on the worker, beside
// BM_ParkUnpark; no target.
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

#include "core/timer_wheel.hpp"
#include "core/worker.hpp"
#include "micro_config.hpp"

namespace {

using namespace std::chrono_literals;

void BM_TimerArmDisarm(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  smarm::detail::TimerWheel heap;
  const std::int64_t now = smarm::detail::now_ns();
  std::vector<smarm::detail::TimerEntry> others(pending);
  for (std::size_t i = 0; i < pending; ++i) {
    // Spread over 3 s (in 1 µs steps), half before the measured one, half after.
    others[i].deadline_ns =
        now + 100'000'000 + static_cast<std::int64_t>((i * 7919) % 3'000'000) * 1'000;
    heap.add(&others[i]);
  }
  std::int64_t d = now + 1'600'000'000;
  for (auto _ : state) {
    smarm::detail::TimerEntry e{d, {}, smarm::detail::TimerReason::WaitTimeout};
    heap.add(&e);
    smarm::detail::TimerWheel::remove(&e);
    d += 1'000;
  }
  for (auto& o : others) smarm::detail::TimerWheel::remove(&o);
}
BENCHMARK(BM_TimerArmDisarm)->ArgName("pending")->Arg(0)->Arg(1'000)->Arg(100'000)->Arg(1'000'000);

void BM_TimerArmFlushDisarm(benchmark::State& state) {
  // Each measured entry is followed by a full nursery of others, so that it reaches its
  // bucket (touching its neighbours there) before it is removed.
  const auto pending = static_cast<std::size_t>(state.range(0));
  smarm::detail::TimerWheel heap;
  const std::int64_t now = smarm::detail::now_ns();
  std::vector<smarm::detail::TimerEntry> others(pending);
  for (std::size_t i = 0; i < pending; ++i) {
    others[i].deadline_ns =
        now + 100'000'000 + static_cast<std::int64_t>((i * 7919) % 3'000'000) * 1'000;
    heap.add(&others[i]);
  }
  constexpr std::size_t kFill = smarm::detail::TimerWheel::kNursery;
  std::vector<smarm::detail::TimerEntry> fill(kFill);
  std::int64_t d = now + 1'600'000'000;
  for (auto _ : state) {
    smarm::detail::TimerEntry e{d, {}, smarm::detail::TimerReason::WaitTimeout};
    heap.add(&e);
    for (auto& f : fill) {
      f.deadline_ns = d + 7;
      heap.add(&f);
    }
    smarm::detail::TimerWheel::remove(&e);
    for (auto& f : fill) smarm::detail::TimerWheel::remove(&f);
    d += 1'000;
  }
  state.counters["per_entry"] = benchmark::Counter(
      static_cast<double>(kFill + 1),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  for (auto& o : others) smarm::detail::TimerWheel::remove(&o);
}
BENCHMARK(BM_TimerArmFlushDisarm)->ArgName("pending")->Arg(0)->Arg(1'000'000);

void BM_RecvForParked(benchmark::State& state) {
  const auto pending = static_cast<std::size_t>(state.range(0));
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(1)).run([&] {
    // `pending` deadlines on this worker's wheel, 10-13 s out: none fires meanwhile.
    std::vector<smarm::detail::TimerEntry> others(pending);
    auto& timers = smarm::detail::current_worker()->timers;
    const std::int64_t now = smarm::detail::now_ns();
    for (std::size_t i = 0; i < pending; ++i) {
      others[i].deadline_ns =
          now + 10'000'000'000 + static_cast<std::int64_t>((i * 7919) % 3'000'000) * 1'000;
      timers.add(&others[i]);
    }
    auto [to_partner, partner_rx] = smarm::channel<int>();
    auto [to_root, root_rx] = smarm::channel<int>();
    auto partner = smarm::spawn([&, rx = std::move(partner_rx)]() mutable {
      while (auto v = rx.recv()) (void)to_root.send(*v);
    });
    for (auto _ : state) {
      (void)to_partner.send(1);
      auto v = root_rx.recv_for(1s);  // parks (the partner has not run yet), timer armed
      if (!v) {
        failure = "recv_for: " + v.error().message();
        break;
      }
    }
    to_partner.close();
    (void)partner.join();
    for (auto& o : others) smarm::detail::TimerWheel::remove(&o);
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) state.SkipWithError(failure.c_str());
}
BENCHMARK(BM_RecvForParked)->ArgName("pending")->Arg(0)->Arg(1'000'000)->UseRealTime();

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
