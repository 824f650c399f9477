// SPDX-License-Identifier: Apache-2.0
// bounded_channel_test.cpp — bounded_channel<T>(n): back-pressure, try_send/send_for, the
// rendezvous channel (n == 0), FIFO among parked senders, close in every order and
// cancellation of a parked send. Nothing sent may be lost or duplicated: every value ends
// either received or handed back to its sender.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::test::is_ok;

class BoundedChannelWorkersTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(BoundedChannelWorkersTest);

// Counted tracks live instances and copies, to prove values are moved and none leaks.
struct Counted {
  static inline std::atomic<int> alive{0};
  static inline std::atomic<int> copies{0};
  int v = 0;
  explicit Counted(int x) : v(x) { alive.fetch_add(1); }
  Counted(const Counted& o) : v(o.v) {
    alive.fetch_add(1);
    copies.fetch_add(1);
  }
  Counted(Counted&& o) noexcept : v(o.v) { alive.fetch_add(1); }
  Counted& operator=(const Counted&) = delete;
  Counted& operator=(Counted&&) = delete;
  ~Counted() { alive.fetch_sub(1); }
};

TEST(BoundedChannelTest, SendParksWhileFull) {
  // One worker, so the order of events is deterministic: the child runs first and parks
  // on its third send; the parent then sees exactly two values queued.
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(2);
    std::atomic<int> sent{0};
    auto producer = smarm::spawn([tx = std::move(tx), &sent]() mutable {
      for (int i = 0; i < 5; ++i) {
        if (!tx.send(i)) return;
        sent.fetch_add(1);
      }
    });
    EXPECT_EQ(sent.load(), 2);
    EXPECT_EQ(rx.size(), 2u);
    auto v = rx.recv();  // makes room: the parked sender's value moves into the queue
    EXPECT_TRUE(v && *v == 0);
    EXPECT_EQ(rx.size(), 2u);
    (void)smarm::yield_now();  // the producer finishes send(2) and parks on send(3)
    EXPECT_EQ(sent.load(), 3);
    std::vector<int> rest;
    while (auto x = rx.recv()) rest.push_back(*x);
    EXPECT_EQ(rest, (std::vector<int>{1, 2, 3, 4}));
    EXPECT_TRUE(is_ok(producer.join()));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, TrySendFullHandsTheValueBack) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<std::unique_ptr<int>>(1);
    EXPECT_TRUE(is_ok(tx.try_send(std::make_unique<int>(1))));
    auto full = tx.try_send(std::make_unique<int>(2));
    ASSERT_FALSE(full);
    EXPECT_EQ(full.error().code(), Errc::Full);
    auto back = std::move(full.error()).into_value();
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, 2);
    auto v = rx.try_recv();
    ASSERT_TRUE(v);
    EXPECT_EQ(**v, 1);
    EXPECT_TRUE(is_ok(tx.try_send(std::move(back))));  // room again
    EXPECT_EQ(rx.size(), 1u);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, TrySendWorksOutsideActorsAndSendThatMustWaitSaysNotInActor) {
  auto [tx, rx] = smarm::bounded_channel<int>(1);
  EXPECT_TRUE(is_ok(tx.send(1)));  // room: no waiting, so fine on a plain thread
  auto full = tx.try_send(2);
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), Errc::Full);
  auto wait = tx.send(3);
  ASSERT_FALSE(wait);
  EXPECT_EQ(wait.error().code(), Errc::NotInActor);
  EXPECT_EQ(std::move(wait.error()).into_value(), 3);
  auto v = rx.try_recv();
  EXPECT_TRUE(v && *v == 1);
}

