// SPDX-License-Identifier: Apache-2.0
// scheduling_test.cpp — the scheduler under load (issue 15): where never-run actors go,
// woken actors before preempted ones (and the guard that keeps preempted ones running),
// the hand-off of a blocked worker's timers, I/O and queue, timers firing in order, and
// the pinning guarantee with an OS lock. No assertion is tighter than ten times the
// issue's targets: a loaded CI machine must not make these fail.
#include <fcntl.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/sanitizers.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::test::is_ok;

std::string worker_name() {
  char name[16] = {};
  ::pthread_getname_np(::pthread_self(), name, sizeof name);
  return name;
}

long os_tid() { return ::syscall(SYS_gettid); }

// churn allocates (the preemption hook's trigger) until stop, and calls SMARM_CHECK()
// too: under ThreadSanitizer the sanitizer owns operator new and only the explicit check
// preempts.
void churn(const std::atomic<bool>& stop) {
  std::uint64_t k = 0;
  while (!stop.load(std::memory_order_relaxed)) {
    std::vector<int> v(16, static_cast<int>(k++));
    asm volatile("" : : "r"(v.data()) : "memory");
    SMARM_CHECK();
  }
}

TEST(SchedulingTest, ANeverRunChildLeavesAWorkerWhoseActorsArePinned) {
  // A CPU-bound actor is preempted, and so pinned where it runs. A second one spawned
  // from that worker must start elsewhere: pinned actors never move, so two of them on
  // one worker would share it for good while the other worker idles.
  auto r = smarm::test::run_on(2, [] {
    std::atomic<bool> stop{false};
    std::string first_name, second_name;
    std::atomic<bool> first_started{false}, second_started{false};
    auto first = smarm::spawn([&] {
      first_name = worker_name();
      first_started = true;
      churn(stop);
    });
    // Let it use up a slice or two: if the root is queued on its worker, it is then
    // pinned there. (If the other worker took the root meanwhile, the first actor runs
    // alone and is never preempted; the second starts beside the root either way.)
    while (!first_started.load()) (void)smarm::sleep_for(1ms);
    (void)smarm::sleep_for(5ms);
    // The root may have been woken on either worker: spawn from the first one's, as the
    // issue's case does, by hopping there first if need be.
    for (int i = 0; i < 200 && worker_name() != first_name; ++i) (void)smarm::yield_now();
    auto second = smarm::spawn([&] {
      second_name = worker_name();
      second_started = true;
      churn(stop);
    });
    while (!second_started.load()) (void)smarm::sleep_for(1ms);
    stop = true;
    (void)first.join();
    (void)second.join();
    EXPECT_NE(first_name, second_name) << "both CPU-bound actors run on " << first_name;
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SchedulingTest, WokenActorsRunBeforePreemptedOnesEvenDuringASpawnStorm) {
  // One worker. The root spawns CPU-bound actors one after another (each runs a slice
  // first, then is pinned) while a sleeper sleeps 1 ms at a time. The sleeper must not
  // wait for the spawn loop: woken actors run before the preempted, and a parent that
  // spawned goes behind them once actors are pinned. Target 10 ms; asserted 100 ms.
  const int hogs = smarm::test::scaled(300, 150, 40);
  auto r = smarm::test::run_on(1, [&] {
    std::atomic<bool> stop{false};
    std::vector<double> late_ms;
    auto sleeper = smarm::spawn([&] {
      while (!stop.load()) {
        const auto deadline = smarm::Clock::now() + 1ms;
        if (!smarm::sleep_until(deadline)) return;
        late_ms.push_back(
            std::chrono::duration<double, std::milli>(smarm::Clock::now() - deadline).count());
      }
    });
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < hogs; ++i) hs.push_back(smarm::spawn([&] { churn(stop); }));
    (void)smarm::sleep_for(50ms);
    stop = true;
    for (auto& h : hs) (void)h.join();
    (void)sleeper.join();
    ASSERT_FALSE(late_ms.empty());
    const double worst = *std::max_element(late_ms.begin(), late_ms.end());
    EXPECT_LT(worst, 100.0) << late_ms.size() << " sleeps";
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SchedulingTest, ASleeperBesideASpawnStormOnTwoWorkersWakesOnTime) {
  // Two workers, a spawn storm of CPU-bound actors, a 1 ms sleeper. Each of these once
  // kept the sleeper waiting 100-800 ms (LOOM, "Two classes"): the parent, queued behind
  // each child started first, was stolen back and forth at every preemption, and a
  // preemption that stole did not fire its worker's timers; never-run children queued
  // ahead of the woken sleeper; the hand-off monitor moved queues newest first. (This
  // failed 4 of 4 runs before: worst sleep 141-408 ms.) Target 10 ms; asserted 100 ms.
  const int hogs = smarm::test::scaled(1500, 1000, 60);
  auto r = smarm::test::run_on(2, [&] {
    std::atomic<bool> stop{false};
    std::vector<double> late_ms;
    auto sleeper = smarm::spawn([&] {
      while (!stop.load()) {
        const auto deadline = smarm::Clock::now() + 1ms;
        if (!smarm::sleep_until(deadline)) return;
        late_ms.push_back(
            std::chrono::duration<double, std::milli>(smarm::Clock::now() - deadline).count());
      }
    });
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < hogs; ++i) hs.push_back(smarm::spawn([&] { churn(stop); }));
    // The loop itself is short now (the children are queued, not run first): the hogs
    // and the sleeper go on a while, so that the sleeper is measured beside them.
    (void)smarm::sleep_for(50ms);
    stop = true;
    for (auto& h : hs) (void)h.join();
    (void)sleeper.join();
    ASSERT_FALSE(late_ms.empty());
    const double worst = *std::max_element(late_ms.begin(), late_ms.end());
    EXPECT_LT(worst, 100.0) << late_ms.size() << " sleeps";
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SchedulingTest, ASpawnLoopOnABusyWorkerIsNotHeldBackByItsChildren) {
  // One worker, busy with a CPU-bound actor. The root spawns CPU-bound children in a
  // loop: each goes to the worker's fresh queue and the root goes on, instead of running
  // the child first and waiting for a slice of it (and then for a turn behind the pinned
  // actors) per spawn — ten thousand took 6-10 s to start in W7c. So most children have
  // not started when the loop ends; with child first, every one of them had.
  const int children = smarm::test::scaled(2000, 1000, 200);
  auto r = smarm::test::run_on(1, [&] {
    std::atomic<bool> stop{false};
    std::atomic<int> started{0};
    auto hog = smarm::spawn([&] { churn(stop); });
    // Let the hog use up a slice: then it is pinned, and the worker is busy.
    for (int i = 0; i < 3; ++i) (void)smarm::sleep_for(2ms);
    std::vector<smarm::JoinHandle<void>> hs;
    hs.reserve(static_cast<std::size_t>(children));
    for (int i = 0; i < children; ++i)
      hs.push_back(smarm::spawn([&] {
        started.fetch_add(1);
        churn(stop);
      }));
    const int started_during_loop = started.load();
    stop = true;
    for (auto& h : hs) (void)h.join();
    (void)hog.join();
    EXPECT_LT(started_during_loop, children / 2) << "of " << children;
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SchedulingTest, APreemptedNewcomerRunsBeforeActorsThatUsedMoreSlices) {
  // One worker. Three CPU-bound actors take turns until each has had six runs; then
  // the root spawns a fourth, which runs its first slice (child first) and is pinned.
  // The root runs once more (woken first), marks the moment and sleeps: with nothing
  // else queued, the next run goes to the pinned actor with the fewest slices used, the
  // newcomer (a FIFO would give it to the oldest). Runs are counted by the actors
  // themselves: a run is new when `last` changed since an actor's previous iteration.
  // Nothing here depends on timing: every choice is made with an empty queue.
  static constexpr int kOld = 3, kNew = kOld, kRunsFirst = 6;
  auto r = smarm::test::run_on(1, [] {
    std::atomic<bool> stop{false};
    std::atomic<int> last{-1}, first_after_mark{-1};
    std::atomic<bool> marked{false};
    std::vector<std::atomic<int>> runs(kOld + 1);
    auto body = [&](int me) {
      std::uint64_t k = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (last.load(std::memory_order_relaxed) != me) {
          last.store(me, std::memory_order_relaxed);
          runs[me].fetch_add(1, std::memory_order_relaxed);
          if (marked.load(std::memory_order_relaxed)) {
            int none = -1;
            first_after_mark.compare_exchange_strong(none, me);
          }
        }
        std::vector<int> v(16, static_cast<int>(k++));
        asm volatile("" : : "r"(v.data()) : "memory");
        SMARM_CHECK();
      }
    };
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < kOld; ++i) hs.push_back(smarm::spawn([&, i] { body(i); }));
    // Until every old actor has had kRunsFirst runs (a 10 s bound, not a timing target).
    const auto give_up = smarm::Clock::now() + 10s;
    bool enough = false;
    while (!enough && smarm::Clock::now() < give_up) {
      enough = true;
      for (int i = 0; i < kOld; ++i) enough = enough && runs[i].load() >= kRunsFirst;
      if (!enough) (void)smarm::sleep_for(5ms);
    }
    if (!enough) {
      stop = true;
      for (auto& h : hs) (void)h.join();
      FAIL() << "the three CPU-bound actors did not each run " << kRunsFirst << " times in 10 s";
    }
    hs.push_back(smarm::spawn([&] { body(kNew); }));
    // Back here after the newcomer's first slice (or second, if the pinned class's turn
    // came first): every actor is pinned now, the newcomer with the fewest slices.
    last.store(-1, std::memory_order_relaxed);
    marked.store(true, std::memory_order_relaxed);
    (void)smarm::sleep_for(20ms);
    stop = true;
    for (auto& h : hs) (void)h.join();
    EXPECT_EQ(first_after_mark.load(), kNew)
        << "the pinned turn went to an actor that had used more slices than the newcomer";
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SchedulingTest, APreemptedActorStillRunsBesideEndlessWakeUps) {
  // Two actors ping-pong forever (the woken class is never empty) beside one CPU-bound
  // actor: the preempted actor's turn comes at least every two timeslices.
  auto r = smarm::test::run_on(1, [] {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> hog_iterations{0};
    auto hog = smarm::spawn([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        std::vector<int> v(16, 1);
        asm volatile("" : : "r"(v.data()) : "memory");
        SMARM_CHECK();
        hog_iterations.fetch_add(1, std::memory_order_relaxed);
      }
    });
    // Named channel objects, not structured bindings: Clang 14 cannot capture those.
    auto a = smarm::channel<int>();
    auto b = smarm::channel<int>();
    auto& a_tx = a.tx;
    auto& b_tx = b.tx;
    auto pong = smarm::spawn([&, rx = std::move(b.rx)]() mutable {
      while (auto v = rx.recv()) (void)a_tx.send(*v);
    });
    auto ping = smarm::spawn([&, rx = std::move(a.rx)]() mutable {
      (void)b_tx.send(0);
      while (!stop.load()) {
        auto v = rx.recv();
        if (!v) return;
        (void)b_tx.send(*v + 1);
      }
      b_tx.close();
    });
    const std::uint64_t before = hog_iterations.load();
    (void)smarm::sleep_for(200ms);
    const std::uint64_t during = hog_iterations.load() - before;
    stop = true;
    (void)ping.join();
    (void)pong.join();
    (void)hog.join();
    EXPECT_GT(during, 0u) << "the preempted actor never ran in 200 ms";
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SchedulingTest, ABlockedWorkersTimersIoAndQueueAreHandedOff) {
  // A sleeper, a pipe reader and the root are parked or queued on one worker; a child
  // started there blocks its OS thread for 1 s. The other worker serves them meanwhile:
  // the longest gap either victim sees stays under 200 ms (target 20 ms).
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
  const bool io_handed_off = std::strcmp(smarm::io::backend_name(), "epoll") == 0;
  std::atomic<bool> stop{false};
  std::thread feeder([&] {
    while (!stop.load()) {
      const char b = 'x';
      ssize_t ignored = ::write(fds[1], &b, 1);
      (void)ignored;
      std::this_thread::sleep_for(1ms);
    }
  });
  std::vector<std::int64_t> sleeper_wakes, reader_wakes;
  std::atomic<std::int64_t> from{0}, to{0};
  std::atomic<bool> root_ran_during_block{false};
  auto now = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               smarm::Clock::now().time_since_epoch())
        .count();
  };
  auto r = smarm::test::run_on(2, [&] {
    auto sleeper = smarm::spawn([&] {
      while (!stop.load()) {
        if (!smarm::sleep_for(1ms)) return;
        sleeper_wakes.push_back(now());
      }
    });
    auto reader = smarm::spawn([&] {
      std::byte buf[64];
      while (!stop.load())
        if (smarm::io::read(fds[0], buf, smarm::Clock::now() + 100ms))
          reader_wakes.push_back(now());
    });
    auto blocker = smarm::spawn([&] {
      from = now();
      std::this_thread::sleep_for(1s);  // the OS thread itself
      to = now();
    });
    // The root was queued behind the blocker: it runs again only if it was handed off.
    if (to.load() == 0) root_ran_during_block = true;
    (void)blocker.join();
    (void)smarm::sleep_for(20ms);
    stop = true;
    (void)sleeper.join();
    (void)reader.join();
    EXPECT_GT(smarm::stats().total().handoffs, 0u);
  });
  stop = true;
  feeder.join();
  ::close(fds[0]);
  ::close(fds[1]);
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(root_ran_during_block.load()) << "the blocked worker's queue was not taken";
  auto longest_gap_ms = [&](const std::vector<std::int64_t>& wakes) {
    std::int64_t prev = from.load(), longest = 0;
    for (std::int64_t t : wakes) {
      if (t <= prev) continue;
      longest = std::max(longest, t - prev);
      prev = t;
      if (t > to.load()) break;
    }
    return static_cast<double>(longest) / 1e6;
  };
  EXPECT_LT(longest_gap_ms(sleeper_wakes), 200.0);
  if (io_handed_off) {
    EXPECT_LT(longest_gap_ms(reader_wakes), 200.0);
  }
}

TEST(SchedulingTest, ManyTimersOnOneWorkerFireInDeadlineOrder) {
  // Distinct deadlines over 300 ms, one worker: every actor wakes in deadline order. The
  // order is only a test if every timer was armed before the first deadline, so the
  // root waits until stats() counts them all, and if the first deadline passed first (a
  // loaded machine), tries again with a longer lead.
  const int n = smarm::test::scaled(100'000, 20'000, 3'000);
  bool armed_in_time = false;
  std::vector<int> order;
  for (auto lead : {1s, 5s}) {
    auto r = smarm::test::run_on(1, [&] {
      // Each waking actor takes the next position with an atomic: actors sharing plain
      // data with no synchronisation race as far as TSan can tell, even on one worker.
      std::vector<int> woke_order(static_cast<std::size_t>(n), -1);
      std::atomic<std::size_t> woke{0};
      const auto start = smarm::Clock::now() + lead;
      std::vector<smarm::JoinHandle<void>> hs;
      hs.reserve(static_cast<std::size_t>(n));
      for (int i = 0; i < n; ++i) {
        // A permutation of 0..n-1 (n and the step are coprime for these sizes).
        const int slot = static_cast<int>((static_cast<std::int64_t>(i) * 7919) % n);
        hs.push_back(smarm::spawn([&, slot] {
          const auto deadline = start + std::chrono::microseconds(slot * 300'000LL / n + 1) +
                                std::chrono::nanoseconds(slot % 1000);
          if (!smarm::sleep_until(deadline)) return;
          woke_order[woke.fetch_add(1)] = slot;
        }));
      }
      armed_in_time = smarm::test::timers_armed_before(static_cast<std::uint64_t>(n), start);
      for (auto& h : hs) (void)h.join();
      woke_order.resize(woke.load());
      return woke_order;
    });
    ASSERT_TRUE(is_ok(r));
    order = *r;
    if (armed_in_time) break;
  }
  ASSERT_TRUE(armed_in_time) << "arming " << n << " timers outlasted a 5 s lead";
  EXPECT_EQ(order.size(), static_cast<std::size_t>(n));
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

TEST(SchedulingTest, AnActorSpawnedToMigrateOnPreemptRunsOnBothThreads) {
  // SpawnOptions::migrate_on_preempt: preempted mid-loop, the actor is queued where the
  // other worker takes it (at its own preemption point), so over some slices it runs on
  // both threads, beside pinned CPU-bound actors that keep both workers busy. The
  // opposite, without the option, is the next test. (10 s bound, not a timing target.)
  auto r = smarm::test::run_on(2, [] {
    std::atomic<bool> stop{false};
    std::vector<smarm::JoinHandle<void>> others;
    for (int i = 0; i < 3; ++i) others.push_back(smarm::spawn([&] { churn(stop); }));
    std::set<long> tids;
    smarm::SpawnOptions options;
    options.migrate_on_preempt = true;
    auto mover = smarm::spawn(options, [&] {
      const auto until = smarm::Clock::now() + 10s;
      while (tids.size() < 2 && smarm::Clock::now() < until) {
        std::vector<int> v(16, 1);
        asm volatile("" : : "r"(v.data()) : "memory");
        SMARM_CHECK();
        tids.insert(os_tid());
      }
    });
    (void)mover.join();
    stop = true;
    for (auto& h : others) (void)h.join();
    EXPECT_EQ(tids.size(), 2u) << "the actor never resumed on the other thread";
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(SchedulingTest, APreemptedActorHoldingAnOsLockStaysOnItsThread) {
  // Pinning: an actor preempted while it holds a std::mutex (an OS-level lock) resumes on
  // the thread that locked it, whatever balancing goes on around it.
  auto r = smarm::test::run_on(2, [] {
    std::atomic<bool> stop{false};
    std::vector<smarm::JoinHandle<void>> others;
    for (int i = 0; i < 3; ++i) others.push_back(smarm::spawn([&] { churn(stop); }));
    std::mutex m;
    int moved = 0;
    const std::uint64_t preempted_before = smarm::stats().total().preemptions;
    for (int round = 0; round < 20; ++round) {
      std::lock_guard lock(m);
      const long tid = os_tid();
      const auto until = smarm::Clock::now() + 3ms;  // several timeslices
      while (smarm::Clock::now() < until) {
        std::vector<int> v(16, round);
        asm volatile("" : : "r"(v.data()) : "memory");
        SMARM_CHECK();
        if (os_tid() != tid) ++moved;
      }
    }
    stop = true;
    for (auto& h : others) (void)h.join();
    EXPECT_EQ(moved, 0);
    EXPECT_GT(smarm::stats().total().preemptions, preempted_before);
  });
  ASSERT_TRUE(is_ok(r));
}

}  // namespace
