// SPDX-License-Identifier: Apache-2.0
// tl_timer_lateness.cpp — TL, timer lateness on an idle runtime (issue 3's timer target).
//
// Not one of BENCHMARKS.md's workloads, but printed in its format: one actor on an
// otherwise idle runtime (T=1) sleeps 1 ms, 1,000 times, and records how late each
// wake-up is (actual wake time - deadline; a sleep is never early). The worker has
// nothing else to do, so this measures the idle path: the futex sleep with the timer
// deadline and the timer slack the workers set. Metric: p99 lateness in µs, with p50=
// and max= after result (result = number of sleeps). Targets: p50 <= 100 µs, p99 <= 1 ms.
// Lateness depends on the kernel and the host: on a shared virtual machine the max
// includes whatever the hypervisor did. Smoke: 20 sleeps.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <vector>

#include <smarm/smarm.hpp>

#include "workloads.hpp"

namespace smarm::bench {
namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

Sample run_once(std::size_t threads, std::int64_t sleeps) {
  Sample s;
  std::vector<double> late_us;
  late_us.reserve(static_cast<std::size_t>(sleeps));
  bool early = false;
  auto r = runtime::init(bench_config(threads)).run([&] {
    for (std::int64_t i = 0; i < sleeps; ++i) {
      const auto deadline = Clock::now() + std::chrono::milliseconds(1);
      if (!sleep_until(deadline)) return;
      const auto woke = Clock::now();
      if (woke < deadline) early = true;
      late_us.push_back(std::chrono::duration<double, std::micro>(woke - deadline).count());
    }
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  if (early) s.failure = "a sleep returned before its deadline";
  s.result = static_cast<std::int64_t>(late_us.size());
  s.metric = percentile(late_us, 0.99);
  s.extra.push_back({"p50", percentile(late_us, 0.50), 1});
  s.extra.push_back({"max", percentile(late_us, 1.0), 1});
  return s;
}

}  // namespace

void run_tl_timer_lateness(Reporter& rep, std::size_t threads) {
  const std::int64_t sleeps = rep.smoke() ? 20 : 1'000;
  const std::vector<Case> cases{{"TL", "smarm", threads, "us", sleeps,
                                 [threads, sleeps] { return run_once(threads, sleeps); }}};
  for (const Summary& line : rep.measure(cases)) rep.print(line);
}

}  // namespace smarm::bench
