// SPDX-License-Identifier: Apache-2.0
// supervisor_test.cpp — Supervisor: each strategy, each Restart kind, the intensity cap,
// a cancelled supervisor, nested supervisors, bad specs; and join_all.
//
// Test children report to an event channel: "start <name> <run>" when a run starts, and
// "stop <name>" when a cancellation reached them. Exact event orders are checked on one
// worker, where child-first spawning makes them deterministic; on several workers the
// tests check counts. Every test ends (fixture) with no actor, timer or record left.
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::ChildSpec;
using smarm::Errc;
using smarm::Restart;
using smarm::Strategy;
using smarm::SupervisorSpec;
using smarm::test::has_errc;
using smarm::test::is_ok;

enum class Action { Wait, Panic, Return };

// child(name, events, plan, kind): a ChildSpec whose run number n (from 1) does plan(n):
// Wait blocks until cancelled, Panic throws std::runtime_error("<name> failed"), Return
// returns at once.
ChildSpec child(const std::string& name, const smarm::Sender<std::string>& events,
                std::function<Action(int)> plan, Restart kind = Restart::Permanent) {
  auto runs = std::make_shared<std::atomic<int>>(0);
  ChildSpec c;
  c.name = name;
  c.restart = kind;
  c.start = [name, events = smarm::Sender<std::string>(events), plan = std::move(plan),
             runs]() mutable {
    const int n = ++*runs;
    (void)events.send("start " + name + " " + std::to_string(n));
    switch (plan(n)) {
      case Action::Panic:
        throw std::runtime_error(name + " failed");
      case Action::Return:
        return;
      case Action::Wait:
        if (!smarm::sleep_for(24h)) (void)events.send("stop " + name);
        return;
    }
  };
  return c;
}

std::function<Action(int)> always(Action a) {
  return [a](int) { return a; };
}
// fails_first(k): panics on runs 1..k, then waits.
std::function<Action(int)> fails_first(int k) {
  return [k](int n) { return n <= k ? Action::Panic : Action::Wait; };
}

// next(rx, n) receives n events.
std::vector<std::string> next(smarm::Receiver<std::string>& rx, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(rx.recv().value_or("<error>"));
  return out;
}

using Events = std::vector<std::string>;

