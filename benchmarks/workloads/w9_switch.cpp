// SPDX-License-Identifier: Apache-2.0
// w9_switch.cpp — W9 context switch, BENCHMARKS.md.
//
// Two actors (the root and one partner) yield to each other with smarm::yield_now(),
// 10,000,000 switches in all (5,000,000 yields each). Metric: ns per switch = elapsed /
// total yields, timed in the root from just before it spawns the partner to just after
// it has joined it (one spawn and one join against 10,000,000 switches).
//
// Result: the number of yields made (expected 10,000,000; each actor counts a yield just
// before making it). A yield that does not let
// the other actor run would make the figure meaningless, so the run also fails unless
// at least 99% of the yields were followed by progress of the other actor (each actor
// counts its own yields; after each yield it checks whether the other's count moved).
//
// In the same run, the bare switch (common/bare_switch.hpp: smarm_context_switch
// between two mmap'd stacks, no scheduler) makes as many switches on the main thread,
// outside the runtime: extra field bare= (ns per switch, median over the runs) and
// ratio= (W9 median / bare median). Smoke: 100,000 switches.
#include <atomic>
#include <cstdint>
#include <string>

#include <smarm/smarm.hpp>

#include "common/bare_switch.hpp"
#include "workloads.hpp"

namespace smarm::bench {
namespace {

// Counters of one yielding actor. Only its owner writes them; the other actor reads
// `yields` (relaxed: at T=1 both run on one thread, the switch orders everything).
struct Yielder {
  std::atomic<std::int64_t> yields{0};
  std::int64_t progressed = 0;  // yields after which the other's count had moved
  bool ok = true;
};

// yield_loop makes `count` yields, counting in `me` and watching `other`.
void yield_loop(Yielder& me, const Yielder& other, std::int64_t count) {
  for (std::int64_t i = 0; i < count; ++i) {
    me.yields.store(i + 1, std::memory_order_relaxed);  // counted before it happens
    const std::int64_t seen = other.yields.load(std::memory_order_relaxed);
    if (!yield_now()) {
      me.ok = false;
      return;
    }
    if (other.yields.load(std::memory_order_relaxed) != seen) ++me.progressed;
  }
}

Sample run_once(std::size_t threads, std::int64_t switches) {
  Sample s;
  const std::int64_t each = switches / 2;

  // The bare switch first, on this thread, the same number of switches.
  double bare_ns = 0;
  {
    BareSwitchPair pair;
    const auto t0 = Clock::now();
    pair.round_trips(static_cast<std::uint64_t>(each));  // 2 switches each
    bare_ns = seconds_since(t0) * 1e9 / static_cast<double>(2 * each);
  }

  double elapsed = 0;
  Yielder root;
  Yielder partner;
  auto r = runtime::init(bench_config(threads)).run([&] {
    const auto t0 = Clock::now();
    auto h = spawn([&] { yield_loop(partner, root, each); });
    yield_loop(root, partner, each);
    h.join().value();
    elapsed = seconds_since(t0);
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  const std::int64_t done = root.yields.load() + partner.yields.load();
  const std::int64_t progressed = root.progressed + partner.progressed;
  s.result = done;
  s.metric = elapsed * 1e9 / static_cast<double>(done > 0 ? done : 1);
  s.extra.push_back({"bare", bare_ns, 2});
  if (!root.ok || !partner.ok) {
    s.failure = "yield_now() returned an error";
  } else if (static_cast<double>(progressed) < 0.99 * static_cast<double>(done)) {
    s.failure = "only " + std::to_string(progressed) + " of " + std::to_string(done) +
                " yields let the other actor run";
  }
  return s;
}

}  // namespace

void run_w9_switch(Reporter& rep, std::size_t threads) {
  const std::int64_t switches = rep.smoke() ? 100'000 : 10'000'000;
  const std::vector<Case> cases{{"W9", "smarm", threads, "ns/switch", switches,
                                 [threads, switches] { return run_once(threads, switches); }}};
  auto summaries = rep.measure(cases);
  Summary& line = summaries[0];
  if (line.ok && !line.extra.empty() && line.extra[0].value > 0)
    line.extra.push_back({"ratio", line.metric / line.extra[0].value, 2});
  for (const Summary& s : summaries) rep.print(s);
}

}  // namespace smarm::bench
