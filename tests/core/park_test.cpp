// SPDX-License-Identifier: Apache-2.0
// park_test.cpp — detail::park / detail::unpark: no lost wake-ups, tokens, stale waiters.
//
// park() may return spuriously, so every waiter here loops on its own condition. A lost
// wake-up shows as a hang (the ctest TIMEOUT fails the test); nothing here measures time.
//
// Protocol used by the race tests (one round):
//   waiter: publish current_waiter(), then `while (flag < round) park()`;
//   waker:  wait for the publication, read the WaiterId, set flag = round, unpark(id).
// The waker's unpark can land before, during or after the waiter's park: all three must
// end with the waiter running.
#include <atomic>
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

using smarm::detail::park;
using smarm::detail::unpark;
using smarm::detail::WaiterId;
using smarm::detail::WaitKind;
using smarm::test::is_ok;

// Slot is one waiter's mailbox for the round protocol above.
struct Slot {
  WaiterId id;                    // written by the waiter before `published`
  std::atomic<int> published{0};  // round whose id is in `id`
  std::atomic<int> flag{0};       // round the waker has released
  std::atomic<long> parks{0};     // how often the waiter called park()
};

void wait_round(Slot& s, int round) {
  s.id = smarm::detail::current_waiter();
  s.published.store(round, std::memory_order_release);  // pairs with the waker's acquire
  while (s.flag.load(std::memory_order_acquire) < round) {
    s.parks.fetch_add(1, std::memory_order_relaxed);
    park(WaitKind::Other, &s);
  }
}

void release_round(Slot& s, int round) {
  while (s.published.load(std::memory_order_acquire) < round) (void)smarm::yield_now();
  WaiterId id = s.id;  // read before the flag: afterwards the waiter may overwrite it
  s.flag.store(round, std::memory_order_release);
  unpark(id);
}

