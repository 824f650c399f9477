// channel_batch_test.cpp — Receiver::recv_some and Sender::send_all: the burst forms of recv
// and send. They must keep every rule of the one-value forms — order, exactly-once delivery,
// back-pressure, parked senders let in as room appears, values handed back on failure —
// while taking or queueing several values under one lock.
#include <algorithm>
#include <cstddef>
#include <memory>
#include <numeric>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using smarm::Errc;
using smarm::test::has_errc;
using smarm::test::is_ok;

class ChannelBatchTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(ChannelBatchTest);

std::vector<int> iota_vec(int from, int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), from);
  return v;
}

TEST_P(ChannelBatchTest, RecvSomeTakesWhatIsQueuedUpToMaxInOrder) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(is_ok(tx.send(i)));
    std::vector<int> out{-1};  // appended to, not replaced
    auto n = rx.recv_some(out, 4);
    EXPECT_TRUE(is_ok(n));
    EXPECT_EQ(*n, 4u);
    EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2, 3}));
    out.clear();
    n = rx.recv_some(out, 100);
    EXPECT_EQ(*n, 6u);
    EXPECT_EQ(out, iota_vec(4, 6));
    tx.close();
    out.clear();
    EXPECT_TRUE(has_errc(rx.recv_some(out, 8), Errc::Closed));
    EXPECT_TRUE(out.empty());
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(ChannelBatchTest, RecvSomeRejectsMaxZeroAndReportsCancelledAndNotInActor) {
  auto [tx, rx] = smarm::channel<int>();
  std::vector<int> out;
  EXPECT_TRUE(has_errc(rx.recv_some(out, 0), Errc::InvalidArgument));
  EXPECT_TRUE(has_errc(rx.recv_some(out, 4), Errc::NotInActor));
  auto r = run([rx = std::move(rx)]() mutable {
    auto [done_tx, done_rx] = smarm::channel<bool>();
    auto child = smarm::spawn([&rx, done_tx = std::move(done_tx)]() mutable {
      std::vector<int> got;
      auto res = rx.recv_some(got, 4);  // parks: nothing is queued
      (void)done_tx.send(has_errc(res, Errc::Cancelled) && got.empty());
    });
    (void)smarm::yield_now();
    EXPECT_TRUE(is_ok(child.cancel()));
    auto ok = done_rx.recv();
    EXPECT_TRUE(ok && *ok);
    (void)child.join();
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
  (void)tx;
}

TEST_P(ChannelBatchTest, RecvSomeLetsParkedSendersIntoTheRoomItMakes) {
  for (std::size_t cap : {0u, 1u, 3u}) {
    auto r = run([cap] {
      auto [tx, rx] = smarm::bounded_channel<int>(cap);
      constexpr int kSenders = 3, kEach = 200;
      for (int s = 0; s < kSenders; ++s)
        smarm::spawn([tx = tx, s]() mutable {
          for (int i = 0; i < kEach; ++i) EXPECT_TRUE(is_ok(tx.send(s * kEach + i)));
        }).detach();
      tx.close();
      std::vector<int> got, per_sender_last(kSenders, -1);
      std::vector<int> batch;
      while (true) {
        auto n = rx.recv_some(batch, 16);
        if (!n) {
          EXPECT_TRUE(has_errc(n, Errc::Closed));
          break;
        }
        EXPECT_EQ(*n, batch.size());
        EXPECT_GE(*n, 1u);
        EXPECT_LE(*n, 16u);
        for (int v : batch) {
          // Each sender's values arrive in its own order.
          EXPECT_GT(v, per_sender_last[static_cast<std::size_t>(v / kEach)]);
          per_sender_last[static_cast<std::size_t>(v / kEach)] = v;
          got.push_back(v);
        }
        batch.clear();
      }
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, iota_vec(0, kSenders * kEach)) << "capacity " << cap;
      return 0;
    });
    EXPECT_TRUE(is_ok(r));
  }
}

TEST_P(ChannelBatchTest, SendAllDeliversEverythingInOrderUnderBackPressure) {
  for (std::size_t cap :
       {std::size_t{0}, std::size_t{1}, std::size_t{7}, smarm::Receiver<int>::unbounded_capacity}) {
    auto r = run([cap] {
      auto ch = cap == smarm::Receiver<int>::unbounded_capacity ? smarm::channel<int>()
                                                                : smarm::bounded_channel<int>(cap);
      auto sender = smarm::spawn([tx = std::move(ch.tx)]() mutable {
        for (int round = 0; round < 20; ++round) {
          auto batch = iota_vec(round * 50, 50);
          EXPECT_TRUE(is_ok(tx.send_all(batch)));
          EXPECT_TRUE(batch.empty());
        }
      });
      std::vector<int> got;
      while (auto v = ch.rx.recv()) got.push_back(*v);
      EXPECT_TRUE(is_ok(sender.join()));
      EXPECT_EQ(got, iota_vec(0, 1000)) << "capacity " << cap;
      return 0;
    });
    EXPECT_TRUE(is_ok(r));
  }
}

TEST_P(ChannelBatchTest, SendAllToAGoneReceiverKeepsTheUnsentValues) {
  auto r = run([] {
    auto [tx, rx] = smarm::bounded_channel<int>(4);
    auto [got_tx, got_rx] = smarm::channel<std::vector<int>>();
    // The receiver takes 6 values and leaves; the sender is parked on a full channel then.
    auto reader = smarm::spawn([rx = std::move(rx), got_tx = std::move(got_tx)]() mutable {
      std::vector<int> got;
      for (int i = 0; i < 6; ++i)
        if (auto v = rx.recv()) got.push_back(*v);
      (void)got_tx.send(std::move(got));
    });
    auto batch = iota_vec(0, 20);
    auto s = tx.send_all(batch);
    EXPECT_TRUE(has_errc(s, Errc::Closed));
    auto got = got_rx.recv();
    EXPECT_TRUE(is_ok(got));
    EXPECT_EQ(*got, iota_vec(0, 6));
    // Values queued when the receiver left are destroyed with it (as with send()); what the
    // batch still holds was never queued, and follows on from what was.
    EXPECT_FALSE(batch.empty());
    if (batch.empty()) return 1;
    EXPECT_EQ(batch.back(), 19);
    EXPECT_EQ(batch, iota_vec(20 - static_cast<int>(batch.size()), static_cast<int>(batch.size())));
    EXPECT_GE(20 - static_cast<int>(batch.size()), 6);
    EXPECT_TRUE(is_ok(reader.join()));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(ChannelBatchTest, CancelledSendAllKeepsTheUnsentValues) {
  auto r = run([] {
    auto [tx, rx] = smarm::bounded_channel<int>(2);
    auto [left_tx, left_rx] = smarm::channel<std::vector<int>>();
    auto sender = smarm::spawn([tx = std::move(tx), left_tx = std::move(left_tx)]() mutable {
      auto batch = iota_vec(0, 10);
      auto s = tx.send_all(batch);  // parks after 2: nobody receives
      EXPECT_TRUE(has_errc(s, Errc::Cancelled));
      (void)left_tx.send(std::move(batch));
    });
    while (rx.size() < 2) (void)smarm::yield_now();
    (void)smarm::yield_now();
    EXPECT_TRUE(is_ok(sender.cancel()));
    auto left = left_rx.recv();
    EXPECT_TRUE(is_ok(left));
    if (!left) return 1;
    EXPECT_EQ(*left, iota_vec(2, 8));
    std::vector<int> queued;
    while (auto v = rx.try_recv()) queued.push_back(*v);
    EXPECT_EQ(queued, iota_vec(0, 2));
    (void)sender.join();
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(ChannelBatchTest, MoveOnlyValuesGoThroughBothForms) {
  auto r = run([] {
    auto [tx, rx] = smarm::bounded_channel<std::unique_ptr<int>>(3);
    auto sender = smarm::spawn([tx = std::move(tx)]() mutable {
      std::vector<std::unique_ptr<int>> batch;
      for (int i = 0; i < 50; ++i) batch.push_back(std::make_unique<int>(i));
      EXPECT_TRUE(is_ok(tx.send_all(batch)));
    });
    std::vector<std::unique_ptr<int>> got;
    while (rx.recv_some(got, 5)) {
    }
    EXPECT_TRUE(is_ok(sender.join()));
    EXPECT_EQ(got.size(), 50u);
    for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(*got[i], static_cast<int>(i));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

}  // namespace
