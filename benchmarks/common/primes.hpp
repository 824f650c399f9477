// SPDX-License-Identifier: Apache-2.0
// primes.hpp — what W4 (primes fan-out/fan-in, BENCHMARKS.md) is in every runner: the
// chunks, the count of one chunk, and the two baselines measured next to the runtime.
//
// Count the primes below 2,000,000 by trial division by odd numbers up to sqrt(n), split
// into 200 chunks of 10,000 (smoke: 20 chunks, primes below 200,000, expected value from a
// sieve). run_w4() measures three implementations of the same chunks, interleaved in one
// invocation so their ratios are side by side:
//   RUNTIME  the runtime under test (smarm-bench: smarm actors; asio-bench: Asio
//            coroutines), passed in by the runner;
//   threads  T plain std::threads take chunks from a shared atomic counter (dynamic, as
//            a scheduler would) and sum their counts; the main thread joins them;
//   serial   one loop over the chunks on the calling thread (printed as T=1 in every
//            group, since it has no threads to vary).
// Metric: wall time in ms, from before the runtime/threads start to after they have
// stopped (so each pays its own start-up). The runtime's line carries vs_serial= and
// vs_threads= (its median / that median). Both runners print the threads and serial lines
// from this same code, so comparing them across the two programs shows machine drift.
//
// This header does not depend on smarm (asio-bench does not link it).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

#include "workloads/report.hpp"

namespace smarm::bench::primes {

constexpr std::uint32_t kChunk = 10'000;

// is_prime decides n by trial division by odd numbers up to sqrt(n).
inline bool is_prime(std::uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::uint32_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

// count_chunk counts the primes in [c * kChunk, (c + 1) * kChunk).
inline std::int64_t count_chunk(std::uint32_t c) {
  std::int64_t count = 0;
  for (std::uint32_t n = c * kChunk; n < (c + 1) * kChunk; ++n) count += is_prime(n) ? 1 : 0;
  return count;
}

// sieve_count is an independent count of the primes below limit (for smoke sizes).
inline std::int64_t sieve_count(std::uint32_t limit) {
  std::vector<bool> composite(limit, false);
  std::int64_t count = 0;
  for (std::uint32_t n = 2; n < limit; ++n) {
    if (composite[n]) continue;
    ++count;
    for (std::uint64_t m = std::uint64_t{n} * n; m < limit; m += n)
      composite[static_cast<std::size_t>(m)] = true;
  }
  return count;
}

inline Sample run_threads(std::size_t threads, std::uint32_t chunks) {
  Sample s;
  const auto t0 = Clock::now();
  std::atomic<std::uint32_t> next{0};
  std::atomic<std::int64_t> total{0};
  {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t)
      pool.emplace_back([&] {
        std::int64_t mine = 0;
        // relaxed: the counter only hands out distinct chunk numbers; join() publishes.
        for (std::uint32_t c; (c = next.fetch_add(1, std::memory_order_relaxed)) < chunks;)
          mine += count_chunk(c);
        total.fetch_add(mine, std::memory_order_relaxed);  // read after join()
      });
  }  // joins
  s.metric = seconds_since(t0) * 1e3;
  s.result = total.load(std::memory_order_relaxed);
  return s;
}

inline Sample run_serial(std::uint32_t chunks) {
  Sample s;
  const auto t0 = Clock::now();
  std::int64_t total = 0;
  for (std::uint32_t c = 0; c < chunks; ++c) total += count_chunk(c);
  s.metric = seconds_since(t0) * 1e3;
  s.result = total;
  return s;
}

// RunChunks counts chunks 0 .. chunks-1 on the runtime under test at `threads` threads.
using RunChunks = Sample (*)(std::size_t threads, std::uint32_t chunks);

// run_w4 measures and prints W4's three lines at `threads`: `runtime` (the runtime= name
// of the first line) by run, then threads and serial (see the file comment).
inline void run_w4(Reporter& rep, std::size_t threads, const char* runtime, RunChunks run) {
  const std::uint32_t chunks = rep.smoke() ? 20 : 200;
  const std::int64_t expected = rep.smoke() ? sieve_count(chunks * kChunk) : 148'933;
  const std::vector<Case> cases{
      {"W4", runtime, threads, "ms", expected, [=] { return run(threads, chunks); }},
      {"W4", "threads", threads, "ms", expected, [=] { return run_threads(threads, chunks); }},
      {"W4", "serial", 1, "ms", expected, [=] { return run_serial(chunks); }},
  };
  auto summaries = rep.measure(cases);
  Summary& runtime_line = summaries[0];
  if (runtime_line.ok) {
    if (summaries[2].ok)
      runtime_line.extra.push_back({"vs_serial", runtime_line.metric / summaries[2].metric, 3});
    if (summaries[1].ok)
      runtime_line.extra.push_back({"vs_threads", runtime_line.metric / summaries[1].metric, 3});
  }
  for (const Summary& s : summaries) rep.print(s);
}

}  // namespace smarm::bench::primes
