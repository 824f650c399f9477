// SPDX-License-Identifier: Apache-2.0
// cancel_test.cpp — cancellation at every park, polling, and shutdown of a finished root.
//
// Contract (spawn.hpp): a cancelled actor's current park and every later blocking call
// return Errc::Cancelled; cancelled() lets a loop poll it; cancelling an actor that has
// ended is StalePid. When run()'s function returns, actors still running are cancelled and
// joined, so run() ends.
#include <atomic>
#include <cstddef>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using smarm::Errc;
using smarm::test::errc_or_ok;
using smarm::test::has_errc;
using smarm::test::is_ok;

class CancelWorkersTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(CancelWorkersTest);

// What a cancelled actor saw: its interrupted call and the calls it made afterwards.
struct Outcome {
  Errc interrupted{};
  Errc recv_after{};
  Errc yield_after{};
  Errc join_after{};
  bool polled = false;
};

// after_cancel makes every kind of blocking call once more and records the results.
Outcome after_cancel(Errc interrupted) {
  Outcome o;
  o.interrupted = interrupted;
  o.polled = smarm::cancelled();
  auto [tx, rx] = smarm::channel<int>();
  o.recv_after = errc_or_ok(rx.recv());  // empty channel, sender alive: would park
  o.yield_after = errc_or_ok(smarm::yield_now());
  auto child = smarm::spawn([] { return 1; });
  o.join_after = errc_or_ok(child.join());
  return o;
}

void expect_fully_cancelled(const Outcome& o) {
  EXPECT_EQ(o.interrupted, Errc::Cancelled);
  EXPECT_TRUE(o.polled);
  EXPECT_EQ(o.recv_after, Errc::Cancelled);
  EXPECT_EQ(o.yield_after, Errc::Cancelled);
  EXPECT_EQ(o.join_after, Errc::Cancelled);
}

TEST_P(CancelWorkersTest, CancelWakesAnActorParkedInRecv) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [ptx, prx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx), ptx = std::move(ptx)]() mutable {
      EXPECT_TRUE(is_ok(ptx.send(1)));  // "about to park"
      return after_cancel(errc_or_ok(rx.recv()));
    });
    EXPECT_TRUE(is_ok(prx.recv()));
    EXPECT_TRUE(is_ok(h.cancel()));
    auto o = h.join();
    EXPECT_TRUE(is_ok(o));
    // tx is still alive here, so the wake-up can only have come from the cancel.
    (void)tx;
    return o.value_or(Outcome{});
  });
  ASSERT_TRUE(is_ok(r));
  expect_fully_cancelled(*r);
}

TEST_P(CancelWorkersTest, CancelWakesAnActorParkedInJoin) {
  auto r = run([] {
    auto [gtx, grx] = smarm::channel<int>();
    auto [ptx, prx] = smarm::channel<int>();
    auto h = smarm::spawn([grx = std::move(grx), ptx = std::move(ptx)]() mutable {
      auto grandchild =
          smarm::spawn([grx = std::move(grx)]() mutable { return grx.recv().value_or(-1); });
      EXPECT_TRUE(is_ok(ptx.send(1)));
      Errc e = errc_or_ok(grandchild.join());
      EXPECT_TRUE(grandchild.joinable()) << "a cancelled join must leave the handle joinable";
      return after_cancel(e);
      // grandchild's handle is dropped here: it is detached and ends when gtx sends.
    });
    EXPECT_TRUE(is_ok(prx.recv()));
    EXPECT_TRUE(is_ok(h.cancel()));
    auto o = h.join();
    EXPECT_TRUE(is_ok(o));
    EXPECT_TRUE(is_ok(gtx.send(7)));  // let the grandchild end normally
    return o.value_or(Outcome{});
  });
  ASSERT_TRUE(is_ok(r));
  expect_fully_cancelled(*r);
}

TEST_P(CancelWorkersTest, CancelReachesAnActorThatOnlyYields) {
  auto r = run([] {
    std::atomic<bool> started{false};
    auto h = smarm::spawn([&started] {
      started.store(true);
      Errc e{};
      for (long i = 0; i < 100'000'000; ++i) {
        auto y = smarm::yield_now();
        if (!y) {
          e = y.error().code();
          break;
        }
      }
      return after_cancel(e);
    });
    while (!started.load()) (void)smarm::yield_now();
    EXPECT_TRUE(is_ok(h.cancel()));
    return h.join().value_or(Outcome{});
  });
  ASSERT_TRUE(is_ok(r));
  expect_fully_cancelled(*r);
}

