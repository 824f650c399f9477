// SPDX-License-Identifier: Apache-2.0
// w3_ring.cpp — W3 ring (message passing), BENCHMARKS.md.
//
// 1,000 actors in a ring, actor k receiving from channel k and sending to channel k+1
// (mod 1,000). The root injects a token (int64 0) into channel 0; it goes around the ring
// 1,000 times, each hop incrementing it, 1,000,000 hops in all. Every actor receives
// exactly `laps` times; the very last hop (actor 999, last lap) sends the token to the
// root instead of around again. Expected final value: 1,000,000. Metric: ns per hop,
// timed in the root from the injection to the token's return; the ring is spawned (and
// parked on its channels) before the clock starts. Smoke: 100 actors x 10 laps.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <smarm/smarm.hpp>

#include "workloads.hpp"

namespace smarm::bench {
namespace {

// member runs ring member k: `laps` times receive, increment, forward; the last member's
// last forward goes to `done`.
void member(Receiver<std::int64_t> in, Sender<std::int64_t> next, Sender<std::int64_t> done,
            int laps, bool last) {
  for (int lap = 0; lap < laps; ++lap) {
    const std::int64_t v = in.recv().value() + 1;
    if (last && lap == laps - 1) {
      done.send(v).value();
    } else {
      next.send(v).value();
    }
  }
}

Sample run_once(std::size_t threads, int actors, int laps) {
  Sample s;
  double elapsed = 0;
  auto r = runtime::init(bench_config(threads)).run([&] {
    std::vector<Sender<std::int64_t>> tx;
    std::vector<Receiver<std::int64_t>> rx;
    for (int k = 0; k < actors; ++k) {
      auto [t, x] = channel<std::int64_t>();
      tx.push_back(std::move(t));
      rx.push_back(std::move(x));
    }
    auto [done_tx, done_rx] = channel<std::int64_t>();
    std::vector<JoinHandle<void>> ring;
    ring.reserve(static_cast<std::size_t>(actors));
    for (int k = 0; k < actors; ++k) {
      const auto here = static_cast<std::size_t>(k);
      const auto next = static_cast<std::size_t>((k + 1) % actors);
      ring.push_back(spawn([in = std::move(rx[here]), out = tx[next], done = done_tx, laps,
                            last = k == actors - 1]() mutable {
        member(std::move(in), std::move(out), std::move(done), laps, last);
      }));
    }
    done_tx.close();
    const auto t0 = Clock::now();
    tx[0].send(0).value();
    const std::int64_t token = done_rx.recv().value();
    elapsed = seconds_since(t0);
    for (auto& h : ring) h.join().value();
    return token;
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  s.result = *r;
  s.metric = elapsed * 1e9 / (static_cast<double>(actors) * laps);
  return s;
}

}  // namespace

void run_w3_ring(Reporter& rep, std::size_t threads) {
  const int actors = rep.smoke() ? 100 : 1'000;
  const int laps = rep.smoke() ? 10 : 1'000;
  const std::vector<Case> cases{
      {"W3", "smarm", threads, "ns/hop", std::int64_t{actors} * laps,
       [threads, actors, laps] { return run_once(threads, actors, laps); }}};
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace smarm::bench
