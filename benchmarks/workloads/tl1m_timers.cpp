// SPDX-License-Identifier: Apache-2.0
// tl1m_timers.cpp — TL1M, a million timers (BENCHMARKS.md "Under load").
//
// 1,000,000 actors each sleep until a random deadline within a 3 s window that starts
// once all are spawned. Each actor is spawned parked on its own channel; once the last
// one is, the root picks the window's start (1 s ahead, so that handing out the
// deadlines fits before it: checked) and sends each actor its deadline. Lateness is the
// wake-up time minus the deadline. Metric: median lateness in ms; extra p99=, max=,
// early= (sleeps that returned before their deadline: must be 0), floor_p99= (a plain
// thread's 1 ms sleep in the same run). result is the number of actors that woke.
// Targets (issue 15, T=2, quiet machine): median <= 5 ms, p99 <= 50 ms. Smoke: 10,000
// actors, a 300 ms window.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <smarm/smarm.hpp>

#include "sleep_floor.hpp"
#include "workloads.hpp"

namespace smarm::bench {
namespace {

Sample run_once(std::size_t threads, std::size_t n, std::chrono::milliseconds window) {
  Sample s;
  std::vector<float> late_ms(n, -1.0f);
  std::atomic<std::int64_t> early{0};
  std::atomic<std::size_t> armed{0};
  double arming_ms = 0;
  // Handing out a million deadlines and arming them takes a second or two here; the
  // window starts after a lead that covers it (checked), so that what is measured is
  // the timers, not the start-up.
  const auto lead = n > 100'000 ? std::chrono::seconds(4) : std::chrono::seconds(1);
  std::string failure;
  SleepFloor floor;
  auto r = runtime::init(bench_config(threads)).run([&] {
    std::vector<Sender<Clock::time_point>> deadlines;
    std::vector<JoinHandle<void>> actors;
    deadlines.reserve(n);
    actors.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      auto [tx, rx] = channel<Clock::time_point>();
      deadlines.push_back(std::move(tx));
      actors.push_back(spawn([&, i, rx = std::move(rx)]() mutable {
        auto d = rx.recv();
        if (!d) return;
        armed.fetch_add(1, std::memory_order_relaxed);  // about to arm it
        if (!sleep_until(*d)) return;
        const auto woke = Clock::now();
        if (woke < *d) early.fetch_add(1, std::memory_order_relaxed);
        late_ms[i] = std::chrono::duration<float, std::milli>(woke - *d).count();
      }));
    }
    const auto handing_out = Clock::now();
    const auto start = handing_out + lead;
    std::mt19937_64 rng(12345);
    const auto span_ns = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(window).count());
    std::size_t sent = 0;
    for (auto& tx : deadlines) {
      (void)tx.send(start + std::chrono::nanoseconds(rng() % span_ns));
      // Let the woken actors run and arm their timers as we go (sends never park).
      if (++sent % 1024 == 0) (void)yield_now();
    }
    while (armed.load(std::memory_order_relaxed) < n && Clock::now() < start)
      (void)sleep_for(std::chrono::milliseconds(1));
    const auto all_armed = Clock::now();
    arming_ms = std::chrono::duration<double, std::milli>(all_armed - handing_out).count();
    if (all_armed >= start)
      failure = "arming the timers took longer than the lead before the window";
    for (auto& a : actors) (void)a.join();
  });
  floor.stop();
  if (!r) failure = "run: " + r.error().message();
  if (!failure.empty()) {
    s.failure = failure;
    return s;
  }
  std::vector<double> late;
  late.reserve(n);
  for (float v : late_ms)
    if (v >= 0) late.push_back(v);
  s.result = static_cast<std::int64_t>(late.size());
  if (early.load() != 0) s.failure = std::to_string(early.load()) + " sleeps woke early";
  s.metric = percentile(late, 0.5);
  s.extra.push_back({"p99", percentile(late, 0.99), 2});
  s.extra.push_back({"max", percentile(late, 1.0), 2});
  s.extra.push_back({"early", static_cast<double>(early.load()), 0});
  s.extra.push_back({"floor_p99", floor.p99_ms(), 3});
  s.extra.push_back({"arming_ms", arming_ms, 0});
  return s;
}

}  // namespace

void run_tl1m_timers(Reporter& rep, std::size_t threads) {
  const bool smoke = rep.smoke();
  const std::size_t n = smoke ? 10'000 : 1'000'000;
  const std::chrono::milliseconds window(smoke ? 300 : 3'000);
  const std::vector<Case> cases{{"TL1M", "smarm", threads, "ms", static_cast<std::int64_t>(n),
                                 [threads, n, window] { return run_once(threads, n, window); }}};
  for (const Summary& line : rep.measure(cases)) rep.print(line);
}

}  // namespace smarm::bench
