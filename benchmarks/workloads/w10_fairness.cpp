// SPDX-License-Identifier: Apache-2.0
// w10_fairness.cpp — W10, fairness under CPU-bound load (BENCHMARKS.md "Under load").
//
// N actors (N = 2, 10, 1000) are released together; each runs W7's allocating loop (a
// std::vector<int> of 16 elements per iteration, made to escape) for 2 s and counts its
// iterations. Metric: largest / smallest per-actor count (unit=ratio; fair is 1.0).
// Extra: busy0=, busy1=, ... each worker's share of the wall time spent outside idle()
// (WorkerStats::idle_ns), in %; top= the largest actor's share of all iterations, in %;
// n=. result is N when every actor ran at least one iteration. SMARM_W10_DUMP=1 prints
// the deciles of the per-actor counts on stderr. Targets (issue 15, T=2):
// N=2, each worker busy >= 40%; N=10, top <= 15%; N=1000, ratio <= 2. Smoke: 100 ms.
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include <smarm/smarm.hpp>

#include "workloads.hpp"

namespace smarm::bench {
namespace {

struct alignas(64) Count {
  std::uint64_t iterations = 0;
  char worker[16] = {};  // the thread the actor ended on (for SMARM_W10_DUMP)
};

Sample run_once(std::size_t threads, std::size_t n, std::chrono::milliseconds busy) {
  Sample s;
  std::vector<Count> counts(n);
  std::vector<double> busy_pct;
  auto r = runtime::init(bench_config(threads)).run([&] {
    std::atomic<bool> go{false}, stop{false};
    std::vector<JoinHandle<void>> actors;
    actors.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      actors.push_back(spawn([&, i] {
        while (!go.load(std::memory_order_relaxed)) (void)yield_now();
        std::uint64_t k = 0;
        while (!stop.load(std::memory_order_relaxed)) {
          std::vector<int> v(16, static_cast<int>(k));
          asm volatile("" : : "r"(v.data()) : "memory");
          ++k;
        }
        counts[i].iterations = k;
        pthread_getname_np(pthread_self(), counts[i].worker, sizeof counts[i].worker);
      }));
    const Stats before = stats();
    const auto t0 = Clock::now();
    go.store(true, std::memory_order_relaxed);
    (void)sleep_for(busy);
    stop.store(true, std::memory_order_relaxed);
    const double wall_ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    const Stats after = stats();
    for (auto& a : actors) (void)a.join();
    for (std::size_t w = 0; w < after.workers.size() && w < before.workers.size(); ++w) {
      const double idle = static_cast<double>(after.workers[w].idle_ns - before.workers[w].idle_ns);
      busy_pct.push_back(std::max(0.0, 100.0 * (1.0 - idle / wall_ns)));
    }
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  std::uint64_t lo = std::numeric_limits<std::uint64_t>::max(), hi = 0, total = 0;
  std::int64_t ran = 0;
  for (const Count& c : counts) {
    lo = std::min(lo, c.iterations);
    hi = std::max(hi, c.iterations);
    total += c.iterations;
    if (c.iterations > 0) ++ran;
  }
  if (std::getenv("SMARM_W10_DUMP")) {  // the whole distribution, for a look by hand
    std::vector<std::uint64_t> sorted;
    for (const Count& c : counts) sorted.push_back(c.iterations);
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t q = 0; q <= 10; ++q)
      std::fprintf(stderr, "W10 n=%zu p%zu=%llu\n", n, q * 10,
                   static_cast<unsigned long long>(sorted[std::min(n - 1, q * n / 10)]));
    // Per worker: how many actors ended there and their median count.
    std::vector<std::string> names;
    for (const Count& c : counts)
      if (std::find(names.begin(), names.end(), c.worker) == names.end()) names.push_back(c.worker);
    for (const std::string& w : names) {
      std::vector<std::uint64_t> mine;
      for (const Count& c : counts)
        if (w == c.worker) mine.push_back(c.iterations);
      std::sort(mine.begin(), mine.end());
      std::fprintf(stderr, "W10 n=%zu on %s: %zu actors, min %llu median %llu max %llu\n", n,
                   w.c_str(), mine.size(), static_cast<unsigned long long>(mine.front()),
                   static_cast<unsigned long long>(mine[mine.size() / 2]),
                   static_cast<unsigned long long>(mine.back()));
    }
  }
  s.result = ran;
  s.metric = lo == 0 ? std::numeric_limits<double>::infinity()
                     : static_cast<double>(hi) / static_cast<double>(lo);
  for (std::size_t w = 0; w < busy_pct.size(); ++w)
    s.extra.push_back({"busy" + std::to_string(w), busy_pct[w], 1});
  s.extra.push_back(
      {"top", total ? 100.0 * static_cast<double>(hi) / static_cast<double>(total) : 0, 1});
  s.extra.push_back({"n", static_cast<double>(n), 0});
  return s;
}

}  // namespace

void run_w10_fairness(Reporter& rep, std::size_t threads) {
  const std::chrono::milliseconds busy(rep.smoke() ? 100 : 2'000);
  std::vector<Case> cases;
  // Smoke: 50 actors instead of 1000, which could not all get a first slice in 100 ms.
  const std::size_t many = rep.smoke() ? 50 : 1000;
  for (std::size_t n : {std::size_t{2}, std::size_t{10}, many})
    cases.push_back({"W10", "smarm", threads, "ratio", static_cast<std::int64_t>(n),
                     [threads, n, busy] { return run_once(threads, n, busy); }});
  for (const Summary& line : rep.measure(cases)) rep.print(line);
}

}  // namespace smarm::bench
