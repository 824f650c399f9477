// SPDX-License-Identifier: Apache-2.0
// parked_million_test.cpp — 1,000,000 actors parked at once, each on its own channel.
//
// Release builds only (the full profile): with 16 KiB stacks committed lazily this needs
// a few GiB and must stay under vm.max_map_count, which only a guard that costs no mapping
// (MADV_GUARD_INSTALL) allows. Every actor is then sent its index, joined, and the sum of
// what they received is checked.
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using smarm::test::is_ok;

TEST(ParkedMillionTest, OneMillionActorsParkedAtOnce) {
  if (!smarm::test::kFullProfile)
    GTEST_SKIP() << "runs in the full (release) profile only; this is "
                 << smarm::test::kProfileName;
  constexpr std::size_t kActors = 1'000'000;
  struct Outcome {
    std::size_t spawned = 0;
    std::uint64_t parked_peak = 0;
    std::uint64_t sum = 0;
    std::size_t joined = 0;
  };
  auto r = smarm::test::run_checked(smarm::Config::exact(1).stack_size(16 * 1024), [] {
    Outcome o;
    std::vector<smarm::Sender<std::uint64_t>> gates;
    std::vector<smarm::JoinHandle<std::uint64_t>> hs;
    gates.reserve(kActors);
    hs.reserve(kActors);
    for (std::size_t i = 0; i < kActors; ++i) {
      auto [tx, rx] = smarm::channel<std::uint64_t>();
      auto h =
          smarm::try_spawn([rx = std::move(rx)]() mutable { return rx.recv().value_or(0) + 1; });
      if (!h) {
        ADD_FAILURE() << "spawn #" << i << " failed: " << smarm::test::describe(h);
        break;
      }
      gates.push_back(std::move(tx));
      hs.push_back(std::move(*h));
    }
    o.spawned = hs.size();
    o.parked_peak = smarm::stats().actors_parked;
    for (std::size_t i = 0; i < gates.size(); ++i) (void)gates[i].send(i);
    for (auto& h : hs) {
      auto v = h.join();
      if (v) {
        o.sum += *v;
        ++o.joined;
      }
    }
    return o;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r->spawned, kActors);
  EXPECT_EQ(r->parked_peak, kActors);
  EXPECT_EQ(r->joined, kActors);
  // Each returned its index + 1: 1 + 2 + ... + kActors.
  EXPECT_EQ(r->sum, std::uint64_t{kActors} * (kActors + 1) / 2);
}

}  // namespace
