// SPDX-License-Identifier: Apache-2.0
// w5_pipeline.cpp — W5 pipeline (typed channels + combinators), BENCHMARKS.md.
//
// Two cases, run interleaved:
//   runtime=smarm-pipe   through the combinators:
//                          pipe::from(iota(0, n), {.capacity = 64}) | pipe::map(square_mod)
//                          | pipe::filter(is_even) | pipe::fold(0, plus)
//                        (source, map and filter are actors; the fold runs in the root)
//   runtime=smarm-chan   the same four actors written by hand on bounded_channel(64):
//                        a source actor, two stage actors, the root summing.
// Both have the same shape — three channel hops per item — so their ratio is what the
// combinators cost. The pipe line carries vs_chan= (its median / the hand-written one's).
// Metric: ns per source item, timed in the root from before the first spawn to after the
// sum (every actor joined). Smoke: 10,000 items.
#include <cstdint>
#include <string>
#include <vector>

#include <range/v3/view/iota.hpp>

#include <smarm/smarm.hpp>

#include "common/w5.hpp"
#include "workloads.hpp"

namespace smarm::bench {
namespace {

template <class Body>
Sample measure(std::size_t threads, std::int64_t n, Body body) {
  Sample s;
  double elapsed = 0;
  auto r = runtime::init(bench_config(threads)).run([&]() -> Result<std::int64_t> {
    const auto t0 = Clock::now();
    auto sum = body(n);
    elapsed = seconds_since(t0);
    return sum;
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
  } else if (!*r) {
    s.failure = "pipeline: " + r->error().message();
  } else {
    s.result = **r;
  }
  s.metric = elapsed * 1e9 / static_cast<double>(n);
  return s;
}

Result<std::int64_t> through_pipe(std::int64_t n) {
  // Lambdas, as users write them: a function pointer would be an indirect call per item.
  return pipe::from(ranges::views::iota(std::int64_t{0}, n), {.capacity = w5::kCapacity}) |
         pipe::map([](std::int64_t x) { return w5::square_mod(x); }) |
         pipe::filter([](std::int64_t x) { return w5::is_even(x); }) |
         pipe::fold(std::int64_t{0}, [](std::int64_t a, std::int64_t x) { return a + x; });
}

Result<std::int64_t> by_hand(std::int64_t n) {
  auto a = bounded_channel<std::int64_t>(w5::kCapacity);
  auto b = bounded_channel<std::int64_t>(w5::kCapacity);
  auto c = bounded_channel<std::int64_t>(w5::kCapacity);
  auto source = spawn([n, tx = std::move(a.tx)]() mutable {
    for (std::int64_t x = 0; x < n; ++x)
      if (!tx.send(x)) return;
  });
  auto map = spawn([rx = std::move(a.rx), tx = std::move(b.tx)]() mutable {
    while (auto v = rx.recv())
      if (!tx.send(w5::square_mod(*v))) return;
  });
  auto filter = spawn([rx = std::move(b.rx), tx = std::move(c.tx)]() mutable {
    while (auto v = rx.recv())
      if (w5::is_even(*v) && !tx.send(*v)) return;
  });
  std::int64_t sum = 0;
  while (auto v = c.rx.recv()) sum += *v;
  for (auto* h : {&source, &map, &filter})
    if (auto j = h->join(); !j) return j.error();
  return sum;
}

}  // namespace

void run_w5_pipeline(Reporter& rep, std::size_t threads) {
  const std::int64_t n = rep.smoke() ? w5::kSmokeItems : w5::kItems;
  const std::int64_t want = w5::expected(n);
  const std::vector<Case> cases{
      {"W5", "smarm-pipe", threads, "ns/item", want,
       [threads, n] { return measure(threads, n, through_pipe); }},
      {"W5", "smarm-chan", threads, "ns/item", want,
       [threads, n] { return measure(threads, n, by_hand); }},
  };
  auto summaries = rep.measure(cases);
  if (summaries[0].ok && summaries[1].ok)
    summaries[0].extra.push_back({"vs_chan", summaries[0].metric / summaries[1].metric, 3});
  for (const Summary& s : summaries) rep.print(s);
}

}  // namespace smarm::bench
