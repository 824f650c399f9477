// SPDX-License-Identifier: Apache-2.0
// mutex_test.cpp — Mutex<T>: FIFO hand-off, timeouts, try_lock, guards, cancellation.
//
// Semantics under test (mutex.hpp): unlock() hands the mutex to the oldest waiter (no
// barging: try_lock and zero timeouts fail while anyone waits); lock(timeout) gives
// TimedOut, never early; zero/negative timeouts do not wait; a cancelled waiter returns
// Cancelled and never strands the mutex; a hand-off that races with a deadline is kept.
// Tests check order, counts and results — timing only as "never early".
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Clock;
using smarm::Deadline;
using smarm::Errc;
using smarm::Mutex;
using smarm::MutexGuard;
using smarm::test::errc_or_ok;
using smarm::test::has_errc;
using smarm::test::is_ok;
using smarm::test::run_on;

class MutexWorkersTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(MutexWorkersTest);

static_assert(!std::is_copy_constructible_v<MutexGuard<int>>);
static_assert(!std::is_copy_assignable_v<MutexGuard<int>>);
static_assert(std::is_nothrow_move_constructible_v<MutexGuard<int>>);
static_assert(std::is_nothrow_move_assignable_v<MutexGuard<int>>);
static_assert(!std::is_copy_constructible_v<Mutex<int>>);
static_assert(!std::is_move_constructible_v<Mutex<int>>);
static_assert(!std::is_copy_assignable_v<Mutex<int>>);
static_assert(!std::is_move_assignable_v<Mutex<int>>);

// line_with returns the first line of text containing needle, or "".
std::string line_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) return line;
  return "";
}

TEST(MutexTest, ConstructsTheValueInPlace) {
  Mutex<std::string> s(3, 'x');
  Mutex<std::unique_ptr<int>> p(std::make_unique<int>(7));
  Mutex<int> zero;  // value-initialised
  auto gs = s.try_lock();
  auto gp = p.try_lock();
  auto gz = zero.try_lock();
  ASSERT_TRUE(is_ok(gs));
  ASSERT_TRUE(is_ok(gp));
  ASSERT_TRUE(is_ok(gz));
  EXPECT_EQ(**gs, "xxx");
  EXPECT_EQ((*gs)->size(), 3u);  // operator-> of the guard reaches the value
  EXPECT_EQ(***gp, 7);
  EXPECT_EQ(**gz, 0);
}

TEST(MutexTest, TryLockWorksOutsideAnyRuntimeAndBlockingLockIsNotInActor) {
  Mutex<int> m(1);
  EXPECT_TRUE(has_errc(m.lock(1ms), Errc::NotInActor));
  EXPECT_TRUE(has_errc(m.lock(0ms), Errc::NotInActor));
  EXPECT_TRUE(has_errc(m.lock_until(Deadline::max()), Errc::NotInActor));
  auto g = m.try_lock();  // a NotInActor lock took nothing: the mutex is free
  ASSERT_TRUE(is_ok(g));
  EXPECT_TRUE(has_errc(m.try_lock(), Errc::WouldBlock));
  EXPECT_TRUE(has_errc(m.lock(1ms), Errc::NotInActor));  // even while held: no waiting
  g->unlock();
  EXPECT_TRUE(is_ok(m.try_lock()));
}

TEST(MutexTest, GuardMovesUnlockAndDoubleUnlock) {
  Mutex<int> a(1);
  Mutex<int> b(2);
  auto ra = a.try_lock();
  ASSERT_TRUE(is_ok(ra));
  MutexGuard<int> g1 = std::move(*ra);
  EXPECT_FALSE(ra->owns_lock());  // moved-from: owns nothing, releasing it does nothing
  ra->unlock();
  EXPECT_TRUE(has_errc(a.try_lock(), Errc::WouldBlock));
  EXPECT_TRUE(g1.owns_lock());
  *g1 = 10;

  MutexGuard<int> g2(std::move(g1));
  EXPECT_FALSE(g1.owns_lock());
  EXPECT_EQ(*g2, 10);

  // Move-assigning into a guard that holds b releases b first.
  auto rb = b.try_lock();
  ASSERT_TRUE(is_ok(rb));
  MutexGuard<int> gb = std::move(*rb);
  gb = std::move(g2);
  EXPECT_TRUE(is_ok(b.try_lock())) << "b must have been released by the assignment";
  EXPECT_TRUE(has_errc(a.try_lock(), Errc::WouldBlock));
  EXPECT_EQ(*gb, 10);

  gb.unlock();
  EXPECT_FALSE(gb.owns_lock());
  auto again = a.try_lock();  // a is free now; this guard holds it
  ASSERT_TRUE(is_ok(again));
  gb.unlock();  // a second unlock must not release the mutex someone else holds now
  EXPECT_TRUE(has_errc(a.try_lock(), Errc::WouldBlock));
  again->unlock();

  { auto scoped = a.try_lock(); }  // destruction unlocks
  EXPECT_TRUE(is_ok(a.try_lock()));

  MutexGuard<int> empty;
  EXPECT_FALSE(empty.owns_lock());
  empty.unlock();
}

