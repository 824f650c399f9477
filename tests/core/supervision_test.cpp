// SPDX-License-Identifier: Apache-2.0
// supervision_test.cpp — signals(), spawn_linked, monitor/demonitor and deadlines.
//
// Contract (signal.hpp): an actor hears of another's end only if it asked (spawn_linked,
// monitor); each end reaches each watcher once, as Exit, Panic (type and what) or Timeout
// (its deadline cancelled it), queued before join() returns. A monitor of an ended actor
// is StalePid and brings no signal. A signal to a watcher that has ended is dropped and
// nothing is left behind: every test ends (fixture) with no supervision record and no
// timer pending.
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::Signal;
using smarm::test::errc_or_ok;
using smarm::test::has_errc;
using smarm::test::is_ok;

class SupervisionTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(SupervisionTest);

// What one received signal said, reduced to values gtest can compare.
struct Seen {
  std::string kind;  // "exit", "panic", "timeout", or the error's code name
  smarm::Pid pid;
  std::string type, what;
};

Seen describe(const smarm::Result<Signal>& r) {
  if (!r) return Seen{smarm::errc_name(r.error().code()), {}, {}, {}};
  Seen s;
  s.pid = r->pid();
  if (std::holds_alternative<Signal::Exit>(r->event)) {
    s.kind = "exit";
  } else if (auto* p = std::get_if<Signal::Panic>(&r->event)) {
    s.kind = "panic";
    s.type = p->type;
    s.what = p->what;
  } else {
    s.kind = "timeout";
  }
  return s;
}

Seen next_signal() { return describe(smarm::signals().recv()); }
// nothing_queued: no signal waits in the caller's channel (never parks).
bool nothing_queued() { return has_errc(smarm::signals().try_recv(), Errc::WouldBlock); }

struct CustomError : std::exception {
  const char* what() const noexcept override { return "custom what"; }
};