TEST(SupervisorTest, OneForOneRestartsOnlyTheChildThatFailed) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    SupervisorSpec spec{
        .strategy = Strategy::OneForOne,
        .intensity = 5,
        .period = 1h,
        .children = {child("a", tx, always(Action::Wait)), child("b", tx, fails_first(2)),
                     child("c", tx, always(Action::Wait))}};
    auto sup = smarm::spawn_supervisor(spec);
    EXPECT_EQ(next(rx, 5),
              (Events{"start a 1", "start b 1", "start c 1", "start b 2", "start b 3"}));
    EXPECT_TRUE(is_ok(sup.cancel()));
    // A cancelled supervisor stops its children newest first.
    EXPECT_EQ(next(rx, 3), (Events{"stop c", "stop b", "stop a"}));
    auto res = sup.join();
    ASSERT_TRUE(is_ok(res));
    EXPECT_TRUE(has_errc(*res, Errc::Cancelled));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, OneForAllStopsTheOthersNewestFirstAndRestartsAllInOrder) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    SupervisorSpec spec{
        .strategy = Strategy::OneForAll,
        .intensity = 5,
        .period = 1h,
        .children = {child("a", tx, always(Action::Wait)), child("b", tx, fails_first(1)),
                     child("c", tx, always(Action::Wait)),
                     child("t", tx, always(Action::Wait), Restart::Temporary)}};
    auto sup = smarm::spawn_supervisor(spec);
    // b fails in its first run, before c and t have started (one worker, child first).
    EXPECT_EQ(next(rx, 10), (Events{"start a 1", "start b 1", "start c 1", "start t 1", "stop t",
                                    "stop c", "stop a", "start a 2", "start b 2", "start c 2"}));
    // t was Temporary: stopped by the strategy, not restarted.
    EXPECT_TRUE(is_ok(sup.cancel()));
    EXPECT_EQ(next(rx, 3), (Events{"stop c", "stop b", "stop a"}));
    auto res = sup.join();
    ASSERT_TRUE(is_ok(res));
    EXPECT_TRUE(has_errc(*res, Errc::Cancelled));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, RestForOneRestartsTheChildAndTheOnesStartedAfterIt) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    auto [gate_tx, gate_rx] = smarm::channel<int>();
    // b fails on its first run only once released, so that c and d are running then.
    auto gate = std::make_shared<smarm::Receiver<int>>(std::move(gate_rx));
    ChildSpec b = child("b", tx, always(Action::Wait));
    auto runs = std::make_shared<int>(0);
    b.start = [events = tx, gate, runs]() mutable {
      (void)events.send("start b " + std::to_string(++*runs));
      if (*runs == 1) {
        (void)gate->recv();
        throw std::runtime_error("b failed");
      }
      if (!smarm::sleep_for(24h)) (void)events.send("stop b");
    };
    SupervisorSpec spec{
        .strategy = Strategy::RestForOne,
        .intensity = 5,
        .period = 1h,
        .children = {child("a", tx, always(Action::Wait)), b, child("c", tx, always(Action::Wait)),
                     child("d", tx, always(Action::Wait))}};
    auto sup = smarm::spawn_supervisor(spec);
    EXPECT_EQ(next(rx, 4), (Events{"start a 1", "start b 1", "start c 1", "start d 1"}));
    EXPECT_TRUE(is_ok(gate_tx.send(1)));
    EXPECT_EQ(next(rx, 5), (Events{"stop d", "stop c", "start b 2", "start c 2", "start d 2"}));
    EXPECT_TRUE(is_ok(sup.cancel()));
    EXPECT_EQ(next(rx, 4), (Events{"stop d", "stop c", "stop b", "stop a"}));
    auto res = sup.join();
    ASSERT_TRUE(is_ok(res));
    EXPECT_TRUE(has_errc(*res, Errc::Cancelled));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, RestartKindsDecideWhichEndsCallForARestart) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    // permanent: returns normally on run 1 (restarted anyway), then waits.
    // transient: panics on run 1 (restarted), returns normally on run 2 (final).
    // temporary: panics on run 1 (not restarted).
    SupervisorSpec spec{
        .strategy = Strategy::OneForOne,
        .intensity = 5,
        .period = 1h,
        .children = {
            child("perm", tx, [](int n) { return n == 1 ? Action::Return : Action::Wait; }),
            child(
                "trans", tx, [](int n) { return n == 1 ? Action::Panic : Action::Return; },
                Restart::Transient),
            child("temp", tx, always(Action::Panic), Restart::Temporary)}};
    auto sup = smarm::spawn_supervisor(spec);
    EXPECT_EQ(next(rx, 5), (Events{"start perm 1", "start trans 1", "start temp 1", "start perm 2",
                                   "start trans 2"}));
    // Only perm is still running; nothing else comes until we cancel.
    EXPECT_TRUE(has_errc(rx.try_recv(), Errc::WouldBlock));
    EXPECT_TRUE(is_ok(sup.cancel()));
    EXPECT_EQ(next(rx, 1), (Events{"stop perm"}));
    auto res = sup.join();
    ASSERT_TRUE(is_ok(res));
    EXPECT_TRUE(has_errc(*res, Errc::Cancelled));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, ReturnsOkWhenNoChildIsLeftRunning) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    SupervisorSpec spec{.children = {child("t1", tx, always(Action::Return), Restart::Transient),
                                     child("t2", tx, fails_first(1), Restart::Temporary)}};
    // Run in this very actor: it blocks until both are done.
    EXPECT_TRUE(is_ok(smarm::Supervisor::run(spec)));
    EXPECT_EQ(next(rx, 2), (Events{"start t1 1", "start t2 1"}));
    // The children's signals were consumed; the actor's channel is empty.
    EXPECT_TRUE(has_errc(smarm::signals().try_recv(), Errc::WouldBlock));
    EXPECT_TRUE(is_ok(smarm::Supervisor::run(SupervisorSpec{})));  // no children: Ok
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, IntensityExhaustionStopsEverythingAndNamesTheChild) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    SupervisorSpec spec{.strategy = Strategy::OneForOne,
                        .intensity = 2,
                        .period = 1h,
                        .children = {child("steady", tx, always(Action::Wait)),
                                     child("flaky", tx, always(Action::Panic))}};
    auto sup = smarm::spawn_supervisor(spec);
    auto res = sup.join();
    ASSERT_TRUE(is_ok(res));
    ASSERT_TRUE(has_errc(*res, Errc::RestartIntensity));
    const std::string msg = res->error().message();
    EXPECT_NE(msg.find("'flaky'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("panicked (std::runtime_error: flaky failed)"), std::string::npos) << msg;
    EXPECT_NE(msg.find("more than 2 restart(s)"), std::string::npos) << msg;
    // Two restarts allowed: three runs of flaky; then steady was stopped.
    EXPECT_EQ(next(rx, 5), (Events{"start steady 1", "start flaky 1", "start flaky 2",
                                   "start flaky 3", "stop steady"}));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, IntensityZeroGivesUpAtTheFirstRestart) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    SupervisorSpec spec{.intensity = 0, .children = {child("once", tx, always(Action::Return))}};
    auto res = smarm::Supervisor::run(spec);  // Permanent: even a normal end is a restart
    EXPECT_TRUE(has_errc(res, Errc::RestartIntensity));
    if (!res) {
      EXPECT_NE(res.error().message().find("'once' exited"), std::string::npos);
    }
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, RestartsOlderThanThePeriodNoLongerCount) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    // One restart per nanosecond allowed: consecutive runs are microseconds apart, so
    // each restart's window holds only itself and the cap is never reached.
    SupervisorSpec spec{
        .intensity = 1, .period = 1ns, .children = {child("slowly", tx, fails_first(5))}};
    auto sup = smarm::spawn_supervisor(spec);
    EXPECT_EQ(next(rx, 6).back(), "start slowly 6");
    EXPECT_TRUE(is_ok(sup.cancel()));
    EXPECT_EQ(next(rx, 1), (Events{"stop slowly"}));
    auto res = sup.join();
    ASSERT_TRUE(is_ok(res));
    EXPECT_TRUE(has_errc(*res, Errc::Cancelled));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, ChildTimeoutCountsAsAnAbnormalEnd) {
  auto r = smarm::test::run_on(2, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    ChildSpec slow = child("slow", tx, always(Action::Wait), Restart::Transient);
    slow.timeout = 5ms;
    SupervisorSpec spec{.intensity = 1, .period = 1h, .children = {slow}};
    auto res = smarm::Supervisor::run(spec);
    EXPECT_TRUE(has_errc(res, Errc::RestartIntensity));
    if (!res) {
      EXPECT_NE(res.error().message().find("'slow' timed out"), std::string::npos);
    }
    EXPECT_EQ(next(rx, 4), (Events{"start slow 1", "stop slow", "start slow 2", "stop slow"}));
    EXPECT_EQ(smarm::stats().timers_pending, 0u);
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, NestedSupervisorsEscalate) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    SupervisorSpec inner{
        .intensity = 1, .period = 1h, .children = {child("leaf", tx, always(Action::Panic))}};
    SupervisorSpec outer{.intensity = 1,
                         .period = 1h,
                         .children = {child("sibling", tx, always(Action::Wait)),
                                      smarm::supervisor_child("inner", inner)}};
    auto res = smarm::Supervisor::run(outer);
    ASSERT_TRUE(has_errc(res, Errc::RestartIntensity));
    const std::string msg = res.error().message();
    EXPECT_NE(msg.find("'inner' panicked (smarm::BadResultAccess: restart intensity exceeded: "
                       "child 'leaf' panicked"),
              std::string::npos)
        << msg;
    // The inner supervisor ran twice, its leaf twice per run; then the sibling was stopped.
    EXPECT_EQ(next(rx, 6), (Events{"start sibling 1", "start leaf 1", "start leaf 2",
                                   "start leaf 3", "start leaf 4", "stop sibling"}));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisorTest, CancelledSupervisorWaitsForChildrenOnEveryWorkerCount) {
  for (std::size_t workers : {1u, 2u, 4u}) {
    auto r = smarm::test::run_on(workers, [] {
      auto [tx, rx] = smarm::channel<std::string>();
      SupervisorSpec spec{.strategy = Strategy::OneForAll, .intensity = 100, .period = 1h};
      for (int i = 0; i < 8; ++i)
        spec.children.push_back(child(smarm::test::numbered("c", static_cast<std::size_t>(i)), tx,
                                      fails_first(i % 3 == 0 ? 1 : 0)));
      auto sup = smarm::spawn_supervisor(spec);
      // Cancel somewhere in the middle of the start-ups and restarts: wherever it lands,
      // every child is stopped and joined before the supervisor ends.
      for (int i = 0; i < 8; ++i) (void)rx.recv();
      EXPECT_TRUE(is_ok(sup.cancel()));
      auto res = sup.join();
      ASSERT_TRUE(is_ok(res));
      EXPECT_TRUE(has_errc(*res, Errc::Cancelled));
      EXPECT_EQ(smarm::stats().actors_alive, 1u);  // only this root: every child joined
    });
    EXPECT_TRUE(is_ok(r));
  }
}

