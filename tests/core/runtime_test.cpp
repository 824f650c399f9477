// SPDX-License-Identifier: Apache-2.0
// runtime_test.cpp — runtimes one after another, side by side, and sized by Config.
//
// No hidden singletons: a second and third runtime in one process behave exactly like the
// first; two runtimes may run at once on two threads. Config{} runs one worker per CPU of
// the affinity mask. Channels work from plain threads, and an idle worker sleeps.
#include <sched.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using smarm::test::is_ok;

// Outcome of one standard workload: what it computed and what the runtime said after.
struct Workload {
  std::uint64_t sum = 0;
  std::uint64_t received = 0;
  int panics = 0;
  std::uint32_t runtime_id = 0;
  std::size_t workers = 0;
};

// workload spawns a fan-out, a channel pipeline and a panicking actor.
Workload workload() {
  Workload w;
  w.runtime_id = smarm::self().runtime;
  w.workers = smarm::stats().workers.size();
  std::vector<smarm::JoinHandle<std::uint64_t>> hs;
  for (std::uint64_t i = 0; i < 200; ++i) hs.push_back(smarm::spawn([i] { return i * i; }));
  for (auto& h : hs) w.sum += h.join().value_or(0);

  auto [tx, rx] = smarm::channel<std::uint64_t>();
  auto consumer = smarm::spawn([rx = std::move(rx)]() mutable {
    std::uint64_t n = 0;
    while (auto v = rx.recv()) n += *v;
    return n;
  });
  for (std::uint64_t i = 1; i <= 1000; ++i) (void)tx.send(i);
  tx.close();
  w.received = consumer.join().value_or(0);

  auto p = smarm::spawn([]() -> int { throw std::runtime_error("x"); });
  w.panics = p.join().has_value() ? 0 : 1;
  return w;
}

TEST(RuntimeTest, SecondAndThirdRuntimeBehaveLikeTheFirst) {
  std::vector<Workload> runs;
  std::vector<smarm::Stats> last;
  for (int i = 0; i < 3; ++i) {
    auto rt = smarm::runtime::init(smarm::Config::exact(2));
    auto r = rt.run(workload);
    ASSERT_TRUE(is_ok(r)) << "run " << i;
    runs.push_back(*r);
    last.push_back(rt.last_stats());
    smarm::test::expect_no_leaks(rt.last_stats(), "run");
  }
  for (int i = 1; i < 3; ++i) {
    EXPECT_EQ(runs[static_cast<std::size_t>(i)].sum, runs[0].sum);
    EXPECT_EQ(runs[static_cast<std::size_t>(i)].received, runs[0].received);
    EXPECT_EQ(runs[static_cast<std::size_t>(i)].panics, 1);
    EXPECT_EQ(runs[static_cast<std::size_t>(i)].workers, 2u);
    EXPECT_EQ(last[static_cast<std::size_t>(i)].total().spawned, last[0].total().spawned);
    EXPECT_EQ(last[static_cast<std::size_t>(i)].total().exited, last[0].total().exited);
  }
  EXPECT_EQ(runs[0].received, 500500u);
  EXPECT_NE(runs[0].runtime_id, runs[1].runtime_id);
  EXPECT_NE(runs[1].runtime_id, runs[2].runtime_id);
  EXPECT_NE(runs[0].runtime_id, runs[2].runtime_id);
}

TEST(RuntimeTest, ManyShortRuntimesInARow) {
  int runs = smarm::test::scaled(200, 50, 20);
  for (int i = 0; i < runs; ++i) {
    auto r = smarm::test::run_on(static_cast<std::size_t>(1 + i % 2), [i] {
      auto h = smarm::spawn([i] { return i + 1; });
      return h.join().value_or(-1);
    });
    ASSERT_TRUE(is_ok(r));
    ASSERT_EQ(*r, i + 1);
  }
}

TEST(RuntimeTest, TwoRuntimesOnTwoThreadsAtOnce) {
  Workload results[2];
  bool ok[2] = {false, false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      auto rt = smarm::runtime::init(smarm::Config::exact(2));
      auto r = rt.run(workload);
      ok[t] =
          r.has_value() && rt.last_stats().actors_alive == 0 && rt.last_stats().stacks_in_use == 0;
      if (r) results[t] = *r;
    });
  for (auto& t : threads) t.join();
  EXPECT_TRUE(ok[0]);
  EXPECT_TRUE(ok[1]);
  EXPECT_EQ(results[0].sum, results[1].sum);
  EXPECT_EQ(results[0].received, 500500u);
  EXPECT_EQ(results[1].received, 500500u);
  EXPECT_NE(results[0].runtime_id, results[1].runtime_id);
}

TEST(RuntimeTest, RunFromANonMainThread) {
  smarm::Result<int> r = smarm::Errc::InvalidArgument;
  std::thread t([&r] {
    r = smarm::test::run_on(1, [] { return smarm::spawn([] { return 8; }).join().value_or(0); });
  });
  t.join();
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 8);
}

TEST(RuntimeTest, DefaultConfigUsesEveryCpuOfTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  const auto cpus = static_cast<std::size_t>(CPU_COUNT(&set));
  auto r = smarm::test::run_checked(smarm::Config{}, [] { return smarm::stats().workers.size(); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, cpus);
}

TEST(RuntimeTest, RunReturnsTheRootsValueOfAnyType) {
  auto v = smarm::run([] {});
  EXPECT_TRUE(is_ok(v));
  auto s = smarm::run([] { return std::string("text"); });
  ASSERT_TRUE(is_ok(s));
  EXPECT_EQ(*s, "text");
  auto p = smarm::run([] { return std::make_unique<int>(3); });
  ASSERT_TRUE(is_ok(p));
  EXPECT_EQ(**p, 3);
}

TEST(RuntimeTest, IdleWorkerSleepsWhileTheRootWaitsOnAPlainThread) {
  // The root parks on a channel fed by a std::thread through Sender::send: senders work
  // from non-actor threads, and the worker sleeps while it waits (counted, not timed).
  auto rt = smarm::runtime::init(smarm::Config::exact(1));
  auto r = rt.run([] {
    auto [tx, rx] = smarm::channel<std::string>();
    auto [ack_tx, ack_rx] = smarm::channel<int>();
    std::thread feeder([tx = std::move(tx), ack_rx = std::move(ack_rx)]() mutable {
      // Wait (outside the runtime, by polling try_recv) until the root says it is about to
      // park, then give the worker a moment to fall asleep.
      while (!ack_rx.try_recv()) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      (void)tx.send("from a plain thread");
    });
    (void)ack_tx.send(1);
    auto v = rx.recv();
    const smarm::Stats s = smarm::stats();
    feeder.join();
    return std::make_pair(v.value_or("recv failed"), s.total().idle_sleeps);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r->first, "from a plain thread");
  EXPECT_GT(r->second, 0u) << "the only worker never slept while the root waited";
  EXPECT_GT(rt.last_stats().total().idle_wakeups, 0u);
  smarm::test::expect_no_leaks(rt.last_stats());
}

}  // namespace