TEST(MutexTest, WaitersAcquireInArrivalOrderAndNobodyBarges) {
  // One worker: each child runs first and is parked in lock() before the next is spawned.
  constexpr int kWaiters = 8;
  auto r = run_on(1, [] {
    Mutex<std::vector<int>> m;
    auto held = m.try_lock();
    EXPECT_TRUE(is_ok(held));
    std::vector<smarm::JoinHandle<Errc>> hs;
    for (int i = 0; i < kWaiters; ++i)
      hs.push_back(smarm::spawn([&m, i] {
        // Half wait with a timer, half forever: both queue the same way.
        auto g = i % 2 ? m.lock_until(Deadline::max()) : m.lock(std::chrono::hours(1));
        if (!g) return g.error().code();
        (*g)->push_back(i);
        return Errc{};
      }));
    EXPECT_EQ(smarm::stats().actors_parked, static_cast<std::size_t>(kWaiters));
    held->unlock();
    // Ownership went straight to waiter 0, which has not run yet: the mutex is not free.
    EXPECT_TRUE(has_errc(m.try_lock(), Errc::WouldBlock));
    EXPECT_TRUE(has_errc(m.lock(0ms), Errc::TimedOut));
    for (auto& h : hs) EXPECT_EQ(h.join().value_or(Errc::Panicked), Errc{});
    auto g = m.lock(0ms);  // everyone is done: free again
    EXPECT_TRUE(is_ok(g));
    return g ? **g : std::vector<int>{};
  });
  ASSERT_TRUE(is_ok(r));
  std::vector<int> expected(kWaiters);
  for (int i = 0; i < kWaiters; ++i) expected[static_cast<std::size_t>(i)] = i;
  EXPECT_EQ(*r, expected);
}

