// SPDX-License-Identifier: Apache-2.0
// w4_primes.cpp — W4 primes fan-out/fan-in (compute), BENCHMARKS.md: the smarm line.
//
// The chunks, their expected count, the threads and serial baselines and how the three
// lines are measured and printed are common/primes.hpp's (shared with asio-bench). Here:
//   smarm    each chunk is one spawned actor that sends its count to one result
//            channel; the root receives the 200 counts and sums them.
// Expected: 148933. Metric: wall time in ms, from before the runtime starts to after it
// has stopped (so it pays its own start-up, as the threads baseline does). The line
// carries vs_serial= and vs_threads= (smarm median / that median).
#include <cstddef>
#include <cstdint>

#include <smarm/smarm.hpp>

#include "common/primes.hpp"
#include "workloads.hpp"

namespace smarm::bench {
namespace {

Sample run_smarm(std::size_t threads, std::uint32_t chunks) {
  Sample s;
  const auto t0 = Clock::now();
  auto r = runtime::init(bench_config(threads)).run([chunks] {
    auto [tx, rx] = channel<std::int64_t>();
    for (std::uint32_t c = 0; c < chunks; ++c)
      spawn([c, out = tx]() mutable { out.send(primes::count_chunk(c)).value(); }).detach();
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

}  // namespace

void run_w4_primes(Reporter& rep, std::size_t threads) {
  primes::run_w4(rep, threads, "smarm", run_smarm);
}

}  // namespace smarm::bench
