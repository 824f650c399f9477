// SPDX-License-Identifier: Apache-2.0
// bounded_channel_stress_test.cpp — bounded channels under load on two workers.
//
// 8 producers x 1,000,000 messages (scaled down under the sanitizers) into one bounded
// channel drained by a deliberately slow consumer: every producer's values arrive exactly
// once and in its own order, the sums match, and while the consumer dawdles the producers
// are parked on the full channel (back-pressure, not an unbounded pile). A second test
// drops the receiver while senders race it: every value is received, handed back to its
// sender, or (if it was still queued) destroyed with the channel — exactly one of them.
#include <atomic>
#include <chrono>
#include <cstdint>
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

// A value carries its producer in the high bits and its sequence number in the low ones.
constexpr int kSeqBits = 32;
std::uint64_t encode(int producer, std::uint64_t seq) {
  return (std::uint64_t(producer) << kSeqBits) | seq;
}

// burn does a little arithmetic the optimiser cannot drop, to make the consumer slow.
std::uint64_t burn(std::uint64_t x) {
  for (int i = 0; i < 64; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x;
}

TEST(BoundedChannelStressTest, EightProducersSlowConsumerNothingLostOrDuplicated) {
  constexpr int kProducers = 8;
  constexpr std::size_t kCapacity = 64;
  const std::uint64_t per = smarm::test::scaled<std::uint64_t>(1'000'000, 100'000, 10'000);
  auto r = smarm::test::run_on(2, [=] {
    auto [tx, rx] = smarm::bounded_channel<std::uint64_t>(kCapacity);
    std::vector<smarm::JoinHandle<void>> producers;
    for (int p = 0; p < kProducers; ++p)
      producers.push_back(smarm::spawn([=, tx = tx]() mutable {
        for (std::uint64_t i = 1; i <= per; ++i) ASSERT_TRUE(is_ok(tx.send(encode(p, i))));
      }));
    tx.close();

    // Back-pressure: with nobody receiving, the channel fills and every producer parks.
    // Polled with a generous bound that only exists to turn a hang into a failure.
    const auto give_up = std::chrono::steady_clock::now() + 60s;
    while ((rx.size() < kCapacity || smarm::stats().actors_parked < kProducers) &&
           std::chrono::steady_clock::now() < give_up)
      (void)smarm::sleep_for(1ms);
    EXPECT_EQ(rx.size(), kCapacity);
    EXPECT_EQ(smarm::stats().actors_parked, static_cast<std::uint64_t>(kProducers));

    std::vector<std::uint64_t> next(kProducers, 1);  // next sequence number expected
    std::uint64_t count = 0, sum = 0, sink = 0;
    bool in_order = true;
    while (auto v = rx.recv()) {
      const int p = static_cast<int>(*v >> kSeqBits);
      const std::uint64_t seq = *v & ((std::uint64_t{1} << kSeqBits) - 1);
      ASSERT_GE(p, 0);
      ASSERT_LT(p, kProducers);
      if (seq != next[p]) in_order = false;  // a gap (loss) or a repeat (duplicate)
      next[p] = seq + 1;
      sum += seq;
      ++count;
      sink += burn(*v);                                     // slow consumer ...
      if (count % 4096 == 0) (void)smarm::sleep_for(20us);  // ... that also naps
    }
    EXPECT_NE(sink, 42u);  // keeps burn() alive
    EXPECT_TRUE(in_order);
    EXPECT_EQ(count, per * kProducers);
    EXPECT_EQ(sum, per * (per + 1) / 2 * kProducers);
    for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], per + 1) << "producer " << p;
    for (auto& h : producers) EXPECT_TRUE(is_ok(h.join()));
  });
  ASSERT_TRUE(is_ok(r));
}