TEST(SupervisorTest, BadSpecsAreRejectedBeforeAnythingStarts) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    EXPECT_TRUE(
        has_errc(smarm::Supervisor::run(SupervisorSpec{.intensity = -1}), Errc::InvalidArgument));
    EXPECT_TRUE(
        has_errc(smarm::Supervisor::run(SupervisorSpec{.period = 0s}), Errc::InvalidArgument));
    SupervisorSpec no_start{.children = {ChildSpec{.name = "x"}}};
    EXPECT_TRUE(has_errc(smarm::Supervisor::run(no_start), Errc::InvalidArgument));
    SupervisorSpec twins{
        .children = {child("x", tx, always(Action::Wait)), child("x", tx, always(Action::Wait))}};
    EXPECT_TRUE(has_errc(smarm::Supervisor::run(twins), Errc::InvalidArgument));
    EXPECT_TRUE(has_errc(rx.try_recv(), Errc::WouldBlock));  // nothing was started
  });
  EXPECT_TRUE(is_ok(r));
  EXPECT_TRUE(has_errc(smarm::Supervisor::run(SupervisorSpec{}), Errc::NotInActor));
}

// ---------------------------------------------------------------------------------------
// join_all

// --- Supervision at the resource limits (Config::max_actors, Config::max_stack_memory) ---
//
// On one worker the order is fixed: root, supervisor, a and b fill the limit exactly.