TEST_P(CancelWorkersTest, CancelledCanBePolled) {
  auto r = run([] {
    std::atomic<bool> started{false};
    auto h = smarm::spawn([&started] {
      started.store(true);
      long spins = 0;
      while (!smarm::cancelled()) {
        (void)smarm::yield_now();  // lets a one-worker runtime run the canceller
        ++spins;
      }
      return spins;
    });
    while (!started.load()) (void)smarm::yield_now();
    EXPECT_TRUE(is_ok(h.cancel()));
    return errc_or_ok(h.join());
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, Errc{});
}

TEST_P(CancelWorkersTest, CancelOfAFinishedActorIsStalePid) {
  auto r = run([] {
    auto h = smarm::spawn([] { return 1; });
    while (!h.finished()) (void)smarm::yield_now();
    EXPECT_TRUE(has_errc(h.cancel(), Errc::StalePid));
    EXPECT_EQ(h.join().value_or(0), 1);
    EXPECT_TRUE(has_errc(smarm::cancel(h.pid()), Errc::StalePid));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(CancelWorkersTest, SelfCancelMakesTheNextBlockingCallReturnCancelled) {
  auto r = run([] {
    auto h = smarm::spawn([] {
      EXPECT_FALSE(smarm::cancelled());
      EXPECT_TRUE(is_ok(smarm::cancel(smarm::self())));
      return after_cancel(Errc::Cancelled);
    });
    return h.join().value_or(Outcome{});
  });
  ASSERT_TRUE(is_ok(r));
  expect_fully_cancelled(*r);
}

TEST_P(CancelWorkersTest, CancelFromAPlainThread) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [ptx, prx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx), ptx = std::move(ptx)]() mutable {
      EXPECT_TRUE(is_ok(ptx.send(1)));
      return errc_or_ok(rx.recv());
    });
    EXPECT_TRUE(is_ok(prx.recv()));
    smarm::Result<void> from_thread = smarm::Errc::InvalidArgument;
    smarm::Pid pid = h.pid();
    std::thread t([&from_thread, pid] { from_thread = smarm::cancel(pid); });
    auto e = h.join();  // parks this actor; the thread's cancel wakes the child
    t.join();
    EXPECT_TRUE(is_ok(from_thread));
    return e.value_or(Errc{});
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, Errc::Cancelled);
}

TEST_P(CancelWorkersTest, CancelledRecvDoesNotLoseQueuedValuesForOthers) {
  // Cancelling the receiver wakes it with Cancelled; the channel itself stays usable.
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [ptx, prx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx), ptx = std::move(ptx)]() mutable {
      EXPECT_TRUE(is_ok(ptx.send(1)));
      Errc e = errc_or_ok(rx.recv());
      return std::make_pair(e, std::move(rx));
    });
    EXPECT_TRUE(is_ok(prx.recv()));
    EXPECT_TRUE(is_ok(h.cancel()));
    auto out = h.join();
    EXPECT_TRUE(is_ok(out));
    if (!out) return -1;
    EXPECT_EQ(out->first, Errc::Cancelled);
    EXPECT_TRUE(is_ok(tx.send(5)));
    return out->second.try_recv().value_or(-2);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 5);
}

TEST_P(CancelWorkersTest, RunCancelsAndJoinsActorsLeftBehind) {
  // The root returns while children are parked in recv (their senders outlive the run),
  // in join, and yielding in a loop. run() must cancel them all, and end.
  std::vector<smarm::Sender<int>> keep_open;
  std::atomic<int> recv_cancelled{0};
  std::atomic<int> join_cancelled{0};
  std::atomic<int> yield_cancelled{0};
  constexpr int kEach = 10;
  auto rt = smarm::runtime::init(smarm::Config::exact(GetParam()));
  auto r = rt.run([&] {
    std::atomic<int> started{0};
    for (int i = 0; i < kEach; ++i) {
      auto [tx, rx] = smarm::channel<int>();
      keep_open.push_back(tx);
      smarm::spawn([&, rx = std::move(rx)]() mutable {
        started.fetch_add(1);
        if (has_errc(rx.recv(), Errc::Cancelled)) recv_cancelled.fetch_add(1);
      }).detach();
      auto [tx2, rx2] = smarm::channel<int>();
      keep_open.push_back(tx2);
      smarm::spawn([&, rx2 = std::move(rx2)]() mutable {
        auto g = smarm::spawn([rx2 = std::move(rx2)]() mutable { (void)rx2.recv(); });
        started.fetch_add(1);
        // The grandchild is cancelled too and may end first, waking this join with its
        // result; either way this actor must have been cancelled.
        auto j = g.join();
        if (has_errc(j, Errc::Cancelled) || smarm::cancelled()) join_cancelled.fetch_add(1);
      });  // handle dropped: detached
      smarm::spawn([&] {
        started.fetch_add(1);
        for (;;) {
          auto y = smarm::yield_now();
          if (!y) {
            if (y.error().code() == Errc::Cancelled) yield_cancelled.fetch_add(1);
            return;
          }
        }
      }).detach();
    }
    while (started.load() < 3 * kEach) (void)smarm::yield_now();
    return 1;
  });
  ASSERT_TRUE(is_ok(r));
  smarm::test::expect_no_leaks(rt.last_stats());
  EXPECT_EQ(recv_cancelled.load(), kEach);
  EXPECT_EQ(join_cancelled.load(), kEach);
  EXPECT_EQ(yield_cancelled.load(), kEach);
}

}  // namespace