// Token adds its value to `destroyed` if it dies still holding it (a value left queued
// when the receiver went); receiving or getting it back empties it.
struct Token {
  static inline std::atomic<std::int64_t> destroyed{0};
  std::int64_t v = 0;
  explicit Token(std::int64_t x) : v(x) {}
  Token(Token&& o) noexcept : v(std::exchange(o.v, 0)) {}
  Token& operator=(Token&&) = delete;
  ~Token() {
    if (v) destroyed.fetch_add(v, std::memory_order_relaxed);
  }
};

TEST(BoundedChannelStressTest, ReceiverDroppedMidStreamEveryValueAccountedOnce) {
  const int rounds = smarm::test::scaled(200, 50, 20);
  const int senders = 6;
  const std::int64_t per = smarm::test::scaled<std::int64_t>(2'000, 500, 200);
  auto r = smarm::test::run_on(2, [=] {
    for (int round = 0; round < rounds; ++round) {
      const std::size_t cap = static_cast<std::size_t>(round % 4);  // 0 = rendezvous
      Token::destroyed = 0;
      auto [tx, rx] = smarm::bounded_channel<Token>(cap);
      std::vector<smarm::JoinHandle<std::int64_t>> hs;  // each returns what came back
      for (int s = 0; s < senders; ++s)
        hs.push_back(smarm::spawn([=, tx = tx]() mutable {
          std::int64_t returned = 0;
          for (std::int64_t i = 1; i <= per; ++i) {
            auto res = tx.send(Token(i));
            if (!res) {
              EXPECT_EQ(res.error().code(), Errc::Closed);
              returned += std::exchange(res.error().value().v, 0);
            }
          }
          return returned;
        }));
      tx.close();
      std::int64_t received = 0;
      const std::int64_t stop_after = (round * 37) % (per * senders / 2) + 1;
      for (std::int64_t n = 0; n < stop_after; ++n) {
        auto v = rx.recv();
        if (!v) break;
        received += std::exchange(v->v, 0);
      }
      { auto drop = std::move(rx); }  // the receiver goes while senders are mid-stream
      std::int64_t returned = 0;
      for (auto& h : hs) returned += h.join().value_or(0);
      EXPECT_EQ(received + returned + Token::destroyed.load(), per * (per + 1) / 2 * senders)
          << "round " << round << " capacity " << cap;
    }
  });
  ASSERT_TRUE(is_ok(r));
}

// scribble overwrites the stack below its caller, where the frames of the calls it just
// made (send()'s Waiter) were, so that TSan sees the sender reuse that memory.
__attribute__((noinline)) void scribble() {
  volatile char buf[4096];
  for (auto& c : buf) c = 1;
}

// A receiver that pops from a full bounded channel lets the oldest parked sender's value
// into the freed slot (admit_locked sets the sender's `filled`, release) and wakes it. A
// sender already awake — a stale wake-up left by an earlier unpark makes its park()
// return at once — sees `filled` without taking the lock and returns, so the receiver
// must have copied the sender's Waiter id *before* that store: afterwards the Waiter may
// be a dead stack frame. scribble() reuses that frame at once; under TSan, reading the id
// after the store (as take_locked and recv_some once did) is reported in every run here.
// Without TSan the stray read is not observable: the test then only checks the sum.
TEST(BoundedChannelStressTest, ReceiverCopiesTheSenderWaiterBeforeHandingItsValueOver) {
  static constexpr int kValues = smarm::test::scaled(1'000'000, 100'000, 100'000);
  auto r = smarm::test::run_on(2, [] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    auto sender = smarm::spawn([tx = std::move(tx)]() mutable {
      for (int i = 0; i < kValues; ++i) {
        if (!tx.send(i)) return;
        scribble();
      }
    });
    std::int64_t sum = 0;
    while (auto v = rx.recv()) sum += *v;
    EXPECT_EQ(sum, std::int64_t{kValues} * (kValues - 1) / 2);
    EXPECT_TRUE(is_ok(sender.join()));
  });
  ASSERT_TRUE(is_ok(r));
}

}  // namespace