TEST(ParkTest, UnparkWakesAParkedActor) {
  auto r = smarm::test::run_on(1, [] {
    Slot s;
    auto h = smarm::spawn([&s] { wait_round(s, 1); });
    // One worker, child first: the child is parked now.
    EXPECT_EQ(s.published.load(), 1);
    EXPECT_FALSE(h.finished());
    EXPECT_GE(smarm::stats().actors_parked, 1u);
    release_round(s, 1);
    EXPECT_TRUE(is_ok(h.join()));
    return s.parks.load();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_GE(*r, 1);
}

TEST(ParkTest, UnparkBeforeParkMakesParkReturn) {
  auto r = smarm::test::run_on(1, [] {
    std::atomic<bool> done{false};
    std::atomic<bool> parked_for_good{false};
    WaiterId id;
    auto h = smarm::spawn([&] {
      id = smarm::detail::current_waiter();
      unpark(id);                    // token first ...
      park(WaitKind::Other, &done);  // ... so this returns at once
      done.store(true);
    });
    // If the token was lost the child is parked forever: rescue it after a while (counted
    // in scheduling rounds, not time) and fail.
    for (int i = 0; i < 1000 && !done.load(); ++i) (void)smarm::yield_now();
    if (!done.load()) {
      parked_for_good.store(true);
      unpark(id);
    }
    EXPECT_TRUE(is_ok(h.join()));
    return !parked_for_good.load();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(*r) << "unpark() before park() was lost";
}

TEST(ParkTest, StaleWaiterIdIsIgnored) {
  auto r = smarm::test::run_on(1, [] {
    // Collect waiter ids of actors that have ended.
    std::vector<WaiterId> stale;
    for (int i = 0; i < 32; ++i) {
      auto h = smarm::spawn([] { return smarm::detail::current_waiter(); });
      auto w = h.join();
      EXPECT_TRUE(is_ok(w));
      if (w) stale.push_back(*w);
    }
    // New actors, very likely on the same control blocks, park; poke them with the old ids.
    std::vector<std::unique_ptr<Slot>> slots;
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < 32; ++i) {
      slots.push_back(std::make_unique<Slot>());
      hs.push_back(smarm::spawn([s = slots.back().get()] { wait_round(*s, 1); }));
    }
    long parks_before = 0;
    for (auto& s : slots) parks_before += s->parks.load();
    for (auto w : stale) unpark(w);
    for (int i = 0; i < 100; ++i) (void)smarm::yield_now();
    long parks_after = 0;
    for (auto& s : slots) parks_after += s->parks.load();
    std::size_t finished = 0;
    for (auto& h : hs) finished += h.finished();
    EXPECT_EQ(finished, 0u) << "a waiter finished without its flag";
    for (auto& s : slots) release_round(*s, 1);
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    return parks_after - parks_before;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 0) << "an unpark with a stale WaiterId woke a new actor";
}

TEST(ParkTest, UnparkOfANullWaiterIsHarmless) {
  unpark(WaiterId{});  // outside any runtime
  auto r = smarm::test::run_on(1, [] {
    unpark(WaiterId{});
    return 1;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST(ParkTest, NoLostWakeUpsBetweenPairsOnTwoWorkers) {
  int pairs = smarm::test::scaled(16, 8, 8);
  int rounds = smarm::test::scaled(5'000, 1'000, 300);
  auto r = smarm::test::run_on(2, [pairs, rounds] {
    std::vector<std::unique_ptr<Slot>> slots;
    std::vector<smarm::JoinHandle<int>> hs;
    for (int p = 0; p < pairs; ++p) {
      slots.push_back(std::make_unique<Slot>());
      Slot* s = slots.back().get();
      hs.push_back(smarm::spawn([s, rounds] {
        for (int i = 1; i <= rounds; ++i) wait_round(*s, i);
        return rounds;
      }));
      hs.push_back(smarm::spawn([s, rounds] {
        for (int i = 1; i <= rounds; ++i) release_round(*s, i);
        return rounds;
      }));
    }
    long total = 0;
    for (auto& h : hs) total += h.join().value_or(0);
    return total;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 2L * pairs * rounds);
}

TEST(ParkTest, SymmetricHandOffOnTwoWorkers) {
  // A ring of actors passes one token around: each parks until it holds the token, then
  // hands it to the next. Exactly one is runnable at a time, so a lost wake-up stops all.
  int ring = smarm::test::scaled(64, 32, 16);
  int laps = smarm::test::scaled(500, 100, 50);
  auto r = smarm::test::run_on(2, [ring, laps] {
    std::vector<std::unique_ptr<Slot>> slots;
    for (int i = 0; i < ring; ++i) slots.push_back(std::make_unique<Slot>());
    std::atomic<long> hops{0};
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < ring; ++i)
      hs.push_back(smarm::spawn([&, i] {
        Slot& mine = *slots[static_cast<std::size_t>(i)];
        Slot& next = *slots[static_cast<std::size_t>((i + 1) % ring)];
        for (int lap = 1; lap <= laps; ++lap) {
          wait_round(mine, lap);
          hops.fetch_add(1);
          // The last actor starts the next lap of the first (none after the last lap).
          if (i + 1 < ring)
            release_round(next, lap);
          else if (lap < laps)
            release_round(next, lap + 1);
        }
      }));
    release_round(*slots[0], 1);
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    return hops.load();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, static_cast<long>(ring) * laps);
}

TEST(ParkTest, UnparkFromPlainThreads) {
  int waiters = smarm::test::scaled(64, 32, 16);
  int rounds = smarm::test::scaled(2'000, 500, 200);
  auto r = smarm::test::run_on(2, [waiters, rounds] {
    std::vector<std::unique_ptr<Slot>> slots;
    std::vector<smarm::JoinHandle<int>> hs;
    for (int i = 0; i < waiters; ++i) {
      slots.push_back(std::make_unique<Slot>());
      hs.push_back(smarm::spawn([s = slots.back().get(), rounds] {
        for (int k = 1; k <= rounds; ++k) wait_round(*s, k);
        return rounds;
      }));
    }
    // Two OS threads (not actors) release the waiters, half each.
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t)
      threads.emplace_back([&slots, t, rounds] {
        for (int k = 1; k <= rounds; ++k)
          for (std::size_t i = static_cast<std::size_t>(t); i < slots.size(); i += 2) {
            Slot& s = *slots[i];
            while (s.published.load(std::memory_order_acquire) < k) std::this_thread::yield();
            WaiterId id = s.id;
            s.flag.store(k, std::memory_order_release);
            unpark(id);
          }
      });
    long total = 0;
    for (auto& h : hs) total += h.join().value_or(0);
    for (auto& t : threads) t.join();
    return total;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, static_cast<long>(waiters) * rounds);
}

}  // namespace
