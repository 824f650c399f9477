// SPDX-License-Identifier: Apache-2.0
// park_stress_test.cpp — park/unpark under heavy contention on two workers.
//
// Many waiters, many wakers (actors and plain threads), duplicate and early unparks. A
// lost wake-up hangs the test (the stress TIMEOUT fails it); every waiter must finish
// every round, and the totals are checked. Sizes follow the test profile.
#include <atomic>
#include <cstddef>
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

struct Slot {
  WaiterId id;                    // written by the waiter before `published`
  std::atomic<int> published{0};  // round whose id is in `id`
  std::atomic<int> flag{0};       // round released by a waker
};

void wait_round(Slot& s, int round) {
  s.id = smarm::detail::current_waiter();
  s.published.store(round, std::memory_order_release);  // pairs with the wakers' acquire
  while (s.flag.load(std::memory_order_acquire) < round) park(WaitKind::Other, &s);
}

// try_release releases `round` of s once its waiter has published it; false if not yet.
bool try_release(Slot& s, int round) {
  if (s.published.load(std::memory_order_acquire) < round) return false;
  WaiterId id = s.id;
  s.flag.store(round, std::memory_order_release);
  unpark(id);
  unpark(id);  // a duplicate must be harmless (at most a spurious return)
  return true;
}

TEST(ParkStressTest, ManyWaitersManyWakers) {
  int waiters = smarm::test::scaled(256, 64, 32);
  int rounds = smarm::test::scaled(2'000, 300, 100);
  int actor_wakers = 4;
  auto r = smarm::test::run_on(2, [=] {
    std::vector<std::unique_ptr<Slot>> slots;
    for (int i = 0; i < waiters; ++i) slots.push_back(std::make_unique<Slot>());
    std::vector<smarm::JoinHandle<long>> hs;
    for (int i = 0; i < waiters; ++i)
      hs.push_back(smarm::spawn([s = slots[static_cast<std::size_t>(i)].get(), rounds] {
        for (int k = 1; k <= rounds; ++k) wait_round(*s, k);
        return static_cast<long>(rounds);
      }));
    // Wakers: some actors, some plain threads, each owning a stripe of the slots.
    const int stripes = actor_wakers + 2;
    auto wake_stripe = [&slots, rounds, stripes](int stripe, bool in_actor) {
      for (int k = 1; k <= rounds; ++k)
        for (std::size_t i = static_cast<std::size_t>(stripe); i < slots.size();
             i += static_cast<std::size_t>(stripes))
          while (!try_release(*slots[i], k)) {
            if (in_actor)
              (void)smarm::yield_now();
            else
              std::this_thread::yield();
          }
    };
    std::vector<smarm::JoinHandle<void>> wakers;
    for (int w = 0; w < actor_wakers; ++w)
      wakers.push_back(smarm::spawn([&wake_stripe, w] { wake_stripe(w, true); }));
    std::vector<std::thread> threads;
    for (int t = actor_wakers; t < stripes; ++t)
      threads.emplace_back([&wake_stripe, t] { wake_stripe(t, false); });
    long total = 0;
    for (auto& h : hs) total += h.join().value_or(0);
    for (auto& w : wakers) EXPECT_TRUE(is_ok(w.join()));
    for (auto& t : threads) t.join();
    return total;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, static_cast<long>(waiters) * rounds);
}

TEST(ParkStressTest, EarlyUnparksBeforeEveryPark) {
  // The waker releases round k as soon as the waiter has published it, which is before
  // the waiter parks: the unpark token path is hit on almost every round.
  int pairs = smarm::test::scaled(32, 16, 8);
  int rounds = smarm::test::scaled(10'000, 2'000, 500);
  auto r = smarm::test::run_on(2, [=] {
    std::vector<std::unique_ptr<Slot>> slots;
    std::vector<smarm::JoinHandle<long>> hs;
    for (int p = 0; p < pairs; ++p) {
      slots.push_back(std::make_unique<Slot>());
      Slot* s = slots.back().get();
      hs.push_back(smarm::spawn([s, rounds] {
        for (int k = 1; k <= rounds; ++k) wait_round(*s, k);
        return static_cast<long>(rounds);
      }));
      hs.push_back(smarm::spawn([s, rounds] {
        for (int k = 1; k <= rounds; ++k)
          while (!try_release(*s, k)) (void)smarm::yield_now();
        return 0L;
      }));
    }
    long total = 0;
    for (auto& h : hs) total += h.join().value_or(-1'000'000);
    return total;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, static_cast<long>(pairs) * rounds);
}

TEST(ParkStressTest, CancelRacesWithUnpark) {
  // Waiters parked while a waker unparks and a canceller cancels them at the same time:
  // each waiter must end (either released or cancelled), none may hang or run twice.
  int waiters = smarm::test::scaled(2'000, 400, 200);
  auto r = smarm::test::run_on(2, [waiters] {
    std::vector<std::unique_ptr<Slot>> slots;
    std::vector<smarm::JoinHandle<int>> hs;
    for (int i = 0; i < waiters; ++i) {
      slots.push_back(std::make_unique<Slot>());
      hs.push_back(smarm::spawn([s = slots.back().get()] {
        s->id = smarm::detail::current_waiter();
        s->published.store(1, std::memory_order_release);
        while (s->flag.load(std::memory_order_acquire) < 1 && !smarm::cancelled())
          park(WaitKind::Other, s);
        return 1;
      }));
    }
    auto waker = smarm::spawn([&slots] {
      for (auto& s : slots)
        while (!try_release(*s, 1)) (void)smarm::yield_now();
    });
    for (std::size_t i = 0; i < hs.size(); i += 2) (void)hs[i].cancel();
    int ended = 0;
    for (auto& h : hs) ended += h.join().value_or(0);
    EXPECT_TRUE(is_ok(waker.join()));
    return ended;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, waiters);
}

}  // namespace