TEST_P(SupervisionTest, LinkedChildThatReturnsSendsExit) {
  auto r = run([] {
    auto h = smarm::spawn_linked([] { return 7; });
    const smarm::Pid child = h.pid();
    EXPECT_EQ(h.join().value_or(0), 7);
    Seen s = next_signal();
    EXPECT_EQ(s.kind, "exit");
    EXPECT_EQ(s.pid, child);
    EXPECT_TRUE(nothing_queued());  // one end, one signal
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, PanicsCarryTypeAndWhat) {
  auto r = run([] {
    auto a = smarm::spawn_linked([] { throw std::runtime_error("boom"); });
    auto b = smarm::spawn_linked([] { throw CustomError{}; });
    auto c = smarm::spawn_linked([] { throw 42; });
    std::vector<Seen> seen;
    for (int i = 0; i < 3; ++i) seen.push_back(next_signal());
    auto find = [&](const smarm::Pid& p) {
      for (const auto& s : seen)
        if (s.pid == p) return s;
      return Seen{};
    };
    Seen sa = find(a.pid()), sb = find(b.pid()), sc = find(c.pid());
    EXPECT_EQ(sa.kind, "panic");
    EXPECT_EQ(sa.type, "std::runtime_error");
    EXPECT_EQ(sa.what, "boom");
    EXPECT_EQ(sb.kind, "panic");
    EXPECT_NE(sb.type.find("CustomError"), std::string::npos) << sb.type;
    EXPECT_EQ(sb.what, "custom what");
    EXPECT_EQ(sc.kind, "panic");
    EXPECT_EQ(sc.type, "int");
    EXPECT_EQ(sc.what, "(not derived from std::exception)");
    // join() still reports the same panic as one message.
    auto ja = a.join();
    EXPECT_TRUE(has_errc(ja, Errc::Panicked));
    if (!ja) {
      EXPECT_EQ(ja.error().message(), "std::runtime_error: boom");
    }
    (void)b.join();
    (void)c.join();
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, SignalIsQueuedBeforeJoinReturns) {
  auto r = run([] {
    for (int i = 0; i < 50; ++i) {
      auto h = smarm::spawn_linked([] { (void)smarm::yield_now(); });
      EXPECT_TRUE(is_ok(h.join()));
      auto s = smarm::signals().try_recv();  // never parks: it must be there already
      EXPECT_TRUE(is_ok(s));
      if (s) {
        EXPECT_EQ(s->pid(), h.pid());
      }
    }
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, ActorsThatDidNotAskGetNothing) {
  auto r = run([] {
    auto h = smarm::spawn([] { throw std::runtime_error("unwatched"); });
    EXPECT_TRUE(has_errc(h.join(), Errc::Panicked));
    // Neither the parent nor the child took part in supervision: no record exists.
    EXPECT_EQ(smarm::stats().supervision_records, 0u);
    EXPECT_TRUE(nothing_queued());  // asking now makes a channel, and it is empty
    EXPECT_EQ(smarm::stats().supervision_records, 1u);
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, MonitorDeliversTheEndOfARunningActor) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable { return rx.recv().value_or(-1); });
    auto m = smarm::monitor(h.pid());
    EXPECT_TRUE(is_ok(m));
    if (m) {
      EXPECT_EQ(m->target, h.pid());
    }
    EXPECT_TRUE(nothing_queued());
    EXPECT_TRUE(is_ok(tx.send(5)));
    Seen s = next_signal();
    EXPECT_EQ(s.kind, "exit");
    EXPECT_EQ(s.pid, h.pid());
    EXPECT_FALSE(smarm::is_alive(h.pid()));  // a signal means the pid is stale
    EXPECT_EQ(h.join().value_or(0), 5);
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, EachMonitorGivesItsOwnSignal) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn_linked([rx = std::move(rx)]() mutable { (void)rx.recv(); });
    auto m1 = smarm::monitor(h.pid());
    auto m2 = smarm::monitor(h.pid());
    EXPECT_TRUE(is_ok(m1));
    EXPECT_TRUE(is_ok(m2));
    if (m1 && m2) {
      EXPECT_NE(m1->id, m2->id);
    }
    tx.close();
    for (int i = 0; i < 3; ++i) EXPECT_EQ(next_signal().pid, h.pid());  // link + 2 monitors
    EXPECT_TRUE(nothing_queued());
    EXPECT_TRUE(is_ok(h.join()));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, MonitorOfAStalePidFailsAndBringsNoSignal) {
  auto r = run([] {
    auto h = smarm::spawn([] {});
    EXPECT_TRUE(is_ok(h.join()));
    EXPECT_TRUE(has_errc(smarm::monitor(h.pid()), Errc::StalePid));
    // The slot is reused by the next actor: the old pid still names no one.
    auto [tx, rx] = smarm::channel<int>();
    auto next = smarm::spawn([rx = std::move(rx)]() mutable { (void)rx.recv(); });
    EXPECT_TRUE(has_errc(smarm::monitor(h.pid()), Errc::StalePid));
    tx.close();
    EXPECT_TRUE(is_ok(next.join()));
    EXPECT_TRUE(nothing_queued());
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, MonitorRejectsBadPids) {
  smarm::Pid earlier;
  auto first = run([&earlier] {
    earlier = smarm::spawn([] {}).pid();
    return 0;
  });
  ASSERT_TRUE(is_ok(first));
  auto r = run([earlier] {
    EXPECT_TRUE(has_errc(smarm::monitor(smarm::self()), Errc::InvalidArgument));
    EXPECT_TRUE(has_errc(smarm::monitor(smarm::Pid{}), Errc::InvalidArgument));
    // A pid of a runtime that has ended is simply stale.
    EXPECT_TRUE(has_errc(smarm::monitor(earlier), Errc::StalePid));
    EXPECT_TRUE(has_errc(smarm::demonitor(smarm::MonitorRef{}), Errc::InvalidArgument));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(SupervisionOutsideActors, CallsReportNotInActor) {
  EXPECT_TRUE(has_errc(smarm::monitor(smarm::Pid{1, 0, 1}), Errc::NotInActor));
  EXPECT_TRUE(has_errc(smarm::demonitor(smarm::MonitorRef{}), Errc::NotInActor));
  // signals() outside an actor is an empty receiver: a clear error, never a hang.
  EXPECT_TRUE(has_errc(smarm::signals().recv(), Errc::NotInActor));
  EXPECT_TRUE(has_errc(smarm::signals().try_recv(), Errc::Closed));
  EXPECT_TRUE(has_errc(smarm::spawn_linked([] {}).join(), Errc::NotInActor));
  EXPECT_TRUE(has_errc(smarm::try_spawn_linked([] {}), Errc::NotInActor));
}

TEST_P(SupervisionTest, DemonitorStopsTheSignal) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable { (void)rx.recv(); });
    auto m = smarm::monitor(h.pid());
    ASSERT_TRUE(is_ok(m));
    EXPECT_TRUE(is_ok(smarm::demonitor(*m)));
    EXPECT_TRUE(has_errc(smarm::demonitor(*m), Errc::InvalidArgument));  // already removed
    tx.close();
    EXPECT_TRUE(is_ok(h.join()));
    EXPECT_TRUE(nothing_queued());
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, DemonitorAfterTheEndIsStaleAndTheSignalStays) {
  auto r = run([] {
    auto h = smarm::spawn([] {});
    auto [tx, rx] = smarm::channel<int>();
    auto waiter = smarm::spawn([rx = std::move(rx)]() mutable { (void)rx.recv(); });
    auto m = smarm::monitor(waiter.pid());
    ASSERT_TRUE(is_ok(m));
    tx.close();
    EXPECT_TRUE(is_ok(waiter.join()));
    EXPECT_TRUE(has_errc(smarm::demonitor(*m), Errc::StalePid));
    EXPECT_EQ(next_signal().pid, waiter.pid());
    EXPECT_TRUE(is_ok(h.join()));
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, WatcherThatEndsFirstLeavesNothingBehind) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto target = smarm::spawn([rx = std::move(rx)]() mutable { (void)rx.recv(); });
    const smarm::Pid t = target.pid();
    // The watcher monitors the target, asks for its signals, and ends first.
    auto watcher = smarm::spawn([t] {
      EXPECT_TRUE(is_ok(smarm::monitor(t)));
      EXPECT_TRUE(is_ok(smarm::monitor(t)));
      return smarm::stats().supervision_records;
    });
    EXPECT_EQ(watcher.join().value_or(0), 2u);  // the watcher's and the target's
    // The watcher's end took its entries out of the target (the target's record stays
    // until it ends) and freed its own record and channel.
    EXPECT_EQ(smarm::stats().supervision_records, 1u);
    // A linked parent that ends before its child: the child's signal is dropped.
    auto [tx2, rx2] = smarm::channel<int>();
    auto parent = smarm::spawn([rx2 = std::move(rx2)]() mutable {
      auto child = smarm::spawn_linked([rx2 = std::move(rx2)]() mutable { (void)rx2.recv(); });
      child.detach();
    });
    EXPECT_TRUE(is_ok(parent.join()));
    tx.close();
    tx2.close();
    EXPECT_TRUE(is_ok(target.join()));
  });
  EXPECT_TRUE(is_ok(r));  // the fixture checks that every record is gone
}

TEST_P(SupervisionTest, CancelledLinkedChildSendsExitOrPanicAsItEnded) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto quiet = smarm::spawn_linked([rx = std::move(rx)]() mutable {
      return errc_or_ok(rx.recv());  // returns the Cancelled error as a value
    });
    auto [tx2, rx2] = smarm::channel<int>();
    auto loud = smarm::spawn_linked([rx2 = std::move(rx2)]() mutable {
      return rx2.recv().value();  // throws BadResultAccess(Cancelled)
    });
    EXPECT_TRUE(is_ok(quiet.cancel()));
    Seen s = next_signal();
    EXPECT_EQ(s.kind, "exit");
    EXPECT_EQ(s.pid, quiet.pid());
    EXPECT_EQ(quiet.join().value_or(Errc{}), Errc::Cancelled);
    EXPECT_TRUE(is_ok(loud.cancel()));
    s = next_signal();
    EXPECT_EQ(s.kind, "panic");
    EXPECT_EQ(s.type, "smarm::BadResultAccess");
    (void)loud.join();
    (void)tx;
    (void)tx2;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, DeadlineCancelsTheChildAndSendsTimeout) {
  auto r = run([] {
    smarm::SpawnOptions o;
    o.deadline = smarm::Clock::now() + 20ms;
    auto h = smarm::spawn_linked(o, [] { return errc_or_ok(smarm::sleep_for(1h)); });
    Seen s = next_signal();
    EXPECT_EQ(s.kind, "timeout");
    EXPECT_EQ(s.pid, h.pid());
    EXPECT_EQ(h.join().value_or(Errc{}), Errc::Cancelled);
    EXPECT_EQ(smarm::stats().timers_pending, 0u);
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, DeadlineThatHasPassedCancelsBeforeTheFirstRun) {
  auto r = run([] {
    smarm::SpawnOptions o;
    o.deadline = smarm::Clock::now() - 1ms;
    auto h = smarm::spawn_linked(o, [] { return smarm::cancelled(); });
    EXPECT_TRUE(h.join().value_or(false));
    EXPECT_EQ(next_signal().kind, "timeout");
    EXPECT_EQ(smarm::stats().timers_pending, 0u);
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, ChildThatBeatsItsDeadlineSendsExitAndLeavesNoTimer) {
  auto r = run([] {
    for (int i = 0; i < 20; ++i) {
      smarm::SpawnOptions o;
      o.deadline = smarm::Clock::now() + 1h;
      auto h = smarm::spawn_linked(o, [] { (void)smarm::yield_now(); });
      EXPECT_TRUE(is_ok(h.join()));
      EXPECT_EQ(next_signal().kind, "exit");
      EXPECT_EQ(smarm::stats().timers_pending, 0u);
    }
    // Deadline::max() and Deadline{} mean "none": no timer, no record.
    smarm::SpawnOptions none;
    none.deadline = smarm::Deadline::max();
    EXPECT_TRUE(is_ok(smarm::spawn(none, [] {}).join()));
    EXPECT_EQ(smarm::stats().supervision_records, 1u);  // the root's own
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, DeadlineWithoutWatcherStillCancels) {
  auto r = run([] {
    smarm::SpawnOptions o;
    o.deadline = smarm::Clock::now() + 10ms;
    auto h = smarm::spawn(o, [] {
      auto [tx, rx] = smarm::channel<int>();
      return errc_or_ok(rx.recv());  // would wait forever: tx is alive
    });
    EXPECT_EQ(h.join().value_or(Errc{}), Errc::Cancelled);
    EXPECT_EQ(smarm::stats().supervision_records, 0u);
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, SignalsArriveFromEveryWorker) {
  auto r = run([] {
    constexpr int kChildren = 64;
    std::vector<smarm::JoinHandle<int>> hs;
    for (int i = 0; i < kChildren; ++i)
      hs.push_back(smarm::spawn_linked([i] {
        for (int k = 0; k < i % 4; ++k) (void)smarm::yield_now();
        if (i % 3 == 0) throw std::logic_error(std::to_string(i));
        return i;
      }));
    int exits = 0, panics = 0;
    for (int i = 0; i < kChildren; ++i) {
      Seen s = next_signal();
      if (s.kind == "exit") ++exits;
      if (s.kind == "panic") {
        ++panics;
        EXPECT_EQ(s.type, "std::logic_error");
      }
    }
    EXPECT_EQ(panics, (kChildren + 2) / 3);
    EXPECT_EQ(exits, kChildren - panics);
    for (auto& h : hs) (void)h.join();
    EXPECT_TRUE(nothing_queued());
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SupervisionTest, ManyMonitorsOfEndedTargetsDoNotPileUp) {
  auto r = run([] {
    // A long-lived watcher monitoring a stream of short-lived actors keeps a bounded list.
    for (int i = 0; i < 200; ++i) {
      auto [tx, rx] = smarm::channel<int>();
      auto h = smarm::spawn([rx = std::move(rx)]() mutable { (void)rx.recv(); });
      EXPECT_TRUE(is_ok(smarm::monitor(h.pid())));
      tx.close();
      EXPECT_TRUE(is_ok(h.join()));
      EXPECT_EQ(next_signal().pid, h.pid());
    }
    EXPECT_EQ(smarm::stats().supervision_records, 1u);
  });
  EXPECT_TRUE(is_ok(r));
}

}  // namespace
