// SPDX-License-Identifier: Apache-2.0
// w2_ping_pong.cpp — W2 ping-pong (context switch + channel), BENCHMARKS.md.
//
// Two actors, two channels of int64: the root (A) sends i, the partner (B) receives it and
// sends it back, 1,000,000 round trips. The result is the number of round trips whose
// echo equalled what was sent (expected 1,000,000). Metric: ns per round trip, timed in
// the root from the first send to the last receive (B is spawned before the clock
// starts). B ends when A closes its sender. Smoke: 10,000 round trips.
#include <cstdint>
#include <string>
#include <utility>

#include <smarm/smarm.hpp>

#include "workloads.hpp"

namespace smarm::bench {
namespace {

// echo receives values and sends each back until its input is closed.
void echo(Receiver<std::int64_t> rx, Sender<std::int64_t> tx) {
  for (;;) {
    auto v = rx.recv();
    if (!v) return;  // Closed: A is done
    tx.send(*v).value();
  }
}

Sample run_once(std::size_t threads, std::int64_t rounds) {
  Sample s;
  double elapsed = 0;
  auto r = runtime::init(bench_config(threads)).run([&] {
    auto [ping_tx, ping_rx] = channel<std::int64_t>();
    auto [pong_tx, pong_rx] = channel<std::int64_t>();
    auto b = spawn([rx = std::move(ping_rx), tx = std::move(pong_tx)]() mutable {
      echo(std::move(rx), std::move(tx));
    });
    std::int64_t good = 0;
    const auto t0 = Clock::now();
    for (std::int64_t i = 0; i < rounds; ++i) {
      ping_tx.send(i).value();
      if (pong_rx.recv().value() == i) ++good;
    }
    elapsed = seconds_since(t0);
    ping_tx.close();
    b.join().value();
    return good;
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  s.result = *r;
  s.metric = elapsed * 1e9 / static_cast<double>(rounds);
  return s;
}

}  // namespace

void run_w2_ping_pong(Reporter& rep, std::size_t threads) {
  const std::int64_t rounds = rep.smoke() ? 10'000 : 1'000'000;
  const std::vector<Case> cases{{"W2", "smarm", threads, "ns/rtt", rounds,
                                 [threads, rounds] { return run_once(threads, rounds); }}};
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace smarm::bench
