// SPDX-License-Identifier: Apache-2.0
// pid_test.cpp — Pid identity, formatting and staleness.
//
// A Pid names one occupant of one slot of one runtime. Once the actor ends, every
// operation on its Pid reports StalePid (or false from is_alive) and never touches the
// slot's next occupant, nor an actor of a later runtime.
#include <cstddef>
#include <unordered_set>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using smarm::Errc;
using smarm::Pid;
using smarm::test::has_errc;
using smarm::test::is_ok;

TEST(PidTest, ToStringIsErlangStyle) {
  EXPECT_EQ(smarm::to_string(Pid{1, 2, 3}), "<1.2.3>");
  EXPECT_EQ(smarm::to_string(Pid{4000000000u, 0, 17}), "<4000000000.0.17>");
}

TEST(PidTest, DefaultPidIsInvalid) {
  EXPECT_FALSE(Pid{}.valid());
  EXPECT_TRUE((Pid{1, 0, 0}.valid()));
  EXPECT_FALSE(smarm::is_alive(Pid{}));
}

TEST(PidTest, ComparisonAndHashUseAllThreeFields) {
  Pid a{1, 2, 3};
  EXPECT_EQ(a, (Pid{1, 2, 3}));
  EXPECT_NE(a, (Pid{1, 2, 4}));
  EXPECT_NE(a, (Pid{1, 3, 3}));
  EXPECT_NE(a, (Pid{2, 2, 3}));
  EXPECT_LT((Pid{1, 2, 3}), (Pid{1, 2, 4}));
  std::unordered_set<Pid> set{a, Pid{1, 2, 4}, Pid{2, 2, 3}, a};
  EXPECT_EQ(set.size(), 3u);
}

TEST(PidTest, SelfOutsideAnActorIsInvalid) { EXPECT_FALSE(smarm::self().valid()); }

TEST(PidTest, SelfInsideAnActorMatchesItsHandle) {
  auto r = smarm::test::run_on(2, [] {
    Pid root = smarm::self();
    EXPECT_TRUE(root.valid());
    EXPECT_TRUE(smarm::is_alive(root));
    auto h = smarm::spawn([] { return smarm::self(); });
    Pid child_pid = h.pid();
    auto seen = h.join();
    EXPECT_TRUE(is_ok(seen));
    EXPECT_EQ(*seen, child_pid);
    EXPECT_NE(child_pid, root);
    EXPECT_EQ(child_pid.runtime, root.runtime);
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(PidTest, LiveActorsHaveDistinctPids) {
  auto r = smarm::test::run_on(2, [] {
    std::vector<smarm::JoinHandle<void>> hs;
    std::vector<smarm::Sender<int>> gates;
    std::unordered_set<Pid> pids;
    for (int i = 0; i < 200; ++i) {
      auto [gtx, grx] = smarm::channel<int>();
      gates.push_back(std::move(gtx));
      hs.push_back(smarm::spawn([grx = std::move(grx)]() mutable { (void)grx.recv(); }));
      pids.insert(hs.back().pid());
    }
    EXPECT_EQ(pids.size(), 200u);
    gates.clear();  // every receiver wakes with Closed
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(PidTest, IsAliveUntilTheActorEnds) {
  auto r = smarm::test::run_on(2, [] {
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable { return rx.recv().value_or(-1); });
    Pid p = h.pid();
    EXPECT_TRUE(smarm::is_alive(p));  // parked in recv until we send
    EXPECT_TRUE(tx.send(5).has_value());
    auto v = h.join();
    EXPECT_TRUE(is_ok(v));
    EXPECT_EQ(v.value_or(0), 5);
    EXPECT_FALSE(smarm::is_alive(p));
    EXPECT_TRUE(has_errc(smarm::cancel(p), Errc::StalePid));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(PidTest, StalePidNeverReachesTheSlotsNextOccupant) {
  auto r = smarm::test::run_on(1, [] {
    // Many short-lived actors, so that slots are certainly reused.
    std::vector<Pid> old;
    for (int i = 0; i < 64; ++i) {
      auto h = smarm::spawn([] {});
      old.push_back(h.pid());
      EXPECT_TRUE(is_ok(h.join()));
    }
    // Now fill slots with parked actors and poke them through every old pid.
    std::vector<smarm::Sender<int>> gates;
    std::vector<smarm::JoinHandle<bool>> hs;
    for (int i = 0; i < 64; ++i) {
      auto [gtx, grx] = smarm::channel<int>();
      gates.push_back(std::move(gtx));
      hs.push_back(smarm::spawn([grx = std::move(grx)]() mutable {
        auto v = grx.recv();
        return v.has_value() && !smarm::cancelled();
      }));
    }
    bool reused = false;
    for (const auto& h : hs)
      for (const auto& p : old)
        if (p.index == h.pid().index) {
          reused = true;
          EXPECT_NE(p.generation, h.pid().generation);
        }
    EXPECT_TRUE(reused) << "no slot was reused: the test proves nothing";
    for (const auto& p : old) {
      EXPECT_FALSE(smarm::is_alive(p)) << smarm::to_string(p);
      EXPECT_TRUE(has_errc(smarm::cancel(p), Errc::StalePid)) << smarm::to_string(p);
    }
    for (auto& g : gates) EXPECT_TRUE(g.send(1).has_value());
    for (auto& h : hs) {
      auto v = h.join();
      EXPECT_TRUE(is_ok(v));
      EXPECT_TRUE(v.value_or(false)) << "a stale cancel reached a new occupant";
    }
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(PidTest, PidOfAPreviousRuntimeIsStaleInTheNext) {
  auto first = smarm::test::run_on(1, [] {
    auto h = smarm::spawn([] { return smarm::self(); });
    return std::make_pair(smarm::self(), h.join().value_or(Pid{}));
  });
  ASSERT_TRUE(is_ok(first));
  const auto [old_root, old_child] = *first;
  ASSERT_TRUE(old_root.valid());
  ASSERT_TRUE(old_child.valid());
  EXPECT_FALSE(smarm::is_alive(old_root));  // no runtime at all now

  auto second = smarm::test::run_on(1, [old_root = old_root, old_child = old_child] {
    // The same slots are most likely occupied again, by this runtime's actors.
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable {
      auto v = rx.recv();
      return v.has_value() && !smarm::cancelled();
    });
    EXPECT_NE(smarm::self().runtime, old_root.runtime);
    EXPECT_FALSE(smarm::is_alive(old_root));
    EXPECT_FALSE(smarm::is_alive(old_child));
    EXPECT_TRUE(has_errc(smarm::cancel(old_root), Errc::StalePid));
    EXPECT_TRUE(has_errc(smarm::cancel(old_child), Errc::StalePid));
    EXPECT_TRUE(tx.send(1).has_value());
    auto v = h.join();
    EXPECT_TRUE(is_ok(v));
    return v.value_or(false) && !smarm::cancelled();
  });
  ASSERT_TRUE(is_ok(second));
  EXPECT_TRUE(*second) << "a pid of the previous runtime cancelled an actor of this one";
}

TEST(PidTest, CancelOfAFinishedButUnjoinedActorIsStale) {
  auto r = smarm::test::run_on(1, [] {
    auto h = smarm::spawn([] { return 1; });  // runs first and ends at once
    while (!h.finished()) (void)smarm::yield_now();
    EXPECT_TRUE(has_errc(h.cancel(), Errc::StalePid));
    EXPECT_TRUE(has_errc(smarm::cancel(h.pid()), Errc::StalePid));
    return h.join().value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 1);
}

}  // namespace
