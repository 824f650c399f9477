// SPDX-License-Identifier: Apache-2.0
// smarm-test: standalone  (markers: tests/CMakeLists.txt)
// channel_batch_test.cpp — Receiver::recv_some and Sender::send_all: the burst forms of recv
// and send. They must keep every rule of the one-value forms — order, exactly-once delivery,
// back-pressure, parked senders let in as room appears, values handed back on failure —
// while taking or queueing several values under one lock.
//
// The error paths of send_all (empty Sender, NotInActor, an allocation failing while the
// ring grows) must hand back exactly the values that were not queued, in order.
#include <malloc.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <new>
#include <numeric>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/sanitizers.hpp"

// --- allocation-failure injection -------------------------------------------------------
//
// A channel's ring (detail/ring_queue.hpp) grows through the aligned ::operator new, which
// smarm replaces (src/core/preempt.cpp) with a call to posix_memalign. This test binary
// interposes posix_memalign so that the next allocation whose size is a multiple of a
// chosen size, on the thread that armed it, fails as if memory were exhausted; the
// replaced operator new then throws std::bad_alloc from inside the ring's growth. Every
// other call is served by memalign (the sanitizers intercept it, so their bookkeeping
// stays right).
//
// Not under ThreadSanitizer: its runtime owns operator new (smarm does not replace it
// there), so the ring never reaches posix_memalign and there is nothing to intercept.
#if !SMARM_TEST_TSAN
#define SMARM_TEST_ALLOC_FAILURE_INJECTION 1
namespace {
// Thread-local so that another worker's allocation can never take the failure meant for
// the actor that armed it (the actor cannot change threads: it neither parks nor is
// preempted between arming and the allocation).
constinit thread_local std::size_t tls_fail_unit = 0;  // 0: disarmed
constinit thread_local int tls_failures = 0;           // failures injected on this thread
}  // namespace

extern "C" int posix_memalign(void** out, std::size_t align, std::size_t size) noexcept {
  if (tls_fail_unit != 0 && size != 0 && size % tls_fail_unit == 0) {
    tls_fail_unit = 0;
    ++tls_failures;
    return ENOMEM;
  }
  if (align == 0 || (align & (align - 1)) != 0 || align % sizeof(void*) != 0) return EINVAL;
  void* p = ::memalign(align, size);
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}
#else
#define SMARM_TEST_ALLOC_FAILURE_INJECTION 0
#endif

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

