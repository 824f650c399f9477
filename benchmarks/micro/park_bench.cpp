// SPDX-License-Identifier: Apache-2.0
// park_bench.cpp — BM_ParkUnpark: two actors hand a turn back and forth with the
// scheduler's own primitive, detail::park / detail::unpark (no channel on top).
//
// One iteration is one round trip: the root gives the turn to the partner, unparks it
// and parks until the turn comes back; the partner does the mirror image. That is two
// unpark+park pairs per iteration; `per_handoff` is the time of one. park() may return
// spuriously, so each side re-checks the turn in a loop, as every caller must. The turn
// is an atomic: with 2 workers the two actors may run on different threads.
#include <atomic>
#include <cstdint>
#include <string>

#include <benchmark/benchmark.h>

#include <smarm/smarm.hpp>

#include "micro_config.hpp"

namespace {

// Turn says whose move it is; Stop tells the partner to end.
enum class Turn : std::uint8_t { Root, Partner, Stop };

void BM_ParkUnpark(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(threads)).run([&] {
    std::atomic<Turn> turn{Turn::Root};
    std::atomic<std::uint64_t> partner_moves{0};
    const smarm::detail::WaiterId root = smarm::detail::current_waiter();
    std::atomic<bool> partner_known{false};
    smarm::detail::WaiterId partner_id;

    auto partner = smarm::spawn([&] {
      partner_id = smarm::detail::current_waiter();
      // release: pairs with the acquire below; publishes partner_id.
      partner_known.store(true, std::memory_order_release);
      for (;;) {
        Turn t;
        // acquire: pairs with the root's release store, so its writes are visible.
        while ((t = turn.load(std::memory_order_acquire)) == Turn::Root)
          smarm::detail::park(smarm::detail::WaitKind::Other, &turn);
        if (t == Turn::Stop) return;
        partner_moves.fetch_add(1, std::memory_order_relaxed);  // only read after join
        turn.store(Turn::Root, std::memory_order_release);      // pairs with root's acquire
        smarm::detail::unpark(root);
      }
    });
    while (!partner_known.load(std::memory_order_acquire)) {
      if (!smarm::yield_now()) {
        failure = "yield_now failed";
        return;
      }
    }

    std::uint64_t rounds = 0;
    for (auto _ : state) {
      turn.store(Turn::Partner, std::memory_order_release);  // pairs with partner's acquire
      smarm::detail::unpark(partner_id);
      while (turn.load(std::memory_order_acquire) != Turn::Root)  // pairs with partner's release
        smarm::detail::park(smarm::detail::WaitKind::Other, &turn);
      ++rounds;
    }
    turn.store(Turn::Stop, std::memory_order_release);
    smarm::detail::unpark(partner_id);
    if (auto j = partner.join(); !j) {
      failure = "join: " + j.error().message();
      return;
    }
    if (partner_moves.load(std::memory_order_relaxed) != rounds)
      failure = "partner moved " + std::to_string(partner_moves.load()) + " times in " +
                std::to_string(rounds) + " rounds";
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) {
    state.SkipWithError(failure.c_str());
    return;
  }
  state.counters["per_handoff"] = benchmark::Counter(
      2, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ParkUnpark)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime();

}  // namespace