enum class Limit { Actors, StackMemory };

constexpr std::size_t kLimitStack = 64 * 1024;

smarm::Config four_actors_fit(Limit limit) {
  auto c = smarm::Config::exact(1).stack_size(kLimitStack);
  if (limit == Limit::Actors) return c.max_actors(4);
  return c.max_stack_memory(4 * kLimitStack);
}

class SupervisorLimitTest : public ::testing::TestWithParam<Limit> {};
INSTANTIATE_TEST_SUITE_P(Limits, SupervisorLimitTest,
                         ::testing::Values(Limit::Actors, Limit::StackMemory),
                         [](const ::testing::TestParamInfo<Limit>& p) {
                           return p.param == Limit::Actors ? "MaxActors" : "MaxStackMemory";
                         });

// A child's share is free again once the supervisor has joined it, which it does before
// restarting: a supervision tree that fills the limit exactly restarts as usual.
TEST_P(SupervisorLimitTest, RestartsAtExactlyTheLimit) {
  auto r = smarm::test::run_checked(four_actors_fit(GetParam()), [] {
    auto [tx, rx] = smarm::channel<std::string>();
    SupervisorSpec spec{
        .strategy = Strategy::OneForAll,
        .intensity = 5,
        .period = 1h,
        .children = {child("a", tx, always(Action::Wait)), child("b", tx, fails_first(3))}};
    auto sup = smarm::spawn_supervisor(spec);
    EXPECT_EQ(next(rx, 11),
              (Events{"start a 1", "start b 1", "stop a", "start a 2", "start b 2", "stop a",
                      "start a 3", "start b 3", "stop a", "start a 4", "start b 4"}));
    // Full: nothing else fits while the tree runs.
    EXPECT_TRUE(has_errc(smarm::try_spawn([] {}), Errc::ResourceExhausted));
    EXPECT_TRUE(is_ok(sup.cancel()));
    EXPECT_EQ(next(rx, 2), (Events{"stop b", "stop a"}));
    auto res = sup.join();
    EXPECT_TRUE(is_ok(res));
    if (res) {
      EXPECT_TRUE(has_errc(*res, Errc::Cancelled));
    }
  });
  EXPECT_TRUE(is_ok(r));
}

