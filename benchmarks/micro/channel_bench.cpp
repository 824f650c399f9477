// SPDX-License-Identifier: Apache-2.0
// channel_bench.cpp — BM_ChannelHandOff: ping-pong of an int64 over two channels.
//
// The root actor sends i on one channel; a partner actor receives it and sends it back on
// the other; the root receives and checks it. One iteration is one round trip (two
// sends, two receives, two hand-offs between actors); `per_handoff` is half of it. The
// partner ends when the root drops its sender (recv() returns Closed).
#include <cstdint>
#include <string>
#include <utility>

#include <benchmark/benchmark.h>

#include <smarm/smarm.hpp>

#include "micro_config.hpp"

namespace {

void BM_ChannelHandOff(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(threads)).run([&] {
    auto [ping_tx, ping_rx] = smarm::channel<std::int64_t>();
    auto [pong_tx, pong_rx] = smarm::channel<std::int64_t>();
    auto partner = smarm::spawn([rx = std::move(ping_rx), tx = std::move(pong_tx)]() mutable {
      for (;;) {
        auto v = rx.recv();
        if (!v) return;  // Closed: the root is done
        if (!tx.send(*v)) return;
      }
    });
    std::int64_t i = 0;
    for (auto _ : state) {
      if (!ping_tx.send(i)) {
        failure = "send failed";
        break;
      }
      auto v = pong_rx.recv();
      if (!v || *v != i) {
        failure = v ? "echo mismatch" : "recv: " + v.error().message();
        break;
      }
      ++i;
    }
    ping_tx.close();
    if (auto j = partner.join(); !j && failure.empty()) failure = "join: " + j.error().message();
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) {
    state.SkipWithError(failure.c_str());
    return;
  }
  state.counters["per_handoff"] = benchmark::Counter(
      2, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ChannelHandOff)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
