// SPDX-License-Identifier: Apache-2.0
// stats_test.cpp — smarm::stats() and Runtime::last_stats(): counts of events, never time.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using smarm::test::is_ok;

TEST(StatsTest, OutsideARuntimeStatsAreEmpty) {
  smarm::Stats s = smarm::stats();
  EXPECT_TRUE(s.workers.empty());
  EXPECT_EQ(s.actors_alive, 0u);
}

TEST(StatsTest, OneEntryPerWorker) {
  for (std::size_t n : {1u, 2u, 3u}) {
    auto r = smarm::test::run_on(n, [] { return smarm::stats().workers.size(); });
    ASSERT_TRUE(is_ok(r));
    EXPECT_EQ(*r, n);
  }
}

TEST(StatsTest, SpawnedCountsEveryActorAndAliveReturnsToZero) {
  static constexpr std::uint64_t kActors = 50;
  auto rt = smarm::runtime::init(smarm::Config::exact(2));
  auto r = rt.run([] {
    const smarm::Stats before = smarm::stats();
    std::vector<smarm::Sender<int>> gates;
    std::vector<smarm::JoinHandle<void>> hs;
    for (std::uint64_t i = 0; i < kActors; ++i) {
      auto [tx, rx] = smarm::channel<int>();
      gates.push_back(std::move(tx));
      hs.push_back(smarm::spawn([rx = std::move(rx)]() mutable { (void)rx.recv(); }));
    }
    const smarm::Stats during = smarm::stats();
    EXPECT_EQ(during.total().spawned - before.total().spawned, kActors);
    EXPECT_GE(during.actors_alive, kActors);  // plus the root, if it counts itself
    EXPECT_LE(during.actors_alive, kActors + 1);
    EXPECT_GE(during.stacks_in_use, kActors);
    gates.clear();
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    const smarm::Stats after = smarm::stats();
    EXPECT_LE(after.actors_alive, 1u);  // only the root may remain
    EXPECT_GE(after.total().exited - before.total().exited, kActors);
    return before.total().spawned;
  });
  ASSERT_TRUE(is_ok(r));
  const smarm::Stats& last = rt.last_stats();
  smarm::test::expect_no_leaks(last);
  EXPECT_EQ(last.workers.size(), 2u);
  EXPECT_EQ(last.total().spawned - *r, kActors);
  EXPECT_GE(last.total().exited, kActors);
}

TEST(StatsTest, ParkedActorsAreCounted) {
  auto r = smarm::test::run_on(1, [] {
    const std::uint64_t parks_before = smarm::stats().total().parks;
    std::vector<smarm::Sender<int>> gates;
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < 10; ++i) {
      auto [tx, rx] = smarm::channel<int>();
      gates.push_back(std::move(tx));
      hs.push_back(smarm::spawn([rx = std::move(rx)]() mutable { (void)rx.recv(); }));
    }
    const smarm::Stats s = smarm::stats();
    EXPECT_EQ(s.actors_parked, 10u);
    EXPECT_GE(s.total().parks - parks_before, 10u);
    gates.clear();
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    EXPECT_EQ(smarm::stats().actors_parked, 0u);
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(StatsTest, ContextSwitchesAdvanceWithYields) {
  constexpr std::uint64_t kYields = 200;
  auto r = smarm::test::run_on(1, [] {
    const std::uint64_t before = smarm::stats().total().context_switches;
    auto partner = smarm::spawn([] {
      for (std::uint64_t i = 0; i < kYields; ++i) (void)smarm::yield_now();
    });
    for (std::uint64_t i = 0; i < kYields; ++i) (void)smarm::yield_now();
    EXPECT_TRUE(is_ok(partner.join()));
    return smarm::stats().total().context_switches - before;
  });
  ASSERT_TRUE(is_ok(r));
  // Two actors taking turns on one worker: every yield is a switch away and one back.
  EXPECT_GE(*r, kYields);
}

TEST(StatsTest, IdleWorkerSleepsAndIsWokenBySpawn) {
  // On two workers with one busy actor, the other worker has nothing to do and must go to
  // sleep (counted, not timed); a later spawn or unpark wakes it.
  auto r = smarm::test::run_on(2, [] {
    bool slept = false;
    for (long i = 0; i < 10'000'000 && !slept; ++i) {
      const smarm::Stats s = smarm::stats();
      for (const auto& w : s.workers) slept = slept || w.idle_sleeps > 0;
      if (!slept) (void)smarm::yield_now();
    }
    EXPECT_TRUE(slept) << "no worker ever slept while it had nothing to do";
    // Wake the sleeper with work that parks and is woken from this actor.
    std::vector<smarm::JoinHandle<int>> hs;
    std::vector<smarm::Sender<int>> gates;
    for (int i = 0; i < 8; ++i) {
      auto [tx, rx] = smarm::channel<int>();
      gates.push_back(std::move(tx));
      hs.push_back(smarm::spawn([rx = std::move(rx)]() mutable { return rx.recv().value_or(0); }));
    }
    int sum = 0;
    for (int i = 0; i < 8; ++i) EXPECT_TRUE(is_ok(gates[static_cast<std::size_t>(i)].send(i)));
    for (auto& h : hs) sum += h.join().value_or(-100);
    EXPECT_EQ(sum, 28);
    return slept;
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(StatsTest, IdleSleepsAndWakeupsCountWhenFedFromAPlainThread) {
  // The root parks on a channel that a plain std::thread feeds; between messages the only
  // worker has nothing to run. The thread pauses before each send so that the worker has
  // gone to sleep by then (the pause is not asserted on; only the counters are).
  constexpr int kMessages = 20;
  auto rt = smarm::runtime::init(smarm::Config::exact(1));
  auto r = rt.run([] {
    auto [tx, rx] = smarm::channel<int>();
    std::thread feeder([tx = std::move(tx)]() mutable {
      for (int i = 1; i <= kMessages; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
        (void)tx.send(i);
      }
    });
    int sum = 0;
    while (auto v = rx.recv()) sum += *v;
    feeder.join();
    return sum;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, kMessages * (kMessages + 1) / 2);
  const auto total = rt.last_stats().total();
  EXPECT_GT(total.idle_sleeps, 0u);
  EXPECT_GT(total.idle_wakeups, 0u);
  EXPECT_LE(total.idle_wakeups, total.idle_sleeps);
  smarm::test::expect_no_leaks(rt.last_stats());
}

}  // namespace
