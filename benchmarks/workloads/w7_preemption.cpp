// SPDX-License-Identifier: Apache-2.0
// w7_preemption.cpp — W7 and W7b, preemption latency (BENCHMARKS.md), T=1.
//
// One actor runs a CPU-bound loop for 2 s and never yields by hand: W7's loop allocates
// (a std::vector<int> of 16 elements per iteration, its data pointer handed to an empty
// asm so the allocation cannot be elided), W7b's does not allocate and calls
// SMARM_CHECK() each iteration. A second actor sleeps 1 ms in a loop meanwhile and
// records how late each wake-up is. Only preemption can give the sleeper the worker
// back, so its lateness is the preemption latency: up to one timeslice (1 ms by
// default) plus the time to the next look at the clock. Metric: p99 lateness in µs;
// p50=, max= and sleeps= follow result. result is 1 when the run is valid: no sleep
// woke early, and the sleeper completed at least a tenth of the sleeps that fit in the
// loop's time (without preemption it completes none). Targets: p99 <= 2 ms and max <=
// 5 ms at T=1. Smoke: a 100 ms loop.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <smarm/smarm.hpp>

#include "workloads.hpp"

namespace smarm::bench {
namespace {

enum class Loop { Allocating, Checking };

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

Sample run_once(Loop loop, std::chrono::milliseconds busy) {
  Sample s;
  std::vector<double> late_us;
  late_us.reserve(static_cast<std::size_t>(busy.count()) + 16);
  bool early = false;
  auto r = runtime::init(Config::exact(1)).run([&] {
    std::atomic<bool> done{false};
    // The sleeper starts first (spawned children run first): it parks in its first
    // sleep, and the spinner then holds the only worker.
    auto sleeper = spawn([&] {
      while (!done.load(std::memory_order_relaxed)) {
        const auto deadline = Clock::now() + std::chrono::milliseconds(1);
        if (!sleep_until(deadline)) return;
        const auto woke = Clock::now();
        if (woke < deadline) early = true;
        if (!done.load(std::memory_order_relaxed))
          late_us.push_back(std::chrono::duration<double, std::micro>(woke - deadline).count());
      }
    });
    auto spinner = spawn([&] {
      const auto end = Clock::now() + busy;
      std::uint64_t n = 0;
      while (Clock::now() < end) {
        if (loop == Loop::Allocating) {
          std::vector<int> v(16, static_cast<int>(n));
          asm volatile("" : : "r"(v.data()) : "memory");
        } else {
          SMARM_CHECK();
        }
        ++n;
      }
      done.store(true, std::memory_order_relaxed);
    });
    (void)spinner.join();
    (void)sleeper.join();
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  if (early) s.failure = "a sleep returned before its deadline";
  const auto possible = static_cast<std::size_t>(busy.count());  // 1 ms sleeps
  if (late_us.size() * 10 < possible)
    s.failure = "the sleeper woke only " + std::to_string(late_us.size()) +
                " times while the loop ran (preemption is not working)";
  s.result = 1;
  s.metric = percentile(late_us, 0.99);
  s.extra.push_back({"p50", percentile(late_us, 0.50), 1});
  s.extra.push_back({"max", percentile(late_us, 1.0), 1});
  s.extra.push_back({"sleeps", static_cast<double>(late_us.size()), 0});
  return s;
}

void run_w7_common(Reporter& rep, std::size_t threads, const char* name, Loop loop) {
  const std::chrono::milliseconds busy(rep.smoke() ? 100 : 2'000);
  const std::vector<Case> cases{
      {name, "smarm", threads, "us", 1, [loop, busy] { return run_once(loop, busy); }}};
  for (const Summary& line : rep.measure(cases)) rep.print(line);
}

}  // namespace

void run_w7_preemption(Reporter& rep, std::size_t threads) {
  run_w7_common(rep, threads, "W7", Loop::Allocating);
}
void run_w7b_preemption_check(Reporter& rep, std::size_t threads) {
  run_w7_common(rep, threads, "W7b", Loop::Checking);
}

}  // namespace smarm::bench
