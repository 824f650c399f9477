// SPDX-License-Identifier: Apache-2.0
// mutex_stress_test.cpp — Mutex<T> under contention: ordered pairs of mutexes, storms of
// tiny timeouts and cancellations, guards passed between actors, and plain threads
// competing through try_lock. Counts and invariants only.
#include <sched.h>

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
using smarm::Deadline;
using smarm::Errc;
using smarm::Mutex;
using smarm::MutexGuard;
using smarm::test::is_ok;

class MutexStressTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(MutexStressTest);

// Cell is one protected counter plus a witness that only one owner is inside.
struct Cell {
  std::uint64_t count = 0;
  int inside = 0;  // plain: a second owner would race on it (TSan) or see it non-zero
  bool overlap = false;
};

TEST_P(MutexStressTest, OrderedPairsOfMutexesCountEveryIncrement) {
  // M mutexes; each actor repeatedly locks two of them in index order (so no deadlock),
  // with a mix of timeouts, and increments both. A successful pair adds 1 to each.
  const std::size_t mutexes = 8;
  const int actors = smarm::test::scaled(32, 16, 8);
  const int iters = smarm::test::scaled(4'000, 800, 150);
  auto r = run([=] {
    std::vector<std::unique_ptr<Mutex<Cell>>> ms;
    for (std::size_t i = 0; i < mutexes; ++i) ms.push_back(std::make_unique<Mutex<Cell>>());
    std::vector<std::atomic<std::uint64_t>> pairs_taken(mutexes);
    std::atomic<std::uint64_t> unexpected_errors{0};
    std::vector<smarm::JoinHandle<void>> hs;
    for (int a = 0; a < actors; ++a)
      hs.push_back(smarm::spawn([&, a] {
        std::uint64_t x = static_cast<std::uint64_t>(a) * 2654435761u + 1;
        for (int i = 0; i < iters; ++i) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          std::size_t lo = x % mutexes, hi = (x >> 8) % mutexes;
          if (lo == hi) hi = (hi + 1) % mutexes;
          if (lo > hi) std::swap(lo, hi);
          auto timeout = std::chrono::microseconds((x >> 16) % 50);
          auto g1 =
              (x >> 24) % 4 == 0 ? ms[lo]->lock_until(Deadline::max()) : ms[lo]->lock(timeout);
          if (!g1) {
            if (g1.error().code() != Errc::TimedOut) unexpected_errors.fetch_add(1);
            continue;
          }
          auto g2 = ms[hi]->lock(timeout);
          if (!g2) {
            if (g2.error().code() != Errc::TimedOut) unexpected_errors.fetch_add(1);
            continue;
          }
          for (auto* c : {&**g1, &**g2}) {
            if (c->inside++ != 0) c->overlap = true;
            ++c->count;
          }
          if (i % 8 == 0) (void)smarm::yield_now();
          (*g1)->inside--;
          (*g2)->inside--;
          pairs_taken[lo].fetch_add(1);
          pairs_taken[hi].fetch_add(1);
        }
      }));
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    EXPECT_EQ(unexpected_errors.load(), 0u);
    bool ok = true;
    for (std::size_t i = 0; i < mutexes; ++i) {
      auto g = ms[i]->try_lock();
      EXPECT_TRUE(is_ok(g)) << "mutex " << i << " left locked";
      if (!g) {
        ok = false;
        continue;
      }
      EXPECT_FALSE((*g)->overlap) << "mutex " << i << " had two owners at once";
      EXPECT_EQ((*g)->count, pairs_taken[i].load()) << "mutex " << i;
      ok = ok && !(*g)->overlap && (*g)->count == pairs_taken[i].load();
    }
    return ok;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(*r);
}

TEST_P(MutexStressTest, StormsOfTimeoutsAndCancellations) {
  // Rounds of lockers with 0-40 us timeouts (and some with none); a canceller actor
  // cancels a third of them at staggered moments. After each round the mutex must be
  // free, the count must match the successes and no timer may be left.
  const int rounds = smarm::test::scaled(40, 10, 4);
  const int actors = smarm::test::scaled(24, 12, 8);
  auto r = run([=] {
    Mutex<Cell> m;
    std::uint64_t expected = 0;
    for (int round = 0; round < rounds; ++round) {
      std::atomic<std::uint64_t> successes{0}, unexpected_errors{0};
      std::vector<smarm::JoinHandle<void>> hs;
      for (int a = 0; a < actors; ++a)
        hs.push_back(smarm::spawn([&, a] {
          for (int i = 0; i < 400; ++i) {
            auto g = (a + i) % 5 == 0 ? m.lock_until(Deadline::max())
                                      : m.lock(std::chrono::microseconds(((a * 7 + i) % 5) * 10));
            if (!g) {
              if (g.error().code() == Errc::Cancelled) return;
              if (g.error().code() != Errc::TimedOut) unexpected_errors.fetch_add(1);
              continue;
            }
            if ((*g)->inside++ != 0) (*g)->overlap = true;
            ++(*g)->count;
            if (i % 3 == 0) (void)smarm::yield_now();
            (*g)->inside--;
            successes.fetch_add(1);
          }
        }));
      for (int a = 0; a < actors; a += 3) {
        (void)smarm::sleep_for(std::chrono::microseconds(20 * (a % 4)));
        (void)hs[static_cast<std::size_t>(a)].cancel();  // StalePid if it already ended
      }
      for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
      EXPECT_EQ(unexpected_errors.load(), 0u);
      expected += successes.load();
      auto g = m.try_lock();
      EXPECT_TRUE(is_ok(g)) << "round " << round << ": the mutex was left locked";
      if (!g) return false;
      EXPECT_FALSE((*g)->overlap);
      EXPECT_EQ((*g)->count, expected) << "round " << round;
      EXPECT_EQ(smarm::stats().timers_pending, 0u);
      if ((*g)->overlap || (*g)->count != expected) return false;
    }
    return true;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(*r);
}

TEST_P(MutexStressTest, GuardsPassedAlongARingOfActors) {
  // K actors in a ring of channels pass one guard around; each increments the value and
  // forwards the guard. Meanwhile other actors wait for the mutex with timeouts: they
  // only get it when the ring is done and the last member unlocks.
  const int members = 8;
  const int laps = smarm::test::scaled(2'000, 300, 50);
  auto r = run([=] {
    Mutex<std::uint64_t> m(0u);
    std::vector<smarm::Sender<MutexGuard<std::uint64_t>>> txs;
    std::vector<smarm::Receiver<MutexGuard<std::uint64_t>>> rxs;
    for (int i = 0; i < members; ++i) {
      auto [tx, rx] = smarm::channel<MutexGuard<std::uint64_t>>();
      txs.push_back(std::move(tx));
      rxs.push_back(std::move(rx));
    }
    const std::uint64_t hops =
        static_cast<std::uint64_t>(members) * static_cast<std::uint64_t>(laps);
    std::vector<smarm::JoinHandle<void>> ring;
    for (int i = 0; i < members; ++i)
      ring.push_back(smarm::spawn([rx = std::move(rxs[static_cast<std::size_t>(i)]),
                                   tx = txs[static_cast<std::size_t>((i + 1) % members)],
                                   last = hops]() mutable {
        while (auto g = rx.recv()) {
          if (++**g == last) return;  // the last hop: the guard unlocks here
          if (!tx.send(std::move(*g))) return;
        }
      }));
    auto held = m.try_lock();  // the ring members are parked in recv(): nobody else has it
    EXPECT_TRUE(is_ok(held));
    std::atomic<int> waiter_timeouts{0}, waiter_wins{0};
    std::vector<smarm::JoinHandle<void>> waiters;
    for (int i = 0; i < 4; ++i)
      waiters.push_back(smarm::spawn([&] {
        for (;;) {
          auto g = m.lock(100us);
          if (g) {
            EXPECT_EQ(**g, hops) << "a waiter got the mutex while the ring still held it";
            waiter_wins.fetch_add(1);
            return;
          }
          waiter_timeouts.fetch_add(1);
        }
      }));
    if (held) {
      EXPECT_TRUE(is_ok(txs[0].send(std::move(*held))));
    }
    txs.clear();
    for (auto& h : ring) EXPECT_TRUE(is_ok(h.join()));
    for (auto& h : waiters) EXPECT_TRUE(is_ok(h.join()));
    EXPECT_EQ(waiter_wins.load(), 4);
    auto last = m.try_lock();
    return last ? **last : 0u;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, static_cast<std::uint64_t>(members) * static_cast<std::uint64_t>(laps));
}

TEST_P(MutexStressTest, PlainThreadsCompeteThroughTryLock) {
  // Two plain threads (outside the runtime) take the mutex with try_lock and release it,
  // which hands it to parked actors from a foreign thread; actors use lock().
  const int actors = 8;
  const int per_actor = smarm::test::scaled(5'000, 1'000, 200);
  const int per_thread = smarm::test::scaled(20'000, 4'000, 800);
  Mutex<Cell> m;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> thread_wins{0};
  auto hammer = [&] {
    int won = 0;
    while (won < per_thread && !stop.load()) {
      auto g = m.try_lock();
      if (!g) {
        sched_yield();
        continue;
      }
      if ((*g)->inside++ != 0) (*g)->overlap = true;
      ++(*g)->count;
      (*g)->inside--;
      ++won;
    }
    thread_wins.fetch_add(static_cast<std::uint64_t>(won));
  };
  std::thread t1(hammer), t2(hammer);
  auto r = run([&] {
    std::vector<smarm::JoinHandle<int>> hs;
    for (int a = 0; a < actors; ++a)
      hs.push_back(smarm::spawn([&] {
        int failures = 0;
        for (int i = 0; i < per_actor; ++i) {
          auto g = m.lock(std::chrono::seconds(30));  // a hang detector only
          if (!g) {
            ++failures;
            continue;
          }
          if ((*g)->inside++ != 0) (*g)->overlap = true;
          ++(*g)->count;
          if (i % 16 == 0) (void)smarm::yield_now();
          (*g)->inside--;
        }
        return failures;
      }));
    int failures = 0;
    for (auto& h : hs) failures += h.join().value_or(1'000'000);
    return failures;
  });
  stop.store(true);
  t1.join();
  t2.join();
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0);
  auto g = m.try_lock();
  ASSERT_TRUE(is_ok(g));
  EXPECT_FALSE((*g)->overlap);
  EXPECT_EQ((*g)->count,
            static_cast<std::uint64_t>(actors) * static_cast<std::uint64_t>(per_actor) +
                thread_wins.load());
}

}  // namespace
