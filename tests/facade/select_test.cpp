// SPDX-License-Identifier: Apache-2.0
// select_test.cpp — smarm::select: which case fires, what it carries, that nothing else
// happens (no value consumed or sent by a case that did not fire), closed channels,
// timeouts (zero and negative too), otherwise(), cancellation, fairness among ready
// cases, and exactly-once delivery while selects race senders and time out (T=2).
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/select.hpp>
#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::test::is_ok;

class SelectWorkersTest : public smarm::test::WorkersTest {};

constexpr int kPerProducer = smarm::test::scaled(20000, 3000, 1500);
constexpr int kProducers = 2;
constexpr int kPerSender = smarm::test::scaled(30000, 5000, 2000);
SMARM_INSTANTIATE_WORKERS(SelectWorkersTest);

// What is and is not a case is decided at compile time.
static_assert(smarm::detail::select_case<smarm::RecvCase<int>>);
static_assert(smarm::detail::select_case<smarm::SendCase<int>&>);
static_assert(smarm::detail::select_case<smarm::AfterCase>);
static_assert(smarm::detail::select_case<smarm::OtherwiseCase>);
static_assert(!smarm::detail::select_case<int>);
static_assert(!smarm::detail::select_case<smarm::Receiver<int>>);

TEST(SelectTest, ReadyRecvFiresWithItsValue) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx1, rx1] = smarm::channel<int>();
    auto [tx2, rx2] = smarm::channel<std::string>();
    tx2.send("two").value();
    auto s = smarm::select(smarm::recv(rx1), smarm::recv(rx2));
    ASSERT_TRUE(s);
    EXPECT_EQ(s.index(), 1u);
    EXPECT_TRUE(s.fired<1>());
    EXPECT_EQ(s.get<1>(), "two");
    // The case that did not fire was not touched.
    EXPECT_EQ(rx1.size(), 0u);
    EXPECT_THROW((void)s.get<0>(), smarm::BadResultAccess);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(SelectWorkersTest, ParksUntilOneQueueDelivers) {
  auto r = run([] {
    auto [tx1, rx1] = smarm::channel<int>();
    auto [tx2, rx2] = smarm::channel<int>();
    auto sender = smarm::spawn([tx2 = std::move(tx2)]() mutable {
      (void)smarm::sleep_for(1ms);  // let the select park first (usually; either way works)
      tx2.send(42).value();
    });
    auto s = smarm::select(smarm::recv(rx1), smarm::recv(rx2));
    ASSERT_TRUE(s);
    EXPECT_EQ(s.index(), 1u);
    EXPECT_EQ(std::move(s).get<1>(), 42);
    EXPECT_TRUE(is_ok(sender.join()));
    // The other queue still works normally after the select left it.
    tx1.send(7).value();
    EXPECT_EQ(rx1.recv().value(), 7);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(SelectWorkersTest, TimeoutConsumesNothing) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto s = smarm::select(smarm::recv(rx), smarm::after(2ms));
    EXPECT_FALSE(s);
    EXPECT_EQ(s.index(), 1u);
    EXPECT_EQ(s.error().code(), Errc::TimedOut);
    // A value sent after the timeout is received normally (the waiter is gone).
    tx.send(5).value();
    EXPECT_EQ(rx.try_recv().value(), 5);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, ZeroOrNegativeTimeoutDoesNotWaitButTakesReadyCases) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<int>();
    for (auto t : {0ms, -5ms}) {
      auto empty = smarm::select(smarm::recv(rx), smarm::after(t));
      EXPECT_EQ(empty.index(), 1u);
      EXPECT_EQ(empty.error().code(), Errc::TimedOut);
      tx.send(1).value();
      auto ready = smarm::select(smarm::recv(rx), smarm::after(t));
      EXPECT_TRUE(ready);
      EXPECT_EQ(ready.index(), 0u);
    }
    auto past = smarm::select(smarm::recv(rx), smarm::until(smarm::Clock::now() - 1s));
    EXPECT_EQ(past.error().code(), Errc::TimedOut);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, OtherwiseFiresWhenNothingIsReadyEvenOutsideAnActor) {
  auto [tx, rx] = smarm::channel<int>();
  auto none = smarm::select(smarm::recv(rx), smarm::otherwise());
  EXPECT_TRUE(none);
  EXPECT_EQ(none.index(), 1u);
  tx.send(3).value();
  auto one = smarm::select(smarm::recv(rx), smarm::otherwise());
  EXPECT_EQ(one.index(), 0u);
  EXPECT_EQ(one.get<0>(), 3);
}

TEST(SelectTest, WaitingOutsideAnActorIsNotInActor) {
  auto [tx, rx] = smarm::channel<int>();
  auto s = smarm::select(smarm::recv(rx), smarm::send(tx, 1), smarm::after(1ms));
  EXPECT_EQ(s.index(), decltype(s)::npos);
  EXPECT_EQ(s.error().code(), Errc::NotInActor);
  EXPECT_EQ(s.take_back<1>(), 1);  // nothing was sent
  EXPECT_EQ(rx.size(), 0u);
}

TEST(SelectTest, SendCaseNotChosenGivesItsValueBack) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<int>();
    auto [btx, brx] = smarm::bounded_channel<std::unique_ptr<int>>(1);
    btx.send(std::make_unique<int>(1)).value();  // full
    tx.send(9).value();
    auto s = smarm::select(smarm::send(btx, std::make_unique<int>(2)), smarm::recv(rx));
    ASSERT_EQ(s.index(), 1u);
    auto back = s.take_back<0>();
    ASSERT_TRUE(back && *back);
    EXPECT_EQ(**back, 2);
    EXPECT_FALSE(s.take_back<0>());  // taken once
    EXPECT_EQ(brx.size(), 1u);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(SelectWorkersTest, ParkedSendCaseCompletesWhenRoomIsMade) {
  auto r = run([] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    tx.send(1).value();
    auto receiver = smarm::spawn([rx = std::move(rx)]() mutable {
      (void)smarm::sleep_for(1ms);
      std::vector<int> got;
      while (auto v = rx.recv()) got.push_back(*v);
      return got;
    });
    auto s = smarm::select(smarm::send(tx, 2), smarm::after(1h));
    EXPECT_TRUE(s);
    EXPECT_EQ(s.index(), 0u);
    EXPECT_FALSE(s.take_back<0>());  // sent
    tx.close();
    EXPECT_EQ(receiver.join().value(), (std::vector<int>{1, 2}));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(SelectWorkersTest, RendezvousSendCaseHandsOverToAReceiver) {
  auto r = run([] {
    auto [tx, rx] = smarm::bounded_channel<int>(0);
    auto receiver = smarm::spawn([rx = std::move(rx)]() mutable {
      (void)smarm::sleep_for(1ms);
      return rx.recv().value();
    });
    auto s = smarm::select(smarm::send(tx, 77));
    EXPECT_TRUE(s);
    EXPECT_EQ(receiver.join().value(), 77);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, RecvFromAParkedRendezvousSenderAndBack) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(0);
    // A plain sender parks first (the child runs first); the select takes its value.
    auto sender = smarm::spawn([tx = tx]() mutable { return tx.send(5).has_value(); });
    auto s = smarm::select(smarm::recv(rx), smarm::after(1h));
    EXPECT_EQ(s.get<0>(), 5);
    EXPECT_TRUE(sender.join().value());
    // A select parks first; a plain sender hands it a value.
    auto late = smarm::spawn([tx = tx]() mutable {
      (void)smarm::sleep_for(1ms);  // the select parks first this time
      return tx.send(6).has_value();
    });
    auto s2 = smarm::select(smarm::recv(rx), smarm::after(1h));
    EXPECT_EQ(s2.get<0>(), 6);
    EXPECT_TRUE(late.join().value());
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, SendAndRecvOnOneRendezvousChannelDoNotMatchEachOther) {
  // A select never completes with itself: its own send does not make its recv ready.
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(0);
    auto s = smarm::select(smarm::recv(rx), smarm::send(tx, 1), smarm::after(2ms));
    EXPECT_EQ(s.index(), 2u);
    EXPECT_EQ(s.error().code(), Errc::TimedOut);
    EXPECT_EQ(s.take_back<1>(), 1);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(SelectWorkersTest, ClosedRecvCaseFiresWithClosed) {
  auto r = run([] {
    auto [tx1, rx1] = smarm::channel<int>();
    auto [tx2, rx2] = smarm::channel<int>();
    // Parked, then the last sender goes: the case fires with Closed.
    auto closer = smarm::spawn([tx2 = std::move(tx2)]() mutable {
      (void)smarm::sleep_for(1ms);
      tx2.close();
    });
    auto s = smarm::select(smarm::recv(rx1), smarm::recv(rx2));
    EXPECT_EQ(s.index(), 1u);
    EXPECT_EQ(s.error().code(), Errc::Closed);
    EXPECT_TRUE(is_ok(closer.join()));
    // Already closed: fires at once. A default Receiver counts as closed.
    auto again = smarm::select(smarm::recv(rx2), smarm::after(1h));
    EXPECT_EQ(again.error().code(), Errc::Closed);
    smarm::Receiver<int> none;
    auto empty = smarm::select(smarm::recv(none), smarm::after(1h));
    EXPECT_EQ(empty.index(), 0u);
    EXPECT_EQ(empty.error().code(), Errc::Closed);
    EXPECT_THROW((void)empty.get<0>(), smarm::BadResultAccess);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(SelectWorkersTest, ClosedSendCaseFiresWithClosedAndGivesTheValueBack) {
  auto r = run([] {
    auto [tx, rx] = smarm::bounded_channel<std::unique_ptr<int>>(0);
    auto dropper = smarm::spawn([rx = std::move(rx)]() mutable {
      (void)smarm::sleep_for(1ms);
      rx = smarm::Receiver<std::unique_ptr<int>>{};  // the receiver goes
    });
    auto s = smarm::select(smarm::send(tx, std::make_unique<int>(4)), smarm::after(1h));
    EXPECT_EQ(s.index(), 0u);
    EXPECT_EQ(s.error().code(), Errc::Closed);
    auto back = s.take_back<0>();
    ASSERT_TRUE(back && *back);
    EXPECT_EQ(**back, 4);
    EXPECT_TRUE(is_ok(dropper.join()));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(SelectWorkersTest, CancelledWhileParkedLosesNothing) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [btx, brx] = smarm::bounded_channel<int>(0);
    auto waiter = smarm::spawn([rx = std::move(rx), btx = std::move(btx)]() mutable {
      auto s = smarm::select(smarm::recv(rx), smarm::send(btx, 11));
      return std::make_pair(s.error().code(), s.take_back<1>());
    });
    (void)smarm::sleep_for(1ms);
    EXPECT_TRUE(is_ok(waiter.cancel()));
    auto [code, back] = waiter.join().value();
    EXPECT_EQ(code, Errc::Cancelled);
    EXPECT_EQ(back, 11);
    EXPECT_EQ(brx.try_recv().error().code(), Errc::Closed);  // nothing was sent
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, CancelledCallerFailsAtOnceUnlessItHasOtherwise) {
  auto r = smarm::test::run_on(1, [] {
    auto ch = smarm::channel<int>();
    ch.tx.send(1).value();
    auto h = smarm::spawn([&rx = ch.rx]() {
      (void)smarm::sleep_for(1h);  // cancelled here
      auto blocking = smarm::select(smarm::recv(rx));
      auto polling = smarm::select(smarm::recv(rx), smarm::otherwise());
      return std::make_pair(blocking.error().code(), polling.index());
    });
    EXPECT_TRUE(is_ok(h.cancel()));
    auto [code, index] = h.join().value();
    EXPECT_EQ(code, Errc::Cancelled);
    EXPECT_EQ(index, 0u);  // the poll still takes the queued value
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, AfterAloneSleeps) {
  auto r = smarm::test::run_on(1, [] {
    const auto start = smarm::Clock::now();
    auto s = smarm::select(smarm::after(2ms));
    EXPECT_EQ(s.error().code(), Errc::TimedOut);
    EXPECT_GE(smarm::Clock::now() - start, 2ms);  // never early (not a timing bound)
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, ReadyCasesAreChosenFairly) {
  // Two channels that always have a value: each must win a fair share. With a fixed
  // start the first case would win every time and this fails.
  auto r = smarm::test::run_on(1, [] {
    constexpr int kRounds = 1000;
    auto [tx1, rx1] = smarm::channel<int>();
    auto [tx2, rx2] = smarm::channel<int>();
    for (int i = 0; i < kRounds; ++i) {
      tx1.send(i).value();
      tx2.send(i).value();
    }
    int wins[2] = {0, 0};
    for (int i = 0; i < kRounds; ++i) {
      auto s = smarm::select(smarm::recv(rx1), smarm::recv(rx2));
      ASSERT_TRUE(s);
      ++wins[s.index()];
    }
    EXPECT_GE(wins[0], kRounds * 3 / 10) << wins[0] << " vs " << wins[1];
    EXPECT_GE(wins[1], kRounds * 3 / 10) << wins[0] << " vs " << wins[1];
    // Exactly one value per select: the queues hold the rest.
    EXPECT_EQ(rx1.size() + rx2.size(), static_cast<std::size_t>(kRounds));
  });
  ASSERT_TRUE(is_ok(r));
}

// fill(tx, n) queues n values, so that the channel stays ready for n selects.
void fill(smarm::Sender<int>& tx, int n) {
  for (int i = 0; i < n; ++i) tx.send(i).value();
}

// wins_of(select_once) runs kFairRounds selects and counts how often each case fired.
constexpr int kFairRounds = 10000;
template <std::size_t N, class SelectOnce>
std::array<int, N> wins_of(SelectOnce select_once) {
  std::array<int, N> wins{};
  for (int i = 0; i < kFairRounds; ++i) {
    auto s = select_once();
    EXPECT_TRUE(s);
    if (s.index() < N) ++wins[s.index()];
  }
  return wins;
}

// expect_fair(wins, a, b): the ready cases a and b each fired at least 45% of the time.
template <std::size_t N>
void expect_fair(const std::array<int, N>& wins, std::size_t a, std::size_t b) {
  EXPECT_GE(wins[a], kFairRounds * 45 / 100) << wins[a] << " vs " << wins[b];
  EXPECT_GE(wins[b], kFairRounds * 45 / 100) << wins[a] << " vs " << wins[b];
}

TEST(SelectTest, ATimeoutCaseDoesNotBiasTheReadyCases) {
  // Two always-ready channels beside after(): each must fire about half the time. With a
  // random start drawn over all three cases (the timeout included) the first channel won
  // 2/3 of them.
  auto r = smarm::test::run_on(1, [] {
    auto rx1_ch = smarm::channel<int>();
    auto& tx1 = rx1_ch.tx;
    auto& rx1 = rx1_ch.rx;
    auto rx2_ch = smarm::channel<int>();
    auto& tx2 = rx2_ch.tx;
    auto& rx2 = rx2_ch.rx;
    fill(tx1, kFairRounds);
    fill(tx2, kFairRounds);
    const auto wins = wins_of<3>(
        [&] { return smarm::select(smarm::recv(rx1), smarm::recv(rx2), smarm::after(1h)); });
    EXPECT_EQ(wins[2], 0);
    expect_fair(wins, 0, 1);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, AnOtherwiseCaseDoesNotBiasTheReadyCases) {
  auto r = smarm::test::run_on(1, [] {
    auto rx1_ch = smarm::channel<int>();
    auto& tx1 = rx1_ch.tx;
    auto& rx1 = rx1_ch.rx;
    auto rx2_ch = smarm::channel<int>();
    auto& tx2 = rx2_ch.tx;
    auto& rx2 = rx2_ch.rx;
    fill(tx1, kFairRounds);
    fill(tx2, kFairRounds);
    const auto wins = wins_of<3>(
        [&] { return smarm::select(smarm::otherwise(), smarm::recv(rx1), smarm::recv(rx2)); });
    EXPECT_EQ(wins[0], 0);
    expect_fair(wins, 1, 2);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, IdleCasesBetweenReadyOnesDoNotBiasThem) {
  // [ready, idle, idle, ready]: a walk from a random start reaches the last case from
  // three of the four starts; a fresh permutation per poll gives each ready case half.
  auto r = smarm::test::run_on(1, [] {
    auto rx1_ch = smarm::channel<int>();
    auto& tx1 = rx1_ch.tx;
    auto& rx1 = rx1_ch.rx;
    auto idle_rx1_ch = smarm::channel<int>();
    auto& idle_rx1 = idle_rx1_ch.rx;
    auto idle_rx2_ch = smarm::channel<int>();
    auto& idle_rx2 = idle_rx2_ch.rx;
    auto rx2_ch = smarm::channel<int>();
    auto& tx2 = rx2_ch.tx;
    auto& rx2 = rx2_ch.rx;
    fill(tx1, kFairRounds);
    fill(tx2, kFairRounds);
    const auto wins = wins_of<4>([&] {
      return smarm::select(smarm::recv(rx1), smarm::recv(idle_rx1), smarm::recv(idle_rx2),
                           smarm::recv(rx2));
    });
    EXPECT_EQ(wins[1] + wins[2], 0);
    expect_fair(wins, 0, 3);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SelectTest, EveryOrderOfThreeReadyCasesIsDrawn) {
  // The shuffle itself: over many draws of three elements, all 3! orders appear, each
  // near 1/6 (a rotation-only draw would produce just 3 of them).
  std::map<std::array<std::uint8_t, 3>, int> seen;
  constexpr int kDraws = 60000;
  for (int i = 0; i < kDraws; ++i) {
    std::array<std::uint8_t, 3> order{0, 1, 2};
    smarm::detail::select_shuffle(order.data(), order.size());
    ++seen[order];
  }
  ASSERT_EQ(seen.size(), 6u);
  for (const auto& [order, n] : seen) EXPECT_GE(n, kDraws / 6 * 9 / 10);
}

TEST(SelectTest, MoveOnlyValuesTravelThroughEveryPath) {
  auto r = smarm::test::run_on(2, [] {
    auto [tx, rx] = smarm::channel<std::unique_ptr<int>>();
    auto sender = smarm::spawn([tx = std::move(tx)]() mutable {
      for (int i = 0; i < 100; ++i) tx.send(std::make_unique<int>(i)).value();
    });
    int sum = 0;
    for (int i = 0; i < 100; ++i) {
      auto s = smarm::select(smarm::recv(rx), smarm::after(1h));
      ASSERT_TRUE(s);
      sum += *std::move(s).get<0>();
    }
    EXPECT_EQ(sum, 99 * 100 / 2);
    EXPECT_TRUE(is_ok(sender.join()));
  });
  ASSERT_TRUE(is_ok(r));
}

// Producers select between two channels (send cases, short timeouts, values taken back
// and retried); consumers select on their own channel with short timeouts. Rendezvous
// and capacity-1 channels make both sides park. Every value must arrive exactly once.
TEST(SelectStressTest, SelectsRacingSelectsDeliverEveryValueExactlyOnce) {
  auto r = smarm::test::run_on(2, [] {
    auto [tx0, rx0] = smarm::bounded_channel<int>(0);
    auto [tx1, rx1] = smarm::bounded_channel<int>(1);
    std::vector<smarm::JoinHandle<std::vector<int>>> consumers;
    for (auto* rxp : {&rx0, &rx1}) {
      consumers.push_back(smarm::spawn([rx = std::move(*rxp)]() mutable {
        std::vector<int> got;
        for (;;) {
          auto s = smarm::select(smarm::recv(rx), smarm::after(50us));
          if (s) {
            got.push_back(std::move(s).get<0>());
          } else if (s.error().code() == Errc::Closed) {
            break;
          } else if (s.error().code() != Errc::TimedOut) {
            ADD_FAILURE() << s.error().message();
            break;
          }
        }
        return got;
      }));
    }
    std::vector<smarm::JoinHandle<int>> producers;
    for (int p = 0; p < kProducers; ++p) {
      producers.push_back(smarm::spawn([p, tx0 = tx0, tx1 = tx1]() mutable {
        int timeouts = 0;
        for (int i = 0; i < kPerProducer; ++i) {
          int v = p * kPerProducer + i;
          for (;;) {
            auto s = smarm::select(smarm::send(tx0, v), smarm::send(tx1, v), smarm::after(30us));
            if (s) break;
            EXPECT_EQ(s.error().code(), Errc::TimedOut);
            auto b0 = s.take_back<0>();
            auto b1 = s.take_back<1>();
            EXPECT_TRUE(b0 && b1);  // neither was sent
            if (!b0 || !b1) return timeouts;
            v = *b0;
            ++timeouts;
          }
        }
        return timeouts;
      }));
    }
    tx0.close();
    tx1.close();
    int timeouts = 0;
    for (auto& p : producers) {
      auto t = p.join();
      EXPECT_TRUE(is_ok(t));
      timeouts += t.value_or(0);
    }
    SUCCEED() << timeouts << " producer selects ended by their timeout";
    std::vector<int> seen(static_cast<std::size_t>(kProducers * kPerProducer), 0);
    for (auto& c : consumers) {
      auto got = c.join();
      ASSERT_TRUE(is_ok(got));
      for (int v : *got) {
        ASSERT_GE(v, 0);
        ASSERT_LT(v, kProducers * kPerProducer);
        ++seen[static_cast<std::size_t>(v)];
      }
    }
    int missing = 0, duplicated = 0;
    for (int n : seen) {
      missing += n == 0;
      duplicated += n > 1;
    }
    EXPECT_EQ(missing, 0);
    EXPECT_EQ(duplicated, 0);
  });
  ASSERT_TRUE(is_ok(r));
}

// Plain senders race one consumer that selects over three channels with a timeout short
// enough that many selects end by it while values are in flight.
TEST(SelectStressTest, TimeoutsWhileSendersSendLoseNothing) {
  auto r = smarm::test::run_on(2, [] {
    auto [ta, ra] = smarm::channel<int>();
    auto [tb, rb] = smarm::bounded_channel<int>(2);
    auto [tc, rc] = smarm::bounded_channel<int>(0);
    std::vector<smarm::JoinHandle<void>> senders;
    int base = 0;
    for (auto* txp : {&ta, &tb, &tc}) {
      senders.push_back(smarm::spawn([tx = *txp, base]() mutable {
        for (int i = 0; i < kPerSender; ++i) {
          tx.send(base + i).value();
          if (i % 64 == 0) (void)smarm::yield_now();
        }
      }));
      base += kPerSender;
    }
    // The root keeps its senders until the end: no case ever fires Closed here.
    std::vector<int> seen(static_cast<std::size_t>(3 * kPerSender), 0);
    int received = 0, timeouts = 0;
    while (received < 3 * kPerSender) {
      auto s = smarm::select(smarm::recv(ra), smarm::recv(rb), smarm::recv(rc), smarm::after(20us));
      int v = -1;
      switch (s.index()) {
        case 0:
          v = s.get<0>();
          break;
        case 1:
          v = s.get<1>();
          break;
        case 2:
          v = s.get<2>();
          break;
        case 3:
          ++timeouts;
          continue;
        default:
          FAIL() << s.error().message();
      }
      ASSERT_GE(v, 0);
      ASSERT_LT(v, 3 * kPerSender);
      ++seen[static_cast<std::size_t>(v)];
      ++received;
    }
    for (auto& h : senders) EXPECT_TRUE(is_ok(h.join()));
    EXPECT_EQ(ra.size() + rb.size(), 0u);  // nothing extra was left behind
    int wrong = 0;
    for (int n : seen) wrong += n != 1;
    EXPECT_EQ(wrong, 0);
    SUCCEED() << timeouts << " selects ended by their timeout";
  });
  ASSERT_TRUE(is_ok(r));
}

}  // namespace
