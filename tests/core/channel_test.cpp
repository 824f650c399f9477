// SPDX-License-Identifier: Apache-2.0
// channel_test.cpp — channel<T>(): order, moves, parking, try_recv and close in every order.
//
// Close semantics under test (channel.hpp): every Sender gone -> recv() drains what was
// sent, then Closed; Receiver gone -> send() fails with SendError{Closed} handing the
// value back, and values still queued are destroyed. Copies of a Sender are senders.
#include <malloc.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using smarm::Errc;
using smarm::test::errc_or_ok;
using smarm::test::has_errc;
using smarm::test::is_ok;

class ChannelWorkersTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(ChannelWorkersTest);

// Tracked counts copies, moves and destructions of live values.
struct Tracked {
  static inline std::atomic<int> copies{0};
  static inline std::atomic<int> alive{0};
  int v = 0;
  explicit Tracked(int x) : v(x) { alive.fetch_add(1); }
  Tracked(const Tracked& o) : v(o.v) {
    copies.fetch_add(1);
    alive.fetch_add(1);
  }
  Tracked(Tracked&& o) noexcept : v(o.v) { alive.fetch_add(1); }
  Tracked& operator=(const Tracked& o) {
    v = o.v;
    copies.fetch_add(1);
    return *this;
  }
  Tracked& operator=(Tracked&&) noexcept = default;
  ~Tracked() { alive.fetch_sub(1); }
};

TEST_P(ChannelWorkersTest, ValuesArriveInSendOrder) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable {
      std::vector<int> got;
      for (;;) {
        auto v = rx.recv();
        if (!v) {
          EXPECT_EQ(v.error().code(), Errc::Closed);
          break;
        }
        got.push_back(*v);
      }
      return got;
    });
    for (int i = 0; i < 1000; ++i) EXPECT_TRUE(is_ok(tx.send(i)));
    tx.close();
    return h.join().value_or(std::vector<int>{});
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_EQ(r->size(), 1000u);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ((*r)[static_cast<std::size_t>(i)], i);
}

TEST_P(ChannelWorkersTest, MoveOnlyValuesAreMovedThrough) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<std::unique_ptr<int>>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable {
      int sum = 0;
      while (auto v = rx.recv()) sum += **v;
      return sum;
    });
    for (int i = 1; i <= 100; ++i) EXPECT_TRUE(is_ok(tx.send(std::make_unique<int>(i))));
    tx.close();
    return h.join().value_or(-1);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 5050);
}

TEST_P(ChannelWorkersTest, ValuesAreNeverCopied) {
  Tracked::copies = 0;
  auto r = run([] {
    auto [tx, rx] = smarm::channel<Tracked>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable {
      int sum = 0;
      while (auto v = rx.recv()) sum += v->v;
      return sum;
    });
    for (int i = 1; i <= 100; ++i) EXPECT_TRUE(is_ok(tx.send(Tracked(i))));  // grows the ring
    tx.close();
    return h.join().value_or(-1);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 5050);
  EXPECT_EQ(Tracked::copies.load(), 0);
}

TEST_P(ChannelWorkersTest, SendersDroppedRecvDrainsThenClosed) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(is_ok(tx.send(i)));
    tx.close();
    EXPECT_TRUE(rx.is_closed());
    EXPECT_EQ(rx.size(), 5u);
    std::vector<int> got;
    for (int i = 0; i < 5; ++i) got.push_back(rx.recv().value_or(-1));
    EXPECT_TRUE(has_errc(rx.recv(), Errc::Closed));
    EXPECT_TRUE(has_errc(rx.recv(), Errc::Closed));  // and stays closed
    EXPECT_TRUE(has_errc(rx.try_recv(), Errc::Closed));
    return got;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST_P(ChannelWorkersTest, LastSenderDroppedWakesAParkedReceiverWithClosed) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [ptx, prx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx), ptx = std::move(ptx)]() mutable {
      EXPECT_TRUE(is_ok(ptx.send(1)));
      return errc_or_ok(rx.recv());
    });
    EXPECT_TRUE(is_ok(prx.recv()));
    tx.close();
    return h.join().value_or(Errc{});
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, Errc::Closed);
}

