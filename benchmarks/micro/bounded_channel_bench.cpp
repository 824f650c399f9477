// SPDX-License-Identifier: Apache-2.0
// bounded_channel_bench.cpp — one producer actor streaming int64s to one consumer actor
// through bounded_channel<T>(capacity), the shape of a pipeline stage.
//
// One iteration is one message: sent, received and checked. Arguments: capacity (0 is
// the rendezvous channel, where every message is a park and a wake-up) and worker threads.
// On one worker with a buffer the channel lock becomes biased to the worker, so the
// per-message cost carries no atomic read-modify-write; run with SMARM_CHANNEL_BIAS=0 in
// the environment to measure the same loop with an ordinary spin lock.
#include <cstdint>
#include <string>
#include <utility>

#include <benchmark/benchmark.h>

#include <smarm/smarm.hpp>

#include "micro_config.hpp"

namespace {

void BM_BoundedChannelStream(benchmark::State& state) {
  const auto capacity = static_cast<std::size_t>(state.range(0));
  const auto threads = static_cast<std::size_t>(state.range(1));
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(threads)).run([&] {
    auto [tx, rx] = smarm::bounded_channel<std::int64_t>(capacity);
    // The consumer checks order and ends when the producer (this root actor) closes.
    auto consumer = smarm::spawn([rx = std::move(rx)]() mutable {
      std::int64_t expect = 0;
      while (auto v = rx.recv()) {
        if (*v != expect++) return false;
      }
      return true;
    });
    std::int64_t i = 0;
    for (auto _ : state) {
      if (!tx.send(i++)) {
        failure = "send failed";
        break;
      }
    }
    tx.close();
    auto ok = consumer.join();
    if (failure.empty() && !(ok && *ok)) failure = "consumer saw values out of order";
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) state.SkipWithError(failure.c_str());
}
BENCHMARK(BM_BoundedChannelStream)
    ->ArgNames({"capacity", "threads"})
    ->Args({0, 1})
    ->Args({1, 1})
    ->Args({64, 1})
    ->Args({64, 2})
    ->UseRealTime();

}  // namespace
