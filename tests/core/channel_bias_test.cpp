// SPDX-License-Identifier: Apache-2.0
// smarm-test: lto  (markers: tests/CMakeLists.txt)
// channel_bias_test.cpp — channel locks biased to one worker (detail/biased_lock.hpp).
//
// What we promise: when one sender and one receiver stay on one worker, messages cross
// the channel without an atomic read-modify-write each — the lock becomes biased to the
// worker, and stats() stops counting ordinary acquisitions. And the bias never costs
// correctness: senders from other threads revoke it and every message still arrives once.
#include <atomic>
#include <cstdint>
#include <future>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "core/lock_bias.hpp"
#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using smarm::test::is_ok;

TEST(ChannelBiasTest, OneWorkerPipelineStopsTakingTheLockTheOrdinaryWay) {
  if (!smarm::debug::channel_bias_available())
    GTEST_SKIP() << "channel lock biasing is unavailable here (no membarrier(2), TSan, or "
                    "SMARM_CHANNEL_BIAS=0)";
  const std::int64_t n = smarm::test::scaled<std::int64_t>(200'000, 50'000, 10'000);
  std::uint64_t ordinary = 0;
  auto r = smarm::test::run_on(1, [&] {
    auto [tx, rx] = smarm::bounded_channel<std::int64_t>(64);
    const std::uint64_t before = smarm::stats().total().channel_locks;
    auto producer = smarm::spawn([=, tx = std::move(tx)]() mutable {
      for (std::int64_t i = 1; i <= n; ++i) ASSERT_TRUE(is_ok(tx.send(i)));
    });
    std::int64_t sum = 0;
    while (auto v = rx.recv()) sum += *v;
    EXPECT_EQ(sum, n * (n + 1) / 2);
    EXPECT_TRUE(is_ok(producer.join()));
    ordinary = smarm::stats().total().channel_locks - before;
  });
  ASSERT_TRUE(is_ok(r));
  // Every message is one send and one recv: 2n lock acquisitions in all. Only the run-up
  // to the bias (64 acquisitions) and the final close may take the ordinary path.
  EXPECT_LT(ordinary, 1'000u) << "of " << 2 * n << " acquisitions";
}

TEST(ChannelBiasTest, WithoutBiasEveryAcquisitionIsOrdinary) {
  // The counter the test above relies on does count: a channel used from a plain thread
  // and an actor alternately never settles on one worker.
  auto ch = smarm::channel<int>();  // not a structured binding: lambdas below capture it
  std::uint64_t ordinary = 0;
  auto r = smarm::test::run_on(1, [&] {
    const std::uint64_t before = smarm::stats().total().channel_locks;
    for (int i = 0; i < 100; ++i) {
      std::thread([&ch, i] { (void)ch.tx.send(i); }).join();
      auto v = ch.rx.recv();
      EXPECT_TRUE(v && *v == i);
    }
    ordinary = smarm::stats().total().channel_locks - before;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_GE(ordinary, 100u);  // each recv on the worker, at least
}

TEST(ChannelBiasTest, ForeignSendersRevokeTheBiasAndNothingIsLost) {
  // An actor producer makes the channel biased to the only worker; plain threads keep
  // sending at the same time, each send revoking the bias the worker keeps re-earning.
  const std::int64_t per = smarm::test::scaled<std::int64_t>(100'000, 20'000, 5'000);
  const int threads = 2;
  auto r = smarm::test::run_on(1, [=] {
    auto [tx, rx] = smarm::channel<std::int64_t>();
    std::vector<std::thread> foreign;
    for (int t = 0; t < threads; ++t)
      foreign.emplace_back([=, tx = tx]() mutable {
        for (std::int64_t i = 1; i <= per; ++i) ASSERT_TRUE(is_ok(tx.send(i)));
      });
    auto local = smarm::spawn([=, tx = tx]() mutable {
      for (std::int64_t i = 1; i <= per; ++i) {
        ASSERT_TRUE(is_ok(tx.send(i)));
        if (i % 256 == 0) (void)smarm::yield_now();  // let the receiver run on this worker
      }
    });
    tx.close();
    std::int64_t sum = 0, count = 0;
    while (auto v = rx.recv()) {
      sum += *v;
      ++count;
    }
    // Closed: every sender is gone, so the foreign threads are finishing; joining them
    // blocks this worker only for that moment.
    for (auto& f : foreign) f.join();
    EXPECT_TRUE(is_ok(local.join()));
    EXPECT_EQ(count, per * (threads + 1));
    EXPECT_EQ(sum, per * (per + 1) / 2 * (threads + 1));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(ChannelBiasTest, TheBiasNeverMovesToASecondWorker) {
  // A lock's bias goes to the first worker that earns it and to no other (see
  // detail/biased_lock.hpp for the race a hand-over would open). Two runtimes of one
  // worker each, alive at once, so their workers are distinct: the channel becomes biased
  // to A's worker, then B's worker alone uses it for a long streak and must still take
  // every lock the ordinary way.
  if (!smarm::debug::channel_bias_available())
    GTEST_SKIP() << "channel lock biasing is unavailable here (no membarrier(2), TSan, or "
                    "SMARM_CHANNEL_BIAS=0)";
  std::int64_t n =
      smarm::test::scaled<std::int64_t>(100'000, 20'000, 5'000);  // captured: not const
  auto ch = smarm::bounded_channel<std::int64_t>(64);
  // pump() sends 1..n then 0 through the channel from a spawned producer and receives
  // them on the calling actor; it returns the ordinary acquisitions this runtime made.
  auto pump = [&ch, n] {
    const std::uint64_t before = smarm::stats().total().channel_locks;
    auto producer = smarm::spawn([tx = ch.tx, n]() mutable {
      for (std::int64_t i = 1; i <= n; ++i) ASSERT_TRUE(is_ok(tx.send(i)));
      ASSERT_TRUE(is_ok(tx.send(0)));
    });
    std::int64_t sum = 0;
    for (;;) {
      auto v = ch.rx.recv();
      if (!v || *v == 0) break;
      sum += *v;
    }
    EXPECT_EQ(sum, n * (n + 1) / 2);
    EXPECT_TRUE(is_ok(producer.join()));
    return smarm::stats().total().channel_locks - before;
  };

  auto [hold_tx, hold_rx] = smarm::channel<int>();
  std::promise<std::uint64_t> a_done;
  std::thread runtime_a([&, hold = std::move(hold_rx)]() mutable {
    auto r = smarm::test::run_on(1, [&] {
      a_done.set_value(pump());
      (void)hold.recv();  // keep worker A alive (and its address taken) until B is done
    });
    EXPECT_TRUE(is_ok(r));
  });
  const std::uint64_t ordinary_a = a_done.get_future().get();
  std::uint64_t ordinary_b = 0;
  auto r = smarm::test::run_on(1, [&] { ordinary_b = pump(); });
  (void)hold_tx.send(1);
  runtime_a.join();
  ASSERT_TRUE(is_ok(r));
  EXPECT_LT(ordinary_a, 1'000u) << "the first worker should have earned the bias";
  EXPECT_GE(ordinary_b, static_cast<std::uint64_t>(2 * n)) << "the bias moved to worker B";
}

TEST(ChannelBiasTest, TheRuntimeProbesForBiasBeforeItsFirstActorRuns) {
  // The membarrier probe (syscalls that stalled ~100 ms on a loaded machine) runs when the
  // runtime is built, not on the first lock slow path that earns a bias, where it would
  // hold the channel's spin lock. So the root actor, before touching any channel, already
  // finds the answer published — the same one debug::channel_bias_available() gives.
  // (Under ctest this test runs in a process of its own, where nothing probed earlier.)
  bool enabled_in_root = false;
  auto r = smarm::test::run_on(1, [&] { enabled_in_root = smarm::detail::lock_bias_enabled(); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(enabled_in_root, smarm::debug::channel_bias_available());
  EXPECT_EQ(smarm::detail::lock_bias_enabled(), smarm::debug::channel_bias_available());
}

}  // namespace