TEST(BoundedChannelTest, SendForTimesOutNeverEarlyAndHandsTheValueBack) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    ASSERT_TRUE(is_ok(tx.send(1)));
    const auto start = std::chrono::steady_clock::now();
    auto res = tx.send_for(2, 20ms);
    const auto waited = std::chrono::steady_clock::now() - start;
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code(), Errc::TimedOut);
    EXPECT_EQ(res.error().value(), 2);
    EXPECT_GE(waited, 20ms);
    EXPECT_EQ(rx.size(), 1u);  // the timed-out value did not sneak in
    auto until = tx.send_until(3, smarm::Clock::now() + 5ms);
    ASSERT_FALSE(until);
    EXPECT_EQ(until.error().code(), Errc::TimedOut);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, ZeroAndNegativeTimeoutsDoNotWait) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    EXPECT_TRUE(is_ok(tx.send_for(1, 0ms)));  // room: succeeds without waiting
    auto zero = tx.send_for(2, 0ms);
    ASSERT_FALSE(zero);
    EXPECT_EQ(zero.error().code(), Errc::TimedOut);
    auto negative = tx.send_for(3, -5s);
    ASSERT_FALSE(negative);
    EXPECT_EQ(negative.error().code(), Errc::TimedOut);
    auto past = tx.send_until(4, smarm::Clock::now() - 1h);
    ASSERT_FALSE(past);
    EXPECT_EQ(past.error().code(), Errc::TimedOut);
    EXPECT_EQ(rx.size(), 1u);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, SendForSucceedsWhenRoomAppearsInTime) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    ASSERT_TRUE(is_ok(tx.send(1)));
    auto consumer = smarm::spawn([rx = std::move(rx)]() mutable {
      (void)smarm::sleep_for(5ms);
      std::vector<int> got;
      while (auto v = rx.recv()) got.push_back(*v);
      return got;
    });
    EXPECT_TRUE(is_ok(tx.send_for(2, 10s)));
    tx.close();
    auto got = consumer.join();
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, (std::vector<int>{1, 2}));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, ParkedSendersAreServedInArrivalOrder) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    ASSERT_TRUE(is_ok(tx.send(0)));
    std::vector<smarm::JoinHandle<void>> senders;
    for (int i = 1; i <= 5; ++i)  // each child runs first and parks on the full channel
      senders.push_back(smarm::spawn([tx = tx, i]() mutable { (void)tx.send(i); }));
    tx.close();
    std::vector<int> got;
    while (auto v = rx.recv()) got.push_back(*v);
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5}));
    for (auto& s : senders) EXPECT_TRUE(is_ok(s.join()));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, RendezvousSendWaitsForTheReceiver) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(0);
    EXPECT_EQ(rx.capacity(), 0u);
    auto no_receiver = tx.try_send(1);
    ASSERT_FALSE(no_receiver);
    EXPECT_EQ(no_receiver.error().code(), Errc::Full);
    std::atomic<int> delivered{0};
    auto sender = smarm::spawn([tx = std::move(tx), &delivered]() mutable {
      for (int i = 1; i <= 3; ++i) {
        if (!tx.send(i)) return;
        delivered.fetch_add(1);
      }
    });
    // The child parked in send(1): nothing is buffered on a rendezvous channel.
    EXPECT_EQ(delivered.load(), 0);
    EXPECT_EQ(rx.size(), 0u);
    auto one = rx.try_recv();  // takes it straight from the parked sender
    ASSERT_TRUE(one);
    EXPECT_EQ(*one, 1);
    std::vector<int> rest;
    while (auto v = rx.recv()) rest.push_back(*v);
    EXPECT_EQ(rest, (std::vector<int>{2, 3}));
    EXPECT_EQ(delivered.load(), 3);
    EXPECT_TRUE(is_ok(sender.join()));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, RendezvousHandsToAParkedReceiver) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<std::unique_ptr<int>>(0);
    auto receiver = smarm::spawn([rx = std::move(rx)]() mutable {
      auto v = rx.recv();  // parks first: the child runs before the parent resumes
      return v ? **v : -1;
    });
    EXPECT_TRUE(is_ok(tx.try_send(std::make_unique<int>(7))));  // a receiver waits: no Full
    EXPECT_EQ(receiver.join().value_or(-2), 7);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, ReceiverDroppedWakesParkedSendersWithTheirValues) {
  Counted::alive = 0;
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<Counted>(1);
    ASSERT_TRUE(is_ok(tx.send(Counted(0))));
    std::vector<smarm::JoinHandle<int>> senders;
    for (int i = 1; i <= 3; ++i)
      senders.push_back(smarm::spawn([tx = tx, i]() mutable {
        auto res = tx.send(Counted(i));
        if (res) return -1;
        if (res.error().code() != Errc::Closed) return -2;
        return std::move(res.error()).into_value().v;  // the value came back intact
      }));
    { auto doomed = std::move(rx); }  // drop the receiver while three senders are parked
    for (int i = 0; i < 3; ++i) EXPECT_EQ(senders[i].join().value_or(-3), i + 1);
    auto after = tx.send(Counted(9));
    ASSERT_FALSE(after);
    EXPECT_EQ(after.error().code(), Errc::Closed);
    EXPECT_TRUE(tx.is_closed());
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(Counted::alive.load(), 0);  // the queued value was destroyed, none leaked
  EXPECT_EQ(Counted::copies.load(), 0);
}