TEST_P(ChannelWorkersTest, CopiesOfASenderCountAsSenders) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [ptx, prx] = smarm::channel<int>();
    smarm::Sender<int> copy = tx;
    smarm::Sender<int> moved_into = std::move(tx);  // a move is not a new sender
    auto h = smarm::spawn([rx = std::move(rx), ptx = std::move(ptx)]() mutable {
      std::vector<int> got;
      EXPECT_TRUE(is_ok(ptx.send(1)));
      for (;;) {
        auto v = rx.recv();
        if (!v) {
          got.push_back(v.error().code() == Errc::Closed ? -100 : -200);
          return got;
        }
        got.push_back(*v);
      }
    });
    EXPECT_TRUE(is_ok(prx.recv()));
    moved_into.close();  // one sender left: the receiver must stay parked
    EXPECT_FALSE(h.finished());
    EXPECT_TRUE(is_ok(copy.send(7)));
    EXPECT_TRUE(has_errc(tx.send(8), Errc::Closed));  // moved-from sender is empty
    copy.close();
    return h.join().value_or(std::vector<int>{});
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, (std::vector<int>{7, -100}));
}

TEST_P(ChannelWorkersTest, ReceiverDroppedSendHandsTheValueBack) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<std::unique_ptr<int>>();
    EXPECT_FALSE(tx.is_closed());
    { auto gone = std::move(rx); }
    EXPECT_TRUE(tx.is_closed());
    auto p = std::make_unique<int>(99);
    int* raw = p.get();
    auto s = tx.send(std::move(p));
    EXPECT_FALSE(s.has_value());
    if (s) return false;
    EXPECT_EQ(s.error().code(), Errc::Closed);
    EXPECT_FALSE(s.error().message().empty());
    std::unique_ptr<int> back = std::move(s).error().into_value();
    return back.get() == raw && *back == 99;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(*r) << "into_value() did not return the very value that was sent";
}

TEST_P(ChannelWorkersTest, ReceiverDroppedDestroysQueuedValues) {
  const int before = Tracked::alive.load();
  auto r = run([before] {
    auto [tx, rx] = smarm::channel<Tracked>();
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(is_ok(tx.send(Tracked(i))));
    EXPECT_EQ(Tracked::alive.load(), before + 10);
    rx = smarm::Receiver<Tracked>();  // drop the real receiver
    EXPECT_EQ(Tracked::alive.load(), before);
    auto s = tx.send(Tracked(11));
    EXPECT_TRUE(has_errc(s, Errc::Closed));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
  EXPECT_EQ(Tracked::alive.load(), before);
}

TEST_P(ChannelWorkersTest, ReceiverDroppedWhileSendersRemainInOtherActors) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [ptx, prx] = smarm::channel<int>();
    auto h = smarm::spawn([tx = std::move(tx), prx = std::move(prx)]() mutable {
      (void)prx.recv();  // wait until the receiver is gone
      auto s = tx.send(3);
      return s ? -1 : (s.error().code() == Errc::Closed ? std::move(s).error().into_value() : -2);
    });
    { auto gone = std::move(rx); }
    EXPECT_TRUE(is_ok(ptx.send(0)));
    return h.join().value_or(-3);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 3);
}

