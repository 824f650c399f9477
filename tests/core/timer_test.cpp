// SPDX-License-Identifier: Apache-2.0
// timer_test.cpp — sleep_for/sleep_until, recv_for/recv_until and the timer heap.
//
// Tests check order, counts and "never early" — never how late a wake-up is.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Clock;
using smarm::Errc;
using smarm::test::has_errc;
using smarm::test::is_ok;
using smarm::test::run_on;

TEST(TimerTest, SleepForNeverReturnsEarly) {
  auto r = run_on(1, [] {
    for (auto d : {1ms, 2ms, 3ms}) {
      const auto before = Clock::now();
      EXPECT_TRUE(is_ok(smarm::sleep_for(d)));
      EXPECT_GE(Clock::now() - before, d);
    }
    const auto until = Clock::now() + 2ms;
    EXPECT_TRUE(is_ok(smarm::sleep_until(until)));
    EXPECT_GE(Clock::now(), until);
    return smarm::stats().timers_pending;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0u);
}

TEST(TimerTest, SleepersWakeInDeadlineOrder) {
  // Five sleepers, deadlines 2-10 ms after one base. The order is only a test if every
  // timer was armed before the first deadline: a sleep whose deadline passed before it
  // looked returns at once, in arming order (seen under valgrind on a loaded machine,
  // with a 20 ms lead). So the root waits until stats() counts all five armed, and if
  // the first deadline has passed by then, tries again with a longer lead.
  std::vector<int> order;
  bool armed_in_time = false;
  for (auto lead : {20ms, 100ms, 500ms, 2500ms}) {
    auto r = run_on(1, [lead, &armed_in_time] {
      auto [tx, rx] = smarm::channel<int>();
      const int delays_ms[] = {5, 1, 4, 2, 3};
      std::vector<smarm::Sender<Clock::time_point>> bases;
      for (int d : delays_ms) {
        auto [base_tx, base_rx] = smarm::channel<Clock::time_point>();
        bases.push_back(std::move(base_tx));
        smarm::spawn([tx = tx, d, base_rx = std::move(base_rx)]() mutable {
          auto base = base_rx.recv();
          if (!base) return;
          (void)smarm::sleep_until(*base + std::chrono::milliseconds(2 * d));
          (void)tx.send(d);
        }).detach();
      }
      tx.close();
      const auto base = Clock::now() + lead;
      for (auto& b : bases) (void)b.send(base);
      armed_in_time = smarm::test::timers_armed_before(5, base + 2ms);
      std::vector<int> got;
      while (auto v = rx.recv()) got.push_back(*v);
      return got;
    });
    ASSERT_TRUE(is_ok(r));
    order = *r;
    if (armed_in_time) break;
  }
  ASSERT_TRUE(armed_in_time) << "arming five timers outlasted a 2.5 s lead";
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(TimerTest, ZeroAndNegativeTimeoutsDoNotWait) {
  auto r = run_on(1, [] {
    EXPECT_TRUE(is_ok(smarm::sleep_for(0ms)));
    EXPECT_TRUE(is_ok(smarm::sleep_for(-5ms)));
    EXPECT_TRUE(is_ok(smarm::sleep_until(Clock::now() - 1s)));
    auto [tx, rx] = smarm::channel<int>();
    EXPECT_TRUE(has_errc(rx.recv_for(0ms), Errc::TimedOut));
    EXPECT_TRUE(has_errc(rx.recv_for(-1s), Errc::TimedOut));
    EXPECT_TRUE(has_errc(rx.recv_until(smarm::Deadline{}), Errc::TimedOut));
    EXPECT_TRUE(is_ok(tx.send(7)));
    auto v = rx.recv_for(0ms);  // a queued value is returned even without waiting
    EXPECT_TRUE(is_ok(v));
    EXPECT_EQ(v.value_or(0), 7);
    tx.close();
    EXPECT_TRUE(has_errc(rx.recv_for(0ms), Errc::Closed));  // closed wins over the timeout
    return smarm::stats().timers_pending;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0u);
}

TEST(TimerTest, RecvForTimesOutWithoutConsumingAndLeavesNoTimer) {
  auto r = run_on(2, [] {
    auto [tx, rx] = smarm::channel<int>();
    const auto before = Clock::now();
    auto v = rx.recv_for(2ms);
    EXPECT_TRUE(has_errc(v, Errc::TimedOut));
    EXPECT_GE(Clock::now() - before, 2ms);
    EXPECT_EQ(smarm::stats().timers_pending, 0u);
    EXPECT_TRUE(is_ok(tx.send(3)));  // the channel still works afterwards
    return rx.recv_for(1s).value_or(-1);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 3);
}

TEST(TimerTest, RecvForGetsAValueThatArrivesBeforeTheDeadline) {
  auto r = run_on(2, [] {
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn([tx = std::move(tx)]() mutable {
      (void)smarm::sleep_for(1ms);
      return tx.send(42).has_value();
    });
    auto v = rx.recv_for(std::chrono::hours(1));
    EXPECT_TRUE(h.join().value_or(false));
    EXPECT_EQ(smarm::stats().timers_pending, 0u);
    return v.value_or(-1);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 42);
}

TEST(TimerTest, ManySatisfiedTimeoutsLeaveNothingBehind) {
  const int n = smarm::test::scaled(100'000, 10'000, 2'000);
  auto r = run_on(1, [n] {
    auto [tx, rx] = smarm::channel<int>();
    auto [back_tx, back_rx] = smarm::channel<int>();
    auto echo = smarm::spawn([rx = std::move(rx), back_tx = std::move(back_tx)]() mutable {
      int got = 0;
      // Each wait arms an hour-long timeout that the value beats: it must be removed.
      while (auto v = rx.recv_for(std::chrono::hours(1))) {
        ++got;
        (void)back_tx.send(*v);
      }
      return got;
    });
    for (int i = 0; i < n; ++i) {
      (void)tx.send(i);
      (void)back_rx.recv();
    }
    const auto pending = smarm::stats().timers_pending;
    tx.close();
    EXPECT_EQ(echo.join().value_or(-1), n);
    return pending;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_LE(*r, 1u);  // at most the echo actor's current wait
}

TEST(TimerTest, CancelWakesAParkedSleepAndRemovesItsTimer) {
  // One worker: the child runs first and has armed its timer when the parent resumes (on
  // two workers the parent could be stolen and count timers before the child armed one).
  auto r = run_on(1, [] {
    auto h = smarm::spawn([] { return smarm::sleep_for(std::chrono::hours::max()); });
    EXPECT_EQ(smarm::stats().timers_pending, 0u);  // hours::max() saturates to "never"
    auto h2 = smarm::spawn([] { return smarm::sleep_for(std::chrono::hours(1)); });
    EXPECT_EQ(smarm::stats().timers_pending, 1u);
    EXPECT_TRUE(is_ok(h.cancel()));
    EXPECT_TRUE(is_ok(h2.cancel()));
    auto r1 = h.join();
    auto r2 = h2.join();
    EXPECT_TRUE(is_ok(r1));
    EXPECT_TRUE(is_ok(r2));
    EXPECT_TRUE(has_errc(r1.value_or(smarm::Result<void>{}), Errc::Cancelled));
    EXPECT_TRUE(has_errc(r2.value_or(smarm::Result<void>{}), Errc::Cancelled));
    return smarm::stats().timers_pending;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0u);
}

TEST(TimerTest, ManyCancelledTimedWaitsLeaveNoEntriesAndNoBuffer) {
  // n actors park in recv_for(1 h) at once (n timer entries), then all are cancelled: the
  // entries go, and no buffer is left behind.
  const int n = smarm::test::scaled(200'000, 20'000, 2'000);
  struct Seen {
    std::uint64_t peak_pending, peak_memory, end_pending, end_memory;
  };
  auto r = run_on(1, [n] {
    std::vector<smarm::JoinHandle<bool>> hs;
    hs.reserve(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
      auto [t, rx_i] = smarm::channel<int>();  // never sent on: each wait ends by cancel
      hs.push_back(smarm::spawn([rx_i = std::move(rx_i), t = std::move(t)]() mutable {
        auto v = rx_i.recv_for(std::chrono::hours(1));
        return !v && v.error().code() == Errc::Cancelled;
      }));
    }
    Seen seen{};
    auto st = smarm::stats();
    seen.peak_pending = st.timers_pending;
    seen.peak_memory = st.timer_memory;
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.cancel()));
    int cancelled = 0;
    for (auto& h : hs) cancelled += h.join().value_or(false) ? 1 : 0;
    EXPECT_EQ(cancelled, n);
    st = smarm::stats();
    seen.end_pending = st.timers_pending;
    seen.end_memory = st.timer_memory;
    return seen;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r->peak_pending, static_cast<std::uint64_t>(n));
  // Deadlines an hour out sit in the wheel's buckets, linked through the entries on the
  // waiters' stacks: no buffer grows with them (a heap needed n pointers).
  EXPECT_LE(r->peak_memory, 1024u * sizeof(void*));
  EXPECT_EQ(r->end_pending, 0u);
  EXPECT_LE(r->end_memory, 1024u * sizeof(void*));
}

TEST(TimerTest, ABusyWorkerStillFiresTimers) {
  // One worker, and an actor that never parks (it only yields): the sleeper must still
  // wake, because every scheduling decision fires expired timers.
  auto r = run_on(1, [] {
    std::atomic<bool> woke{false};
    auto sleeper = smarm::spawn([&woke] {
      (void)smarm::sleep_for(1ms);
      woke.store(true);
    });
    const auto give_up = Clock::now() + 30s;  // a hang detector, not a timing assertion
    while (!woke.load() && Clock::now() < give_up) (void)smarm::yield_now();
    (void)sleeper.join();
    return woke.load();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(*r);
}

TEST(TimerTest, AnIdleRuntimeWakesForItsTimers) {
  // Every worker idles while the only actor sleeps, so some worker must go to sleep in the
  // kernel and be woken by the timer's deadline (the sleep would never end otherwise).
  // A worker first spins a bounded while before it sleeps; on a slow host (valgrind runs
  // one thread at a time) that spin can outlast a short sleep, so the sleeps double until
  // one has been long enough for an idle sleep to happen.
  auto rt = smarm::runtime::init(smarm::Config::exact(2));
  auto r = rt.run([] {
    auto nap = 2ms;
    for (int i = 0; i < 10 && smarm::stats().total().idle_sleeps == 0; ++i, nap *= 2)
      EXPECT_TRUE(is_ok(smarm::sleep_for(nap)));
    return 0;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_GT(rt.last_stats().total().idle_sleeps, 0u);  // it slept, and the deadline woke it
}

TEST(TimerTest, SleepOutsideAnActorIsNotInActor) {
  EXPECT_TRUE(has_errc(smarm::sleep_for(1ms), Errc::NotInActor));
  EXPECT_TRUE(has_errc(smarm::sleep_for(0ms), Errc::NotInActor));
}

}  // namespace
