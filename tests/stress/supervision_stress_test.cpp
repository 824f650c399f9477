// SPDX-License-Identifier: Apache-2.0
// supervision_stress_test.cpp — monitors, demonitors, deadlines and watcher exits racing
// their targets' ends on several workers.
//
// The property under test: every monitor has exactly one outcome. A monitor that
// succeeded brings exactly one signal (unless a demonitor returned Ok: then none); one
// that failed with StalePid brings none. Deadlines racing a normal end give exactly one
// signal, Exit or Timeout. Watchers that end while their targets end leave nothing behind
// (the fixture checks records and timers). Sizes follow the test profile.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::test::has_errc;
using smarm::test::is_ok;

// What one watcher saw.
struct Tally {
  std::uint64_t monitored = 0;  // monitor() succeeded and no demonitor took it back
  std::uint64_t stale = 0;      // monitor() said StalePid
  std::uint64_t withdrawn = 0;  // demonitor() said Ok
  std::uint64_t wrong = 0;      // a broken promise (counted, then reported by the test)
};

// Target: ends after a few yields (how many depends on i), so ends land all over the
// monitor calls of the watchers.
auto target(int i) {
  return [i] {
    for (int k = 0; k < i % 7; ++k) (void)smarm::yield_now();
  };
}

TEST(SupervisionStressTest, MonitorRacingTheTargetsEndHasExactlyOneOutcome) {
  int targets = smarm::test::scaled(20'000, 3'000, 1'000);
  constexpr int kWatchers = 3;
  for (std::size_t workers : {2u, 4u}) {
    auto r = smarm::test::run_on(workers, [targets] {
      std::vector<smarm::Sender<smarm::Pid>> to_watchers;
      std::vector<smarm::JoinHandle<Tally>> watchers;
      for (int w = 0; w < kWatchers; ++w) {
        auto [tx, rx] = smarm::channel<smarm::Pid>();
        to_watchers.push_back(std::move(tx));
        watchers.push_back(smarm::spawn([w, rx = std::move(rx)]() mutable {
          Tally t;
          std::unordered_map<std::uint64_t, int> expected;  // pid key -> signals due
          auto key = [](const smarm::Pid& p) {
            return (std::uint64_t{p.index} << 32) | p.generation;
          };
          for (int n = 0;; ++n) {
            auto pid = rx.recv();
            if (!pid) break;  // the root closed the channel: every target has ended
            auto m = smarm::monitor(*pid);
            if (!m) {
              if (m.error().code() == Errc::StalePid)
                ++t.stale;
              else
                ++t.wrong;
              continue;
            }
            if ((n + w) % 4 == 0) {  // take some back at once, racing the end again
              auto d = smarm::demonitor(*m);
              if (d) {
                ++t.withdrawn;
                continue;
              }
              if (d.error().code() != Errc::StalePid) ++t.wrong;
            }
            ++t.monitored;
            ++expected[key(*pid)];
          }
          // Every target was joined before the channel closed, and a signal is queued
          // before join() returns: all signals are here now.
          for (;;) {
            auto s = smarm::signals().try_recv();
            if (!s) break;
            auto it = expected.find(key(s->pid()));
            if (it == expected.end() || it->second == 0)
              ++t.wrong;  // a signal nobody was promised
            else
              --it->second;
          }
          for (auto& [k, left] : expected)
            if (left != 0) ++t.wrong;  // a promised signal that never came
          return t;
        }));
      }
      std::vector<smarm::JoinHandle<void>> batch;
      for (int i = 0; i < targets; ++i) {
        batch.push_back(smarm::spawn(target(i)));
        for (auto& tx : to_watchers) EXPECT_TRUE(is_ok(tx.send(batch.back().pid())));
        if (batch.size() == 64) {
          for (auto& h : batch) EXPECT_TRUE(is_ok(h.join()));
          batch.clear();
        }
      }
      for (auto& h : batch) EXPECT_TRUE(is_ok(h.join()));
      to_watchers.clear();
      Tally total;
      for (auto& h : watchers) {
        auto t = h.join();
        EXPECT_TRUE(is_ok(t));
        if (!t) continue;
        total.monitored += t->monitored;
        total.stale += t->stale;
        total.withdrawn += t->withdrawn;
        total.wrong += t->wrong;
      }
      return total;
    });
    ASSERT_TRUE(is_ok(r));
    EXPECT_EQ(r->wrong, 0u);
    EXPECT_EQ(r->monitored + r->stale + r->withdrawn,
              static_cast<std::uint64_t>(targets) * kWatchers);
  }
}

TEST(SupervisionStressTest, DeadlinesRacingNormalEndsGiveOneSignalEach) {
  int children = smarm::test::scaled(20'000, 3'000, 1'000);
  for (std::size_t workers : {1u, 2u, 4u}) {
    auto r = smarm::test::run_on(workers, [children] {
      std::uint64_t exits = 0, timeouts = 0, other = 0;
      std::vector<smarm::JoinHandle<void>> batch;
      auto drain = [&](std::size_t n) {
        for (std::size_t k = 0; k < n; ++k) {
          auto s = smarm::signals().recv();
          if (!s)
            ++other;
          else if (std::holds_alternative<smarm::Signal::Exit>(s->event))
            ++exits;
          else if (std::holds_alternative<smarm::Signal::Timeout>(s->event))
            ++timeouts;
          else
            ++other;
        }
        for (auto& h : batch) (void)h.join();
        batch.clear();
      };
      for (int i = 0; i < children; ++i) {
        smarm::SpawnOptions o;
        o.deadline = smarm::Clock::now() + std::chrono::microseconds(i % 50);
        batch.push_back(smarm::spawn_linked(o, target(i)));
        if (batch.size() == 64) drain(64);
      }
      drain(batch.size());
      EXPECT_TRUE(has_errc(smarm::signals().try_recv(), Errc::WouldBlock));
      EXPECT_EQ(smarm::stats().timers_pending, 0u);
      EXPECT_EQ(other, 0u);
      return exits + timeouts;
    });
    ASSERT_TRUE(is_ok(r));
    EXPECT_EQ(*r, static_cast<std::uint64_t>(children));
  }
}

TEST(SupervisionStressTest, WatchersEndingWithTheirTargetsLeaveNothingBehind) {
  int rounds = smarm::test::scaled(2'000, 300, 100);
  for (std::size_t workers : {2u, 4u}) {
    auto r = smarm::test::run_on(workers, [rounds] {
      for (int i = 0; i < rounds; ++i) {
        // Four targets, and four watchers that each monitor all of them and end after a
        // few yields, while the targets end after a few yields of their own.
        std::vector<smarm::JoinHandle<void>> hs;
        std::vector<smarm::Pid> pids;
        for (int k = 0; k < 4; ++k) {
          hs.push_back(smarm::spawn(target(i + k)));
          pids.push_back(hs.back().pid());
        }
        for (int k = 0; k < 4; ++k) {
          hs.push_back(smarm::spawn([pids, k, i] {
            for (const auto& p : pids) (void)smarm::monitor(p);
            for (int y = 0; y < (i + k) % 5; ++y) (void)smarm::yield_now();
            if (k == 0) (void)smarm::signals().try_recv();
          }));
        }
        for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
      }
    });
    EXPECT_TRUE(is_ok(r));  // the fixture: no record, no timer left
  }
}

}  // namespace
