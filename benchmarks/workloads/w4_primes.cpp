// w4_primes.cpp — W4 primes fan-out/fan-in (compute), BENCHMARKS.md.
//
// Count the primes below 2,000,000 by trial division by odd numbers up to sqrt(n). The
// range is split into 200 chunks of 10,000. Three implementations of the same chunks,
// measured interleaved in one invocation so their ratios are side by side:
//   smarm    each chunk is one spawned actor that sends its count to one result
//            channel; the root receives the 200 counts and sums them;
//   threads  T plain std::threads take chunks from a shared atomic counter (dynamic, as
//            a scheduler would) and sum their counts; the main thread joins them;
//   serial   one loop over the chunks on the calling thread (printed as T=1 in every
//            group, since it has no threads to vary).
// Expected: 148933. Metric: wall time in ms, from before the runtime/threads start to
// after they have stopped (so each pays its own start-up). The smarm line carries
// vs_serial= and vs_threads= (smarm median / that median). Smoke: 20 chunks (primes
// below 200,000), expected value from a sieve.
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <smarm/smarm.hpp>

#include "workloads.hpp"

namespace smarm::bench {
namespace {

constexpr std::uint32_t kChunk = 10'000;

// is_prime decides n by trial division by odd numbers up to sqrt(n).
bool is_prime(std::uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::uint32_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

// count_chunk counts the primes in [c * kChunk, (c + 1) * kChunk).
std::int64_t count_chunk(std::uint32_t c) {
  std::int64_t count = 0;
  for (std::uint32_t n = c * kChunk; n < (c + 1) * kChunk; ++n) count += is_prime(n) ? 1 : 0;
  return count;
}

// sieve_count is an independent count of the primes below limit (for smoke sizes).
std::int64_t sieve_count(std::uint32_t limit) {
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

Sample run_smarm(std::size_t threads, std::uint32_t chunks) {
  Sample s;
  const auto t0 = Clock::now();
  auto r = runtime::init(Config::exact(threads)).run([chunks] {
    auto [tx, rx] = channel<std::int64_t>();
    for (std::uint32_t c = 0; c < chunks; ++c)
      spawn([c, out = tx]() mutable { out.send(count_chunk(c)).value(); }).detach();
    tx.close();
    std::int64_t total = 0;
    for (std::uint32_t c = 0; c < chunks; ++c) total += rx.recv().value();
    return total;
  });
  const double elapsed = seconds_since(t0);
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  s.result = *r;
  s.metric = elapsed * 1e3;
  return s;
}

Sample run_threads(std::size_t threads, std::uint32_t chunks) {
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

Sample run_serial(std::uint32_t chunks) {
  Sample s;
  const auto t0 = Clock::now();
  std::int64_t total = 0;
  for (std::uint32_t c = 0; c < chunks; ++c) total += count_chunk(c);
  s.metric = seconds_since(t0) * 1e3;
  s.result = total;
  return s;
}

}  // namespace

void run_w4_primes(Reporter& rep, std::size_t threads) {
  const std::uint32_t chunks = rep.smoke() ? 20 : 200;
  const std::int64_t expected = rep.smoke() ? sieve_count(chunks * kChunk) : 148'933;
  const std::vector<Case> cases{
      {"W4", "smarm", threads, "ms", expected, [=] { return run_smarm(threads, chunks); }},
      {"W4", "threads", threads, "ms", expected, [=] { return run_threads(threads, chunks); }},
      {"W4", "serial", 1, "ms", expected, [=] { return run_serial(chunks); }},
  };
  auto summaries = rep.measure(cases);
  Summary& smarm_line = summaries[0];
  if (smarm_line.ok) {
    if (summaries[2].ok)
      smarm_line.extra.push_back({"vs_serial", smarm_line.metric / summaries[2].metric, 3});
    if (summaries[1].ok)
      smarm_line.extra.push_back({"vs_threads", smarm_line.metric / summaries[1].metric, 3});
  }
  for (const Summary& s : summaries) rep.print(s);
}

}  // namespace smarm::bench
