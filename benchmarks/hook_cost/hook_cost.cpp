// SPDX-License-Identifier: Apache-2.0
// smarm-hook-cost — what the preemption hook costs an allocation-heavy loop (issue 4).
//
// Why not just Google Benchmark: on this shared VM the speed of the very same loop swings
// between two levels (about 30 and 50 ns per iteration) for stretches of tens of
// milliseconds to seconds, whatever smarm does. Repetitions of a second each land in
// either level at random, and the difference we look for (~1%) drowns. So this program
// pairs short chunks: a one-worker runtime with the default configuration (hook on) and
// one with Config::preemption(false), each timing `chunk` iterations of the loop, run back
// to back (order alternating). Both chunks of a pair almost always see the same machine
// state, so the ratio of the pair is stable even when the absolute times are not; the
// figure is the median ratio over all pairs.
//
// The loop is the one of BM_AllocationLoop (micro/preempt_bench.cpp): allocate and free a
// std::vector<int> of 16 elements whose address escapes. Nothing else runs, so the hook
// never switches: this is the price of counting allocations and reading the clock every
// `alloc_interval` of them.
//
//   smarm-hook-cost [pairs=200] [chunk=100000]
//   smarm-hook-cost smoke
//
// Output (BENCHMARKS.md format): metric is the median on/off ratio, with the medians of
// the absolute ns per iteration and the quartiles of the ratio as extra fields.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include <smarm/smarm.hpp>

namespace {

std::atomic<void*> g_sink{nullptr};

// ns per iteration of the loop in a fresh one-worker runtime, or a negative value if the
// runtime did not run.
double time_chunk(bool preemption, long iterations) {
  double ns_per_iteration = -1;
  const auto config = smarm::Config::exact(1).stall_detector(false).preemption(preemption);
  auto r = smarm::runtime::init(config).run([&] {
    const auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < iterations; ++i) {
      auto v = std::make_unique<std::vector<int>>(16, 1);
      g_sink.store(v.get(), std::memory_order_relaxed);
    }
    const auto t1 = std::chrono::steady_clock::now();
    ns_per_iteration =
        std::chrono::duration<double, std::nano>(t1 - t0).count() / static_cast<double>(iterations);
  });
  if (!r) {
    std::fprintf(stderr, "smarm-hook-cost: runtime: %s\n", r.error().message().c_str());
    return -1;
  }
  return ns_per_iteration;
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

long parse_positive(const char* s, const char* what) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "smarm-hook-cost: %s must be a positive integer, got '%s'\n", what, s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  long pairs = 200;
  long chunk = 100000;
  if (argc > 1 && std::strcmp(argv[1], "smoke") == 0) {
    pairs = 5;
    chunk = 1000;
  } else {
    if (argc > 1) pairs = parse_positive(argv[1], "pairs");
    if (argc > 2) chunk = parse_positive(argv[2], "chunk");
    if (argc > 3) {
      std::fprintf(stderr, "usage: smarm-hook-cost [pairs [chunk]] | smoke\n");
      return 2;
    }
  }

  std::vector<double> on, off, ratio;
  for (long p = 0; p < pairs; ++p) {
    // Alternate which configuration goes first, so that a drift within a pair favours
    // neither.
    double with_hook = 0;
    double without = 0;
    if (p % 2 == 0) {
      with_hook = time_chunk(true, chunk);
      without = time_chunk(false, chunk);
    } else {
      without = time_chunk(false, chunk);
      with_hook = time_chunk(true, chunk);
    }
    if (with_hook <= 0 || without <= 0) {
      std::printf("workload=hook-cost runtime=smarm T=1 metric=FAIL unit=ratio result=FAIL\n");
      return 1;
    }
    on.push_back(with_hook);
    off.push_back(without);
    ratio.push_back(with_hook / without);
  }
  std::printf(
      "workload=hook-cost runtime=smarm T=1 metric=%.4f unit=ratio result=ok on_ns=%.2f "
      "off_ns=%.2f ratio_p25=%.4f ratio_p75=%.4f pairs=%ld chunk=%ld\n",
      quantile(ratio, 0.5), quantile(on, 0.5), quantile(off, 0.5), quantile(ratio, 0.25),
      quantile(ratio, 0.75), pairs, chunk);
  return 0;
}