TEST_P(MutexWorkersTest, LockTimesOutNeverEarlyAndLeavesNoTimer) {
  auto r = run([] {
    Mutex<int> m;
    auto held = m.try_lock();
    EXPECT_TRUE(is_ok(held));
    auto h = smarm::spawn([&m] {
      for (auto d : {1ms, 3ms}) {
        const auto before = Clock::now();
        EXPECT_TRUE(has_errc(m.lock(d), Errc::TimedOut));
        EXPECT_GE(Clock::now() - before, d);
      }
      const auto until = Clock::now() + 2ms;
      EXPECT_TRUE(has_errc(m.lock_until(until), Errc::TimedOut));
      EXPECT_GE(Clock::now(), until);
    });
    EXPECT_TRUE(is_ok(h.join()));
    held->unlock();
    EXPECT_TRUE(is_ok(m.lock(0ms)));  // timed-out waiters left the queue: free again
    return smarm::stats().timers_pending;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0u);
}

TEST_P(MutexWorkersTest, ZeroAndNegativeTimeoutsDoNotWait) {
  auto r = run([] {
    Mutex<int> m;
    // Free: taken at once, like try_lock.
    for (auto d : {0ms, -5ms}) {
      auto g = m.lock(d);
      EXPECT_TRUE(is_ok(g));
    }
    EXPECT_TRUE(is_ok(m.lock_until(Deadline{})));
    EXPECT_TRUE(is_ok(m.lock_until(Clock::now() - 1s)));
    // Held: TimedOut at once (the owner here is this very actor).
    auto held = m.lock(0ms);
    EXPECT_TRUE(is_ok(held));
    EXPECT_TRUE(has_errc(m.lock(0ms), Errc::TimedOut));
    EXPECT_TRUE(has_errc(m.lock(-1s), Errc::TimedOut));
    EXPECT_TRUE(has_errc(m.lock_until(Deadline{}), Errc::TimedOut));
    EXPECT_TRUE(has_errc(m.try_lock(), Errc::WouldBlock));
    return smarm::stats().timers_pending;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0u);
}

TEST(MutexTest, AnEndlessTimeoutArmsNoTimer) {
  // hours::max() is too long for the clock: it means "forever", like Deadline::max().
  auto r = run_on(1, [] {
    Mutex<int> m;
    auto held = m.try_lock();
    EXPECT_TRUE(is_ok(held));
    auto a = smarm::spawn([&m] { return errc_or_ok(m.lock(std::chrono::hours::max())); });
    auto b = smarm::spawn([&m] { return errc_or_ok(m.lock(std::chrono::hours(1))); });
    const auto timers = smarm::stats().timers_pending;  // b's only
    EXPECT_TRUE(is_ok(a.cancel()));
    EXPECT_EQ(a.join().value_or(Errc{}), Errc::Cancelled);
    held->unlock();
    EXPECT_EQ(b.join().value_or(Errc::Panicked), Errc{});
    return timers;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 1u);
}

TEST(MutexTest, RelockingFromTheOwnerTimesOut) {
  auto r = run_on(1, [] {
    Mutex<int> m;
    auto g = m.lock(1s);
    EXPECT_TRUE(is_ok(g));
    const auto before = Clock::now();
    EXPECT_TRUE(has_errc(m.lock(2ms), Errc::TimedOut));  // not reentrant: waits behind itself
    EXPECT_GE(Clock::now() - before, 2ms);
    EXPECT_TRUE(g->owns_lock());
    EXPECT_TRUE(has_errc(m.try_lock(), Errc::WouldBlock));  // still held by g
    g->unlock();
    return is_ok(m.lock(0ms));
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(*r);
}

TEST(MutexTest, GuardReleasedByAnotherActorOnAnotherWorker) {
  // Two workers: the guard travels through a channel to an actor that updates the value
  // and unlocks, handing the mutex to the root parked in lock(). Whether the releaser
  // runs on the other worker is up to the scheduler; it may happen any round.
  const int rounds = smarm::test::scaled(2000, 500, 200);
  auto r = run_on(2, [rounds] {
    Mutex<int> m(0);
    auto [tx, rx] = smarm::channel<MutexGuard<int>>();
    auto releaser = smarm::spawn([rx = std::move(rx)]() mutable {
      int released = 0;
      while (auto g = rx.recv()) {
        ++**g;
        g->unlock();
        ++released;
      }
      return released;
    });
    for (int i = 0; i < rounds; ++i) {
      auto g = m.lock(std::chrono::seconds(30));  // 30 s: a hang detector only
      if (!g) {
        ADD_FAILURE() << "round " << i << ": " << smarm::test::describe(g);
        break;
      }
      EXPECT_EQ(**g, i);
      EXPECT_TRUE(is_ok(tx.send(std::move(*g))));
    }
    tx.close();
    EXPECT_EQ(releaser.join().value_or(-1), rounds);
    auto g = m.lock(0ms);
    return g ? **g : -1;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, rounds);
}

TEST(MutexTest, APlainThreadReleasesTheGuardToAParkedActor) {
  auto r = run_on(1, [] {
    Mutex<int> m(5);
    auto held = m.try_lock();
    EXPECT_TRUE(is_ok(held));
    auto waiter = smarm::spawn([&m] {
      auto g = m.lock(std::chrono::seconds(30));  // 30 s: a hang detector only
      return g ? **g : -1;
    });
    // The waiter is parked. A thread outside the runtime updates the value and unlocks:
    // the hand-off wakes the waiter through the runtime's inject queue.
    std::thread t([g = std::move(*held)]() mutable {
      *g += 1;
      g.unlock();
    });
    t.join();
    return waiter.join().value_or(-2);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 6);
}

TEST(MutexTest, CancellingParkedLockersReturnsCancelledAndTheNextWaiterGetsIt) {
  auto r = run_on(1, [] {
    Mutex<std::vector<int>> m;
    auto held = m.try_lock();
    EXPECT_TRUE(is_ok(held));
    auto locker = [&m](int id, bool timed) {
      return smarm::spawn([&m, id, timed] {
        auto g = timed ? m.lock(std::chrono::hours(1)) : m.lock_until(Deadline::max());
        if (!g) return g.error().code();
        (*g)->push_back(id);
        return Errc{};
      });
    };
    auto a = locker(1, true);   // parked with a timer
    auto b = locker(2, false);  // parked forever
    auto c = locker(3, false);
    EXPECT_EQ(smarm::stats().timers_pending, 1u);
    EXPECT_TRUE(is_ok(a.cancel()));
    EXPECT_TRUE(is_ok(b.cancel()));
    EXPECT_EQ(a.join().value_or(Errc{}), Errc::Cancelled);
    EXPECT_EQ(b.join().value_or(Errc{}), Errc::Cancelled);
    EXPECT_EQ(smarm::stats().timers_pending, 0u);  // a's timer went with it
    held->unlock();                                // a and b left the queue: c is next
    EXPECT_EQ(c.join().value_or(Errc::Panicked), Errc{});
    auto g = m.lock(0ms);
    EXPECT_TRUE(is_ok(g));
    return g ? **g : std::vector<int>{};
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, (std::vector<int>{3}));
}

TEST(MutexTest, AHandOffToACancelledWaiterIsPassedOn) {
  // One worker, so the order of events is fixed: the mutex is handed to a, which has not
  // run yet; then a is cancelled. a must return Cancelled and pass the mutex to b.
  auto r = run_on(1, [] {
    Mutex<std::vector<int>> m;
    auto held = m.try_lock();
    EXPECT_TRUE(is_ok(held));
    auto locker = [&m](int id) {
      return smarm::spawn([&m, id] {
        auto g = m.lock(std::chrono::hours(1));
        if (!g) return g.error().code();
        (*g)->push_back(id);
        return Errc{};
      });
    };
    auto a = locker(1);
    auto b = locker(2);
    held->unlock();                                         // handed to a
    EXPECT_TRUE(has_errc(m.try_lock(), Errc::WouldBlock));  // a owns it now
    EXPECT_TRUE(is_ok(a.cancel()));
    EXPECT_EQ(a.join().value_or(Errc{}), Errc::Cancelled);
    EXPECT_EQ(b.join().value_or(Errc::Panicked), Errc{});
    auto g = m.try_lock();
    EXPECT_TRUE(is_ok(g));
    return g ? **g : std::vector<int>{};
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, (std::vector<int>{2}));
}

TEST(MutexTest, ACancelledActorCannotLockButCanTryLock) {
  auto r = run_on(1, [] {
    Mutex<int> m(4);
    auto h = smarm::spawn([&m] {
      EXPECT_TRUE(has_errc(smarm::sleep_for(std::chrono::hours(1)), Errc::Cancelled));
      // The mutex is free, but a cancelled actor's blocking calls all say Cancelled.
      std::vector<Errc> got;
      got.push_back(errc_or_ok(m.lock(1s)));
      got.push_back(errc_or_ok(m.lock(0ms)));
      got.push_back(errc_or_ok(m.lock_until(Deadline::max())));
      auto g = m.try_lock();  // never blocks, so it still works
      got.push_back(errc_or_ok(g));
      return got;
    });
    EXPECT_TRUE(is_ok(h.cancel()));
    return h.join().value_or(std::vector<Errc>{});
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, (std::vector<Errc>{Errc::Cancelled, Errc::Cancelled, Errc::Cancelled, Errc{}}));
}

TEST(MutexTest, AParkedLockerShowsInTheDump) {
  auto r = run_on(1, [] {
    Mutex<int> m;
    auto held = m.try_lock();
    EXPECT_TRUE(is_ok(held));
    auto h = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "the-locker"},
                          [&m] { return errc_or_ok(m.lock(std::chrono::hours(1))); });
    std::string dump = smarm::debug::dump_actors();
    char addr[32];
    std::snprintf(addr, sizeof addr, "%p", static_cast<const void*>(&m));
    held->unlock();
    EXPECT_EQ(h.join().value_or(Errc::Panicked), Errc{});
    return std::make_pair(dump, std::string(addr));
  });
  ASSERT_TRUE(is_ok(r));
  const auto& [dump, addr] = *r;
  const std::string line = line_with(dump, "the-locker");
  ASSERT_NE(line, "") << dump;
  EXPECT_NE(line.find("waiting for lock on " + addr), std::string::npos) << line;
  EXPECT_NE(line.find("until"), std::string::npos) << line;
}

TEST_P(MutexWorkersTest, ContendedCounterCountsEveryIncrement) {
  const int actors = 8;
  const int per = smarm::test::scaled(20'000, 2'000, 500);
  auto r = run([=] {
    Mutex<std::uint64_t> m(0u);  // a plain counter: only ever touched under the lock
    std::vector<smarm::JoinHandle<int>> hs;
    for (int a = 0; a < actors; ++a)
      hs.push_back(smarm::spawn([&m, n = per] {
        int failures = 0;
        for (int i = 0; i < n; ++i) {
          auto g = m.lock_until(Deadline::max());
          if (!g) {
            ++failures;
            continue;
          }
          ++**g;
          if (i % 64 == 0) (void)smarm::yield_now();  // hold it across a switch now and then
        }
        return failures;
      }));
    for (auto& h : hs) EXPECT_EQ(h.join().value_or(-1), 0);
    auto g = m.try_lock();
    return g ? **g : 0u;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, static_cast<std::uint64_t>(actors) * static_cast<std::uint64_t>(per));
}

TEST_P(MutexWorkersTest, HandOffsRacingWithTinyTimeoutsLoseNothing) {
  // Many lockers with timeouts of 0-30 us: hand-offs keep landing on waiters whose
  // deadline is passing. Invariants: never two owners, every success counted once, and
  // the mutex free at the end (no hand-off went to a waiter that had left).
  const int actors = smarm::test::scaled(16, 8, 6);
  const int iters = smarm::test::scaled(5'000, 1'000, 200);
  struct Outcome {
    std::uint64_t count = 0, successes = 0, timeouts = 0;
    int max_inside = 0;
    bool free_at_end = false;
    std::size_t timers = 0;
  };
  auto r = run([=] {
    Mutex<std::uint64_t> m(0u);
    std::atomic<int> inside{0}, max_inside{0};
    std::atomic<std::uint64_t> successes{0}, timeouts{0}, other{0};
    std::vector<smarm::JoinHandle<void>> hs;
    for (int a = 0; a < actors; ++a)
      hs.push_back(smarm::spawn([&, a] {
        for (int i = 0; i < iters; ++i) {
          auto g = m.lock(std::chrono::microseconds(((a + i) % 4) * 10));
          if (!g) {
            (g.error().code() == Errc::TimedOut ? timeouts : other).fetch_add(1);
            continue;
          }
          const int now = inside.fetch_add(1) + 1;
          int seen = max_inside.load();
          while (now > seen && !max_inside.compare_exchange_weak(seen, now)) {
          }
          ++**g;
          if (i % 16 == 0) (void)smarm::yield_now();
          inside.fetch_sub(1);
          successes.fetch_add(1);
        }
      }));
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    EXPECT_EQ(other.load(), 0u);
    Outcome o;
    o.successes = successes.load();
    o.timeouts = timeouts.load();
    o.max_inside = max_inside.load();
    auto g = m.try_lock();
    o.free_at_end = g.has_value();
    o.count = g ? **g : 0;
    o.timers = smarm::stats().timers_pending;
    return o;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(r->free_at_end);
  EXPECT_EQ(r->max_inside, 1);
  EXPECT_EQ(r->count, r->successes);
  EXPECT_EQ(r->successes + r->timeouts,
            static_cast<std::uint64_t>(actors) * static_cast<std::uint64_t>(iters));
  EXPECT_GT(r->successes, 0u);
  EXPECT_EQ(r->timers, 0u);
}

TEST_P(MutexWorkersTest, CancellationRacingWithHandOffsNeverStrandsTheMutex) {
  // Lockers loop until cancelled; the root cancels them one by one while the mutex keeps
  // changing hands. Every cancelled waiter either left the queue or passed the mutex on:
  // the survivors keep making progress and the mutex is free at the end.
  const int actors = smarm::test::scaled(12, 8, 6);
  auto r = run([=] {
    Mutex<std::uint64_t> m(0u);
    std::atomic<std::uint64_t> successes{0}, unexpected_errors{0};
    std::vector<smarm::JoinHandle<void>> hs;
    for (int a = 0; a < actors; ++a)
      hs.push_back(smarm::spawn([&, a] {
        for (int i = 0;; ++i) {
          auto g = a % 3 == 0 ? m.lock_until(Deadline::max())
                              : m.lock(std::chrono::microseconds((i % 3) * 20));
          if (!g) {
            if (g.error().code() == Errc::Cancelled) return;
            if (g.error().code() != Errc::TimedOut) unexpected_errors.fetch_add(1);
            continue;
          }
          ++**g;
          successes.fetch_add(1);
          if (i % 4 == 0) (void)smarm::yield_now();
        }
      }));
    for (auto& h : hs) {
      (void)smarm::sleep_for(200us);
      EXPECT_TRUE(is_ok(h.cancel()));
      EXPECT_TRUE(is_ok(h.join()));
    }
    EXPECT_EQ(unexpected_errors.load(), 0u);
    auto g = m.try_lock();
    EXPECT_TRUE(is_ok(g));
    return g ? **g == successes.load() : false;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(*r) << "the count under the mutex differs from the successful locks";
}

}  // namespace