// Past the limit: b fails, and while the supervisor stops a (OneForAll), a spawns an
// unrelated actor that takes b's share. a's own restart fits, b's does not: run() gives up
// with the spawn's ResourceExhausted, naming b and the limit, and stops a again. Nothing
// is left behind, and once the squatter ended the runtime spawns again.
TEST_P(SupervisorLimitTest, ARestartPastTheLimitEndsTheSupervisorNamingTheChild) {
  const Limit limit = GetParam();
  auto r = smarm::test::run_checked(four_actors_fit(limit), [limit] {
    auto [tx, rx] = smarm::channel<std::string>();
    auto gate = smarm::channel<int>();  // not a structured binding: a lambda uses it
    std::optional<smarm::JoinHandle<int>> squatter;
    int a_runs = 0;
    ChildSpec a;
    a.name = "a";
    a.start = [&, events = smarm::Sender<std::string>(tx)]() mutable {
      const int run = ++a_runs;
      (void)events.send("start a " + std::to_string(run));
      if (smarm::sleep_for(24h)) return;
      (void)events.send("stop a");
      if (run != 1) return;
      // Stopped by the strategy: take the share b has just given back.
      auto h =
          smarm::try_spawn([rx = std::move(gate.rx)]() mutable { return rx.recv().value_or(-1); });
      (void)events.send(h ? "squatter started" : "squatter: " + h.error().message());
      if (h) squatter.emplace(std::move(*h));
    };
    SupervisorSpec spec{.strategy = Strategy::OneForAll,
                        .intensity = 5,
                        .period = 1h,
                        .children = {a, child("b", tx, fails_first(1))}};
    auto sup = smarm::spawn_supervisor(spec);
    EXPECT_EQ(next(rx, 6), (Events{"start a 1", "start b 1", "stop a", "squatter started",
                                   "start a 2", "stop a"}));
    auto res = sup.join();
    EXPECT_TRUE(is_ok(res));
    if (res) {
      EXPECT_TRUE(has_errc(*res, Errc::ResourceExhausted));
      if (!*res) {
        const std::string m = res->error().message();
        EXPECT_NE(m.find("child 'b'"), std::string::npos) << m;
        EXPECT_NE(m.find(limit == Limit::Actors ? "max_actors = 4" : "max_stack_memory"),
                  std::string::npos)
            << m;
      }
    }
    EXPECT_FALSE(rx.try_recv().has_value()) << "b must not have started a second time";
    // Only the root and the squatter are left; once it ended, spawning works again.
    EXPECT_EQ(smarm::stats().actors_alive, 2u);
    EXPECT_TRUE(squatter.has_value());
    if (!squatter) return;
    EXPECT_TRUE(is_ok(gate.tx.send(7)));
    auto s = squatter->join();
    EXPECT_TRUE(is_ok(s));
    if (s) {
      EXPECT_EQ(*s, 7);
    }
    auto again = smarm::try_spawn([] { return 3; });
    EXPECT_TRUE(is_ok(again));
    if (again) {
      EXPECT_EQ(again->join().value_or(0), 3);
    }
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(JoinAllTest, JoinsEveryHandleAndKeepsEveryResult) {
  for (std::size_t workers : {1u, 2u, 4u}) {
    auto r = smarm::test::run_on(workers, [] {
      std::vector<smarm::JoinHandle<int>> hs;
      for (int i = 0; i < 10; ++i)
        hs.push_back(smarm::spawn([i] {
          if (i == 3) throw std::runtime_error("three");
          return i * i;
        }));
      auto rs = smarm::join_all(hs);
      EXPECT_EQ(rs.size(), 10u);
      for (int i = 0; i < 10; ++i) {
        if (i == 3) {
          EXPECT_TRUE(has_errc(rs[3], Errc::Panicked));
        } else {
          EXPECT_EQ(rs[static_cast<std::size_t>(i)].value_or(-1), i * i);
        }
      }
      // Joined now: a second join_all says so for each.
      for (auto& again : smarm::join_all(hs)) EXPECT_TRUE(has_errc(again, Errc::AlreadyJoined));
    });
    EXPECT_TRUE(is_ok(r));
  }
}

TEST(JoinAllTest, VariadicFormTakesMixedTypes) {
  auto r = smarm::test::run_on(2, [] {
    auto a = smarm::spawn([] { return 1; });
    auto b = smarm::spawn([] { return std::string("two"); });
    auto c = smarm::spawn([] {});
    auto [ra, rb, rc] = smarm::join_all(a, b, c);
    EXPECT_EQ(ra.value_or(0), 1);
    EXPECT_EQ(rb.value_or(""), "two");
    EXPECT_TRUE(is_ok(rc));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(JoinAllTest, CancelledCallerGetsCancelledAndHandlesStayJoinable) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<int>();
    auto joiner = smarm::spawn([rx = std::move(rx)]() mutable {
      std::vector<smarm::JoinHandle<int>> hs;
      auto shared = std::make_shared<smarm::Receiver<int>>(std::move(rx));
      hs.push_back(smarm::spawn([shared] { return shared->recv().value_or(-1); }));
      hs.push_back(smarm::spawn([] { return 2; }));
      auto rs = smarm::join_all(hs);  // parks on the first; cancelled there
      bool all_cancelled = true;
      for (auto& x : rs) all_cancelled = all_cancelled && has_errc(x, Errc::Cancelled);
      bool joinable = hs[0].joinable() && hs[1].joinable();
      for (auto& h : hs) (void)h.cancel();
      return all_cancelled && joinable;
    });
    (void)smarm::yield_now();
    EXPECT_TRUE(is_ok(joiner.cancel()));
    EXPECT_TRUE(joiner.join().value_or(false));
    (void)tx;
  });
  EXPECT_TRUE(is_ok(r));
  // Outside an actor: spawn() gives handles whose join() is NotInActor, and so is each result.
  std::vector<smarm::JoinHandle<int>> outside;
  outside.push_back(smarm::spawn([] { return 1; }));
  auto rs = smarm::join_all(outside);
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_TRUE(has_errc(rs[0], Errc::NotInActor));
}

}  // namespace