TEST(ChannelTest, RecvParksUntilSend) {
  // The log is shared by two actors: on one worker their turns never overlap, but to the
  // memory model (and TSan) two actors are two threads, so the log is locked.
  struct Log {
    std::mutex mu;
    std::vector<std::string> lines;
    void push_back(std::string s) {
      std::lock_guard lock(mu);
      lines.push_back(std::move(s));
    }
  };
  auto r = smarm::test::run_on(1, [] {
    Log log;
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn([&log, rx = std::move(rx)]() mutable {
      log.push_back("recv");
      auto v = rx.recv();
      log.push_back("got " + std::to_string(v.value_or(-1)));
    });
    log.push_back("parent");  // the child ran first and is parked now
    EXPECT_FALSE(h.finished());
    EXPECT_GE(smarm::stats().actors_parked, 1u);
    EXPECT_TRUE(is_ok(tx.send(4)));
    log.push_back("sent");
    EXPECT_TRUE(is_ok(h.join()));
    std::lock_guard lock(log.mu);
    return log.lines;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, (std::vector<std::string>{"recv", "parent", "sent", "got 4"}));
}

TEST(ChannelTest, TryRecvNeverParks) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<int>();
    EXPECT_TRUE(has_errc(rx.try_recv(), Errc::WouldBlock));
    EXPECT_TRUE(is_ok(tx.send(1)));
    EXPECT_TRUE(is_ok(tx.send(2)));
    EXPECT_EQ(rx.try_recv().value_or(-1), 1);
    tx.close();
    EXPECT_EQ(rx.try_recv().value_or(-1), 2);  // drained before Closed
    EXPECT_TRUE(has_errc(rx.try_recv(), Errc::Closed));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(ChannelTest, ChannelsWorkOutsideActorsExceptRecv) {
  auto [tx, rx] = smarm::channel<std::string>();
  EXPECT_TRUE(has_errc(rx.recv(), Errc::NotInActor));
  EXPECT_TRUE(is_ok(tx.send("a")));
  EXPECT_EQ(rx.size(), 1u);
  EXPECT_EQ(rx.try_recv().value_or(""), "a");
  EXPECT_TRUE(has_errc(rx.try_recv(), Errc::WouldBlock));
}

TEST(ChannelTest, EmptyEndsReportClosed) {
  smarm::Sender<int> tx;
  smarm::Receiver<int> rx;
  EXPECT_TRUE(has_errc(tx.send(1), Errc::Closed));
  EXPECT_TRUE(tx.is_closed());
  EXPECT_TRUE(has_errc(rx.try_recv(), Errc::Closed));
  EXPECT_TRUE(rx.is_closed());
  EXPECT_EQ(rx.size(), 0u);
}

TEST(ChannelTest, SendFromPlainThreadsWakesAParkedReceiver) {
  int per_thread = smarm::test::scaled(20'000, 5'000, 1'000);
  auto r = smarm::test::run_on(1, [per_thread] {
    auto [tx, rx] = smarm::channel<int>();
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([tx = tx, per_thread]() mutable {  // a copy: one more sender
        for (int i = 0; i < per_thread; ++i) (void)tx.send(1);
      });
    tx.close();
    long sum = 0;
    while (auto v = rx.recv()) sum += *v;
    for (auto& t : threads) t.join();
    return sum;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 2L * per_thread);
}

TEST(ChannelTest, EightProducersIntoOneReceiverOnTwoWorkers) {
  constexpr std::uint64_t kProducers = 8;
  std::uint64_t per = smarm::test::scaled<std::uint64_t>(1'000'000, 100'000, 20'000);
  struct Tally {
    std::uint64_t count = 0;
    std::uint64_t sum = 0;
    bool in_order = true;
  };
  auto r = smarm::test::run_on(2, [per] {
    auto [tx, rx] = smarm::channel<std::uint64_t>();
    std::vector<smarm::JoinHandle<std::uint64_t>> producers;
    for (std::uint64_t p = 0; p < kProducers; ++p)
      producers.push_back(smarm::spawn([tx = tx, p, per]() mutable {
        std::uint64_t failed = 0;
        for (std::uint64_t i = 0; i < per; ++i)
          if (!tx.send((p << 32) | i)) ++failed;
        return failed;
      }));
    tx.close();
    Tally t;
    std::vector<std::uint64_t> next(kProducers, 0);
    while (auto v = rx.recv()) {
      const std::uint64_t p = *v >> 32;
      const std::uint64_t i = *v & 0xffffffffu;
      ++t.count;
      t.sum += i;
      if (p >= kProducers || i != next[p]) t.in_order = false;
      if (p < kProducers) next[p] = i + 1;
    }
    for (auto& h : producers) EXPECT_EQ(h.join().value_or(1), 0u);
    return t;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r->count, kProducers * per);
  EXPECT_EQ(r->sum, kProducers * (per * (per - 1) / 2));
  EXPECT_TRUE(r->in_order) << "values of one producer arrived out of order";
}

// --- Channel memory: a drained ring gives its memory back (ring_queue.hpp).

// rss_kib is this process's resident set (VmRSS), for the record only.
long rss_kib() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long kib = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  std::fclose(f);
  return kib;
}

TEST(ChannelMemoryTest, ADrainedFloodGivesItsBufferBack) {
  // The case at full size: 20M values queued, then drained. The ring grew to 32M
  // slots; afterwards at most 1 MiB of channel buffers may remain.
  constexpr int kFlood = smarm::test::scaled(20'000'000, 4'000'000, 2'000'000);
  auto r = smarm::test::run_on(1, [] {
    const std::uint64_t before = smarm::stats().channel_buffer_bytes;
    auto [tx, rx] = smarm::channel<std::uint32_t>();
    for (int i = 0; i < kFlood; ++i) tx.send(static_cast<std::uint32_t>(i)).value();
    const std::uint64_t full = smarm::stats().channel_buffer_bytes - before;
    EXPECT_GE(full, std::uint64_t{kFlood} * sizeof(std::uint32_t));  // the backlog shows
    EXPECT_GE(smarm::stats().channel_buffer_peak, full);
    for (int i = 0; i < kFlood; ++i) {
      auto v = rx.recv();
      ASSERT_TRUE(v);
      ASSERT_EQ(*v, static_cast<std::uint32_t>(i));  // order survives every shrink
    }
    const std::uint64_t after = smarm::stats().channel_buffer_bytes - before;
    EXPECT_LE(after, std::uint64_t{1} << 20);
    ::malloc_trim(0);
    std::printf(
        "channel memory: %d values; buffer %llu KiB full, %llu KiB drained; "
        "RSS after malloc_trim %ld KiB\n",
        kFlood, static_cast<unsigned long long>(full >> 10),
        static_cast<unsigned long long>(after >> 10), rss_kib());
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(ChannelMemoryTest, ABatchDrainGivesItsBufferBackToo) {
  // recv_some (what pipe stages use) takes values in bursts: the same shrink applies.
  constexpr int kFlood = smarm::test::scaled(4'000'000, 1'000'000, 500'000);
  auto r = smarm::test::run_on(1, [] {
    const std::uint64_t before = smarm::stats().channel_buffer_bytes;
    auto [tx, rx] = smarm::channel<std::uint64_t>();
    std::vector<std::uint64_t> batch;
    for (int i = 0; i < kFlood; ++i) batch.push_back(static_cast<std::uint64_t>(i));
    ASSERT_TRUE(is_ok(tx.send_all(batch)));
    std::uint64_t next = 0;
    std::vector<std::uint64_t> out;
    while (next < static_cast<std::uint64_t>(kFlood)) {
      out.clear();
      auto n = rx.recv_some(out, 256);
      ASSERT_TRUE(n);
      for (std::uint64_t v : out) ASSERT_EQ(v, next++);
    }
    EXPECT_LE(smarm::stats().channel_buffer_bytes - before, std::uint64_t{1} << 20);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(ChannelMemoryTest, ASteadyBacklogDoesNotReallocate) {
  // A stream with a steady backlog (100K values, a ring of 128K slots, a quarter full or
  // more all along) keeps its ring: the buffer size never changes while a million values
  // pass through.
  constexpr int kBacklog = 100'000;
  constexpr int kStream = smarm::test::scaled(1'000'000, 300'000, 100'000);
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::uint32_t>();
    std::uint32_t sent = 0, got = 0;
    for (; sent < kBacklog; ++sent) tx.send(sent).value();
    const std::uint64_t steady = smarm::stats().channel_buffer_bytes;
    for (int i = 0; i < kStream; ++i) {
      // Bursts of 64 either way keep the backlog between 100K - 64 and 100K.
      if (i % 128 < 64) {
        ASSERT_EQ(rx.recv().value(), got++);
      } else {
        tx.send(sent++).value();
      }
      if (i % 4096 == 0) {
        ASSERT_EQ(smarm::stats().channel_buffer_bytes, steady) << "at " << i;
      }
    }
    EXPECT_EQ(smarm::stats().channel_buffer_bytes, steady);
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(ChannelMemoryTest, ValuesKeepTheirOrderAcrossShrinksAndGrowths) {
  // Waves of sends and receives that make the ring shrink and grow again, with values
  // wrapped around the ring's end: every value arrives once, in order.
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<std::string>();
    std::uint64_t sent = 0, got = 0;
    const int top = smarm::test::scaled(50'000, 20'000, 20'000);
    for (int wave = 0; wave < 6; ++wave) {
      const int up = top >> (wave % 3);
      for (int i = 0; i < up; ++i) tx.send(std::to_string(sent++)).value();
      const std::uint64_t keep = (sent - got) / 16;
      while (sent - got > keep) ASSERT_EQ(rx.recv().value(), std::to_string(got++));
    }
    while (got < sent) ASSERT_EQ(rx.recv().value(), std::to_string(got++));
    EXPECT_TRUE(has_errc(rx.try_recv(), Errc::WouldBlock));
  });
  ASSERT_TRUE(is_ok(r));
}

}  // namespace