TEST(BoundedChannelTest, SendersGoneRecvDrainsThenClosed) {
  auto r = smarm::test::run_on(2, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(4);
    auto producer = smarm::spawn([tx = std::move(tx)]() mutable {
      for (int i = 0; i < 100; ++i)
        if (!tx.send(i)) return false;
      return true;  // tx is dropped here, closing the channel after the last value
    });
    int expected = 0;
    for (;;) {
      auto v = rx.recv();
      if (!v) {
        EXPECT_EQ(v.error().code(), Errc::Closed);
        break;
      }
      EXPECT_EQ(*v, expected++);
    }
    EXPECT_EQ(expected, 100);
    EXPECT_TRUE(producer.join().value_or(false));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, LastSenderGoneWakesAParkedReceiverOnARendezvous) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(0);
    auto receiver = smarm::spawn([rx = std::move(rx)]() mutable {
      auto v = rx.recv();
      return v ? Errc{} : v.error().code();
    });
    tx.close();
    EXPECT_EQ(receiver.join().value_or(Errc::Full), Errc::Closed);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, CancellingAParkedSendHandsTheValueBackAndLosesNothing) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    ASSERT_TRUE(is_ok(tx.send(1)));
    auto victim = smarm::spawn([tx = tx]() mutable {
      auto res = tx.send(2);
      if (res) return -1;
      return res.error().code() == Errc::Cancelled ? res.error().value() : -2;
    });
    auto later = smarm::spawn([tx = tx]() mutable { return tx.send(3).has_value(); });
    tx.close();
    ASSERT_TRUE(is_ok(victim.cancel()));
    EXPECT_EQ(victim.join().value_or(-3), 2);
    std::vector<int> got;
    while (auto v = rx.recv()) got.push_back(*v);
    EXPECT_EQ(got, (std::vector<int>{1, 3}));  // the cancelled sender's slot passed on
    EXPECT_TRUE(later.join().value_or(false));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(BoundedChannelTest, CancelledSenderStillSendsWhenThereIsRoom) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    auto child = smarm::spawn([tx = std::move(tx)]() mutable {
      (void)smarm::sleep_for(1h);  // cancelled here
      auto fits = tx.send(1);      // room: does not wait, so it is not refused
      auto full = tx.send(2);      // would wait: Cancelled
      return fits.has_value() && !full && full.error().code() == Errc::Cancelled;
    });
    ASSERT_TRUE(is_ok(child.cancel()));
    EXPECT_TRUE(child.join().value_or(false));
    auto v = rx.recv();
    EXPECT_TRUE(v && *v == 1);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(BoundedChannelWorkersTest, TimedSendsLoseNothing) {
  // Senders race small timeouts against a slow receiver: each value ends exactly once,
  // either received or handed back to its sender.
  const int senders = 4;
  const int per = smarm::test::scaled(2'000, 500, 200);
  auto r = run([=] {
    auto [tx, rx] = smarm::bounded_channel<std::int64_t>(2);
    std::vector<smarm::JoinHandle<std::pair<std::int64_t, std::int64_t>>> hs;
    for (int s = 0; s < senders; ++s)
      hs.push_back(smarm::spawn([=, tx = tx]() mutable {
        std::int64_t sent_sum = 0, returned_sum = 0;
        for (int i = 1; i <= per; ++i) {
          const std::int64_t v = std::int64_t{s} * 1'000'000 + i;
          auto res = tx.send_for(v, std::chrono::microseconds(i % 7 * 20));
          if (res) {
            sent_sum += v;
          } else {
            EXPECT_EQ(res.error().code(), Errc::TimedOut);
            returned_sum += res.error().value();
          }
        }
        return std::make_pair(sent_sum, returned_sum);
      }));
    tx.close();
    std::int64_t received = 0;
    int n = 0;
    while (auto v = rx.recv()) {
      received += *v;
      if (++n % 64 == 0) (void)smarm::sleep_for(10us);  // slow consumer
    }
    std::int64_t sent = 0, returned = 0;
    for (auto& h : hs) {
      auto p = h.join();
      EXPECT_TRUE(p);
      if (!p) continue;
      sent += p->first;
      returned += p->second;
    }
    EXPECT_EQ(received, sent);
    std::int64_t all = 0;
    for (int s = 0; s < senders; ++s)
      for (int i = 1; i <= per; ++i) all += std::int64_t{s} * 1'000'000 + i;
    EXPECT_EQ(sent + returned, all);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST_P(BoundedChannelWorkersTest, ProducersAndConsumerAcrossWorkers) {
  const int producers = 4;
  const std::int64_t per = smarm::test::scaled<std::int64_t>(20'000, 5'000, 1'000);
  for (std::size_t cap : {std::size_t{0}, std::size_t{1}, std::size_t{16}}) {
    auto r = run([=] {
      auto [tx, rx] = smarm::bounded_channel<std::int64_t>(cap);
      std::vector<smarm::JoinHandle<void>> hs;
      for (int p = 0; p < producers; ++p)
        hs.push_back(smarm::spawn([=, tx = tx]() mutable {
          for (std::int64_t i = 1; i <= per; ++i) ASSERT_TRUE(is_ok(tx.send(i)));
        }));
      tx.close();
      std::int64_t sum = 0, count = 0;
      while (auto v = rx.recv()) {
        sum += *v;
        ++count;
        EXPECT_LE(rx.size(), cap);
      }
      EXPECT_EQ(count, per * producers) << "capacity " << cap;
      EXPECT_EQ(sum, per * (per + 1) / 2 * producers) << "capacity " << cap;
      for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    });
    ASSERT_TRUE(is_ok(r));
  }
}

TEST(BoundedChannelTest, ValuesAreMovedNeverCopied) {
  Counted::alive = 0;
  Counted::copies = 0;
  auto r = smarm::test::run_on(2, [] {
    for (std::size_t cap : {std::size_t{0}, std::size_t{3}}) {
      auto [tx, rx] = smarm::bounded_channel<Counted>(cap);
      auto h = smarm::spawn([tx = std::move(tx)]() mutable {
        for (int i = 0; i < 50; ++i) (void)tx.send(Counted(i));
      });
      int n = 0;
      while (auto v = rx.recv()) EXPECT_EQ(v->v, n++);
      EXPECT_EQ(n, 50);
      EXPECT_TRUE(is_ok(h.join()));
    }
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(Counted::copies.load(), 0);
  EXPECT_EQ(Counted::alive.load(), 0);
}

TEST(BoundedChannelTest, CapacityIsReported) {
  auto [tx, rx] = smarm::bounded_channel<int>(7);
  EXPECT_EQ(rx.capacity(), 7u);
  auto [utx, urx] = smarm::channel<int>();
  EXPECT_EQ(urx.capacity(), smarm::Receiver<int>::unbounded_capacity);
  // try_send on an unbounded channel only fails once the receiver is gone.
  EXPECT_TRUE(is_ok(utx.try_send(1)));
  { auto gone = std::move(urx); }
  auto closed = utx.try_send(2);
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code(), Errc::Closed);
}

}  // namespace
