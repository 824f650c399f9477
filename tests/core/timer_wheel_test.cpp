// SPDX-License-Identifier: Apache-2.0
// timer_wheel_test.cpp — TimerWheel (src/core/timer_wheel.hpp) without a runtime: every
// entry fires once, in deadline order, never before its deadline and never later than the
// first look after it; removal from each place it can be (nursery, each level's buckets,
// the far list, the near heap); earliest() is never later than the next deadline.
#include "core/timer_wheel.hpp"

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "support/scale.hpp"

namespace {

using smarm::detail::TimerEntry;
using smarm::detail::TimerReason;
using smarm::detail::TimerWheel;

constexpr std::int64_t kMs = 1'000'000;
constexpr std::int64_t kSec = 1'000 * kMs;

// Entries carry their own number in the waiter's generation, so a due timer names it.
std::vector<TimerEntry> entries_at(const std::vector<std::int64_t>& deadlines) {
  std::vector<TimerEntry> es(deadlines.size());
  for (std::size_t i = 0; i < es.size(); ++i) {
    es[i].deadline_ns = deadlines[i];
    es[i].waiter.generation = static_cast<std::uint32_t>(i);
    es[i].reason = TimerReason::Sleep;
  }
  return es;
}

// drain_until takes every due entry up to `now`, checking order and that none is early.
std::vector<std::uint32_t> drain_until(TimerWheel& w, std::int64_t now, std::int64_t* last) {
  std::vector<std::uint32_t> fired;
  TimerWheel::DueTimer due[64];
  for (;;) {
    const std::size_t n = w.take_expired(now, due, 64);
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_LE(due[i].deadline_ns, now) << "fired before its deadline";
      EXPECT_GE(due[i].deadline_ns, *last) << "fired out of order";
      *last = due[i].deadline_ns;
      fired.push_back(due[i].waiter.generation);
    }
    if (n < 64) return fired;
  }
}

TEST(TimerWheelTest, ManyTimersFireOnceInOrderAndNeverEarly) {
  // Random deadlines over 3 s (TL1M's window) and a few far ones (minutes, hours, and
  // beyond the top level's ~49 days), looked at every 100 µs of simulated time.
  const std::size_t n = smarm::test::scaled<std::size_t>(1'000'000, 200'000, 50'000);
  const std::int64_t base = smarm::detail::now_ns() + kSec;
  std::mt19937_64 rng(42);
  std::vector<std::int64_t> deadlines(n);
  for (auto& d : deadlines)
    d = base + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(3 * kSec));
  deadlines[0] = base + 90 * kSec;             // level 2
  deadlines[1] = base + 3600 * kSec;           // level 3
  deadlines[2] = base + 100LL * 86400 * kSec;  // past level 4: the far list
  deadlines[3] = base - kSec;                  // already due when added
  auto es = entries_at(deadlines);
  TimerWheel w;
  for (auto& e : es) w.add(&e);
  EXPECT_EQ(w.size(), n);

  std::vector<char> seen(n, 0);
  std::int64_t last = INT64_MIN;
  std::size_t total = 0;
  auto take = [&](std::int64_t now) {
    // earliest() must never be later than the earliest deadline still on the wheel.
    for (std::uint32_t id : drain_until(w, now, &last)) {
      ASSERT_EQ(seen[id], 0) << "fired twice";
      seen[id] = 1;
      ++total;
    }
  };
  for (std::int64_t now = base - kSec; now <= base + 3 * kSec + kMs; now += 100'000) take(now);
  EXPECT_EQ(total, n - 3);  // all but the three far ones
  take(base + 91 * kSec);
  take(base + 3601 * kSec);
  EXPECT_EQ(total, n - 1);
  take(base + 101LL * 86400 * kSec);
  EXPECT_EQ(total, n);
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.earliest(), smarm::detail::kNoDeadline);
}

TEST(TimerWheelTest, EarliestIsNeverLaterThanTheNextDeadline) {
  const std::int64_t base = smarm::detail::now_ns() + kSec;
  std::mt19937_64 rng(7);
  std::vector<std::int64_t> deadlines(20'000);
  for (auto& d : deadlines)
    d = base + static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(600 * kSec));
  auto es = entries_at(deadlines);
  TimerWheel w;
  for (auto& e : es) w.add(&e);
  std::sort(deadlines.begin(), deadlines.end());
  std::int64_t last = INT64_MIN;
  std::size_t next = 0;
  for (std::int64_t now = base; next < deadlines.size(); now += 37 * kMs) {
    next += drain_until(w, now, &last).size();
    if (next < deadlines.size()) {
      EXPECT_LE(w.earliest(), deadlines[next]);
      EXPECT_GT(w.earliest(), now - 2 * kMs) << "earliest() fell far behind: a busy loop";
    }
  }
}

TEST(TimerWheelTest, RemovedEntriesNeverFireFromAnyPlace) {
  // Entries spread over every place: the nursery (the last ones added), each level, the
  // far list and the near heap (already due, moved there by a take at `base`).
  const std::int64_t base = smarm::detail::now_ns() + kSec;
  std::vector<std::int64_t> deadlines;
  for (std::int64_t d : std::vector<std::int64_t>{-kMs, 0, kMs, 300 * kMs, 20 * kSec, 1200 * kSec,
                                                  80'000 * kSec, 5'000'000 * kSec})
    for (int k = 0; k < 40; ++k) deadlines.push_back(base + d + k);
  auto es = entries_at(deadlines);
  TimerWheel w;
  for (auto& e : es) w.add(&e);
  std::int64_t last = INT64_MIN;
  (void)drain_until(w, base - kMs - 1, &last);  // moves nothing due yet; flushes the nursery
  for (std::size_t i = 0; i < es.size(); i += 2) TimerWheel::remove(&es[i]);
  EXPECT_EQ(w.size(), es.size() / 2);
  TimerWheel::remove(&es[0]);  // twice: a no-op
  std::vector<char> fired(es.size(), 0);
  for (std::int64_t now :
       std::vector<std::int64_t>{base, base + kSec, base + 30 * kSec, base + 1300 * kSec,
                                 base + 90'000 * kSec, base + 6'000'000 * kSec})
    for (std::uint32_t id : drain_until(w, now, &last)) fired[id] = 1;
  for (std::size_t i = 0; i < es.size(); ++i)
    EXPECT_EQ(fired[i], i % 2 == 1 ? 1 : 0) << "entry " << i;
  EXPECT_EQ(w.size(), 0u);
}

TEST(TimerWheelTest, AddingAndRemovingAtOnceLeavesNothing) {
  const std::int64_t base = smarm::detail::now_ns();
  TimerWheel w;
  for (int i = 0; i < 10'000; ++i) {
    TimerEntry e;
    e.deadline_ns = base + kSec + i;
    w.add(&e);
    TimerWheel::remove(&e);
  }
  EXPECT_EQ(w.size(), 0u);
  EXPECT_EQ(w.earliest(), smarm::detail::kNoDeadline);
}

}  // namespace