// On a rendezvous channel send_all hands one value to each receiver, so when the receiver
// goes away, or the sender is cancelled, mid-batch, nothing is queued to be lost: the batch
// keeps exactly the values no receiver took.
TEST_P(ChannelBatchTest, RendezvousSendAllKeepsEveryValueNoReceiverTook) {
  auto r = run([] {
    {  // The receiver takes 6 and leaves while the sender waits with the 7th.
      auto [tx, rx] = smarm::bounded_channel<int>(0);
      auto reader = smarm::spawn([rx = std::move(rx)]() mutable {
        std::vector<int> got;
        for (int i = 0; i < 6; ++i)
          if (auto v = rx.recv()) got.push_back(*v);
        return got;
      });
      auto batch = iota_vec(0, 20);
      EXPECT_TRUE(has_errc(tx.send_all(batch), Errc::Closed));
      EXPECT_EQ(batch, iota_vec(6, 14));
      auto got = reader.join();
      EXPECT_TRUE(is_ok(got));
      if (got) {
        EXPECT_EQ(*got, iota_vec(0, 6));
      }
    }
    {  // Nobody receives: the sender waits with its first value and is cancelled.
      auto [tx, rx] = smarm::bounded_channel<int>(0);
      auto [left_tx, left_rx] = smarm::channel<std::vector<int>>();
      auto sender = smarm::spawn([tx = std::move(tx), left_tx = std::move(left_tx)]() mutable {
        auto batch = iota_vec(0, 10);
        EXPECT_TRUE(has_errc(tx.send_all(batch), Errc::Cancelled));
        (void)left_tx.send(std::move(batch));
      });
      // Wait until the sender is parked in its send (it is a waiter on the channel).
      while (smarm::debug::dump_actors().find("waiting for send") == std::string::npos)
        (void)smarm::yield_now();
      EXPECT_TRUE(is_ok(sender.cancel()));
      auto left = left_rx.recv();
      EXPECT_TRUE(is_ok(left));
      if (left) {
        EXPECT_EQ(*left, iota_vec(0, 10));
      }
      EXPECT_FALSE(rx.try_recv().has_value());
      (void)sender.join();
    }
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
  // Outside an actor nobody can be waited for: NotInActor, and the batch is whole.
  auto [tx, rx] = smarm::bounded_channel<int>(0);
  auto batch = iota_vec(0, 4);
  EXPECT_TRUE(has_errc(tx.send_all(batch), Errc::NotInActor));
  EXPECT_EQ(batch, iota_vec(0, 4));
}

// A send_all on a full bounded channel waits for room with no value in hand; the other
// senders (send(), select's send case) wait with theirs. Whatever mix of receive forms
// drains the channel, every value arrives exactly once and each sender's values in order.
TEST_P(ChannelBatchTest, SendAllWaitingForRoomSharesAFullChannelWithOtherSenders) {
  for (std::size_t cap : {std::size_t{1}, std::size_t{2}, std::size_t{5}}) {
    auto r = run([cap] {
      constexpr int kPerSender = 300;
      auto [tx, rx] = smarm::bounded_channel<int>(cap);
      std::vector<smarm::JoinHandle<void>> senders;
      constexpr int kBulk = 4;  // send_all senders: bursts of 7, then the rest at once
      for (int k = 0; k < kBulk; ++k)
        senders.push_back(smarm::spawn([k, tx = tx]() mutable {
          for (int i = 0; i < kPerSender;) {
            const int n = i == 0 ? 7 : kPerSender - i;
            auto batch = iota_vec(k * 1000 + i, n);
            EXPECT_TRUE(is_ok(tx.send_all(batch)));
            i += n;
          }
        }));
      senders.push_back(smarm::spawn([tx = tx]() mutable {
        for (int i = 0; i < kPerSender; ++i) EXPECT_TRUE(is_ok(tx.send(kBulk * 1000 + i)));
      }));
      senders.push_back(smarm::spawn([tx = tx]() mutable {
        for (int i = 0; i < kPerSender; ++i) {
          auto s = smarm::select(smarm::send(tx, (kBulk + 1) * 1000 + i));
          EXPECT_TRUE(static_cast<bool>(s));
        }
      }));
      tx.close();
      std::vector<int> got;
      std::vector<int> buf;
      for (int turn = 0;; ++turn) {
        if (turn % 3 == 0) {
          auto v = rx.recv();
          if (!v) break;
          got.push_back(*v);
        } else if (turn % 3 == 1) {
          buf.clear();
          auto n = rx.recv_some(buf, 3);
          if (!n) break;
          got.insert(got.end(), buf.begin(), buf.end());
        } else {
          auto s = smarm::select(smarm::recv(rx));
          if (!s) break;
          got.push_back(s.get<0>());
        }
        if (turn % 5 == 0) (void)smarm::yield_now();
      }
      for (auto& h : senders) EXPECT_TRUE(is_ok(h.join()));
      EXPECT_EQ(got.size(), std::size_t{(kBulk + 2) * kPerSender}) << "capacity " << cap;
      for (int k = 0; k < kBulk + 2; ++k) {
        std::vector<int> mine;
        for (int v : got)
          if (v / 1000 == k) mine.push_back(v);
        EXPECT_EQ(mine, iota_vec(k * 1000, kPerSender)) << "sender " << k << ", capacity " << cap;
      }
      return 0;
    });
    EXPECT_TRUE(is_ok(r));
  }
}

// A send_all woken for room that then gives up (cancelled before it ran) must not strand
// the sender parked behind it: the receiver still gets that sender's value.
TEST_P(ChannelBatchTest, ASendAllWokenForRoomThatGivesUpStrandsNoOtherSender) {
  auto r = run([] {
    auto [tx, rx] = smarm::bounded_channel<int>(1);
    auto [left_tx, left_rx] = smarm::channel<std::vector<int>>();
    EXPECT_TRUE(is_ok(tx.send(-1)));  // full from the start
    auto parked_on_send = [](const char* name) {
      const std::string want = std::string("'") + name + "' parked: waiting for send";
      while (smarm::debug::dump_actors().find(want) == std::string::npos) (void)smarm::yield_now();
    };
    auto bulk = smarm::spawn(smarm::SpawnOptions{.name = "bulk"},
                             [tx = tx, left_tx = std::move(left_tx)]() mutable {
                               auto batch = iota_vec(1, 10);
                               auto s = tx.send_all(batch);
                               EXPECT_TRUE(has_errc(s, Errc::Cancelled));
                               (void)left_tx.send(std::move(batch));
                             });
    parked_on_send("bulk");
    auto single = smarm::spawn(smarm::SpawnOptions{.name = "single"},
                               [tx = tx]() mutable { EXPECT_TRUE(is_ok(tx.send(99))); });
    parked_on_send("single");
    tx.close();
    // This pop wakes "bulk" (first in line) for the room; cancel it before it can use it.
    auto first = rx.recv();
    EXPECT_TRUE(is_ok(bulk.cancel()));
    EXPECT_TRUE(first && *first == -1);
    std::vector<int> rest;
    while (auto v = rx.recv()) rest.push_back(*v);  // ends: every sender finishes
    EXPECT_TRUE(is_ok(single.join()));
    (void)bulk.join();
    auto left = left_rx.recv();
    EXPECT_TRUE(is_ok(left));
    if (!left) return 1;
    // "bulk" may have queued a prefix of its batch before the cancel reached it.
    std::vector<int> from_bulk;
    for (int v : rest)
      if (v != 99) from_bulk.push_back(v);
    from_bulk.insert(from_bulk.end(), left->begin(), left->end());
    EXPECT_EQ(from_bulk, iota_vec(1, 10));
    EXPECT_EQ(std::count(rest.begin(), rest.end(), 99), 1);
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

TEST_P(ChannelBatchTest, SendAllOnAnEmptySenderIsClosedAndKeepsTheBatch) {
  // Outside any runtime: an empty Sender has nothing to wait on, so it fails the same way.
  smarm::Sender<int> never_connected;
  auto batch = iota_vec(0, 5);
  EXPECT_TRUE(has_errc(never_connected.send_all(batch), Errc::Closed));
  EXPECT_EQ(batch, iota_vec(0, 5));
  auto r = run([] {
    smarm::Sender<int> empty;
    auto b = iota_vec(0, 5);
    EXPECT_TRUE(has_errc(empty.send_all(b), Errc::Closed));
    EXPECT_EQ(b, iota_vec(0, 5));
    // A moved-from Sender is empty too; the channel it came from gets nothing.
    auto [tx, rx] = smarm::bounded_channel<int>(8);
    auto moved_to = std::move(tx);
    EXPECT_TRUE(has_errc(tx.send_all(b), Errc::Closed));  // NOLINT(bugprone-use-after-move)
    EXPECT_EQ(b, iota_vec(0, 5));
    EXPECT_EQ(rx.size(), 0u);
    // An empty batch on an empty Sender is still Closed: the Sender is checked first.
    std::vector<int> none;
    EXPECT_TRUE(has_errc(empty.send_all(none), Errc::Closed));
    EXPECT_TRUE(none.empty());
    // The live Sender still works and its values are the only ones that arrive.
    EXPECT_TRUE(is_ok(moved_to.send_all(b)));
    EXPECT_TRUE(b.empty());
    moved_to.close();
    std::vector<int> got;
    while (auto v = rx.recv()) got.push_back(*v);
    EXPECT_EQ(got, iota_vec(0, 5));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(ChannelBatchTest, SendAllThatMustWaitOutsideAnActorIsNotInActorAndKeepsTheRest) {
  auto ch = smarm::bounded_channel<int>(3);
  auto batch = iota_vec(0, 10);
  // No runtime on this thread: the first three fit and are queued, the fourth would wait.
  EXPECT_TRUE(has_errc(ch.tx.send_all(batch), Errc::NotInActor));
  EXPECT_EQ(batch, iota_vec(3, 7));
  EXPECT_EQ(ch.rx.size(), 3u);
  auto r = run([&ch, &batch] {
    // From a plain thread while the runtime runs: still no actor, still NotInActor, and
    // nothing more is queued (the channel is still full).
    std::thread plain(
        [&ch, &batch] { EXPECT_TRUE(has_errc(ch.tx.send_all(batch), Errc::NotInActor)); });
    plain.join();
    EXPECT_EQ(batch, iota_vec(3, 7));
    // From an actor the rest goes through, after what was queued before, in order.
    auto reader = smarm::spawn([rx = std::move(ch.rx)]() mutable {
      std::vector<int> got;
      while (auto v = rx.recv()) got.push_back(*v);
      return got;
    });
    EXPECT_TRUE(is_ok(ch.tx.send_all(batch)));
    EXPECT_TRUE(batch.empty());
    ch.tx.close();
    auto got = reader.join();
    EXPECT_TRUE(is_ok(got));
    if (!got) return 1;
    EXPECT_EQ(*got, iota_vec(0, 10));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

// Padded is a value of an unusual size (48), so that a buffer of them is recognisable by
// its size alone.
struct Padded {
  int v = 0;
  char pad[44] = {};
  explicit Padded(int x) : v(x) {}
};
static_assert(sizeof(Padded) == 48);
static_assert(std::is_nothrow_move_constructible_v<Padded>);

std::vector<Padded> padded_vec(int from, int n) {
  std::vector<Padded> v;
  for (int i = 0; i < n; ++i) v.emplace_back(from + i);
  return v;
}
std::vector<int> values_of(const std::vector<Padded>& v) {
  std::vector<int> out;
  for (const auto& p : v) out.push_back(p.v);
  return out;
}

// alloc_failure_injectable() checks that the interposed posix_memalign really is what the
// ring's allocation reaches in this process. It is not under ThreadSanitizer (its runtime
// owns operator new) nor under valgrind (which replaces operator new itself).
bool alloc_failure_injectable() {
#if SMARM_TEST_ALLOC_FAILURE_INJECTION
  constexpr std::align_val_t kAlign{alignof(Padded)};
  tls_fail_unit = sizeof(Padded);
  bool failed = false;
  try {
    // volatile: the compiler may drop an unused new/delete pair, and the probe with it.
    void* volatile p = ::operator new(sizeof(Padded) * 4, kAlign);
    ::operator delete(p, kAlign);
  } catch (const std::bad_alloc&) {
    failed = true;
  }
  tls_fail_unit = 0;
  return failed;
#else
  return false;
#endif
}

// BadAllocOutcome is what send_all_with_failing_growth saw.
struct BadAllocOutcome {
  bool threw_bad_alloc = false;
  int injected = 0;                // failures the interposed posix_memalign made
  std::vector<int> received;       // everything the channel delivered, in order
  std::vector<int> left_in_batch;  // what send_all handed back
};

constexpr int kPrimed = 4, kTotal = 1000;

// send_all_with_failing_growth queues 0..3 with send(), then send_all()s 4..999 through
// the same unbounded channel while the next allocation of room for values fails: the
// channel must grow to take the batch, and cannot. Then it sends 100 and drains the
// channel, which only works if the failed send_all released the channel's lock.
BadAllocOutcome send_all_with_failing_growth() {
  BadAllocOutcome out;
  auto [tx, rx] = smarm::channel<Padded>();
  for (int i = 0; i < kPrimed; ++i) EXPECT_TRUE(is_ok(tx.send(Padded(i))));
  auto batch = padded_vec(kPrimed, kTotal - kPrimed);
#if SMARM_TEST_ALLOC_FAILURE_INJECTION
  {
    // No switch between arming and the allocation: the failure stays on this thread.
    smarm::NoPreemptScope keep_this_worker;
    const int before = tls_failures;
    tls_fail_unit = sizeof(Padded);
    try {
      (void)tx.send_all(batch);
    } catch (const std::bad_alloc&) {
      out.threw_bad_alloc = true;
    }
    tls_fail_unit = 0;
    out.injected = tls_failures - before;
  }
#endif
  out.left_in_batch = values_of(batch);
  EXPECT_TRUE(is_ok(tx.send(Padded(100))));
  tx.close();
  while (auto v = rx.recv()) out.received.push_back(v->v);
  return out;
}

TEST_P(ChannelBatchTest, BadAllocGrowingTheRingInSendAllPropagatesAndLeavesTheChannelUsable) {
  if (!alloc_failure_injectable())
    GTEST_SKIP() << "cannot make the ring's allocation fail here (ThreadSanitizer or valgrind "
                    "owns operator new)";
  auto r = run([] {
    auto o = send_all_with_failing_growth();
    EXPECT_EQ(o.injected, 1) << "the channel took the batch without allocating room for it";
    EXPECT_TRUE(o.threw_bad_alloc);
    // Delivered: the values queued before, then those send_all queued before the failure,
    // in order, then the send made after it.
    EXPECT_GE(o.received.size(), std::size_t{kPrimed + 1});
    if (o.received.size() < std::size_t{kPrimed + 1}) return 1;
    EXPECT_EQ(o.received.back(), 100);
    const int delivered = static_cast<int>(o.received.size()) - 1;
    EXPECT_EQ(std::vector<int>(o.received.begin(), o.received.end() - 1), iota_vec(0, delivered));
    // The batch keeps a tail of what it held, in order, and nothing that was delivered.
    EXPECT_FALSE(o.left_in_batch.empty());
    if (o.left_in_batch.empty()) return 1;
    EXPECT_EQ(o.left_in_batch.back(), kTotal - 1);
    const int first = o.left_in_batch.front();
    EXPECT_GE(first, delivered);
    EXPECT_EQ(o.left_in_batch, iota_vec(first, kTotal - first));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

// Nothing is lost: the values whose slots could not be made stay in the batch with the
// rest (send_all makes room for a run of values before moving any of them).
TEST_P(ChannelBatchTest, BadAllocGrowingTheRingInSendAllLosesNoValue) {
  if (!alloc_failure_injectable())
    GTEST_SKIP() << "cannot make the ring's allocation fail here (ThreadSanitizer or valgrind "
                    "owns operator new)";
  auto r = run([] {
    auto o = send_all_with_failing_growth();
    EXPECT_TRUE(o.threw_bad_alloc);
    // What was delivered (before the later send of 100) and what the batch kept, together,
    // are every value, once, in order.
    std::vector<int> all(o.received.begin(), o.received.end() - (o.received.empty() ? 0 : 1));
    all.insert(all.end(), o.left_in_batch.begin(), o.left_in_batch.end());
    EXPECT_EQ(all, iota_vec(0, kTotal));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

}  // namespace
