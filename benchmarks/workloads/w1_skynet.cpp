// SPDX-License-Identifier: Apache-2.0
// w1_skynet.cpp — W1 skynet (spawn/join), BENCHMARKS.md.
//
// The root actor spawns 10 children; every child spawns 10, down to depth 6, so the last
// level holds 1,000,000 leaves (1,111,111 actors with the root). A leaf's value is its
// ordinal number; every parent spawns its 10 children first, then joins them in order
// and returns their sum through join(). Expected: 499999500000. Metric: wall time of the
// whole tree, in ms, measured inside the root actor (runtime start and stop excluded).
// Smoke: depth 3 (1,000 leaves, expected 499500).
#include <cstdint>
#include <string>

#include <smarm/smarm.hpp>

#include "workloads.hpp"

namespace smarm::bench {
namespace {

constexpr int kFanOut = 10;

// skynet returns the sum of the leaf ordinals num .. num+size-1, spawning a subtree of
// actors for it (size is a power of 10; size 1 is a leaf). Throws BadResultAccess if a
// child cannot be spawned or panics, which fails the root and so the run.
std::int64_t skynet(std::int64_t num, std::int64_t size) {
  if (size == 1) return num;
  const std::int64_t child_size = size / kFanOut;
  JoinHandle<std::int64_t> children[kFanOut];
  for (int i = 0; i < kFanOut; ++i)
    children[i] = spawn([num, child_size, i] { return skynet(num + i * child_size, child_size); });
  std::int64_t sum = 0;
  for (auto& child : children) sum += child.join().value();
  return sum;
}

// run_once builds the whole tree once on a fresh runtime of `threads` workers.
Sample run_once(std::size_t threads, std::int64_t leaves) {
  Sample s;
  double elapsed = 0;
  auto r = runtime::init(bench_config(threads)).run([&] {
    const auto t0 = Clock::now();
    const std::int64_t sum = skynet(0, leaves);
    elapsed = seconds_since(t0);
    return sum;
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  s.result = *r;
  s.metric = elapsed * 1e3;
  return s;
}

}  // namespace

void run_w1_skynet(Reporter& rep, std::size_t threads) {
  const int depth = rep.smoke() ? 3 : 6;
  std::int64_t leaves = 1;
  for (int i = 0; i < depth; ++i) leaves *= kFanOut;
  const std::vector<Case> cases{{"W1", "smarm", threads, "ms", leaves * (leaves - 1) / 2,
                                 [threads, leaves] { return run_once(threads, leaves); }}};
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace smarm::bench
