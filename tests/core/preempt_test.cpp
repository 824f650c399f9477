// SPDX-License-Identifier: Apache-2.0
// smarm-test: lto  (markers: tests/CMakeLists.txt)
// preempt_test.cpp — allocator-driven preemption, SMARM_CHECK(), NoPreemptScope, pinning.
//
// The starvation tests run on one worker: a CPU-bound actor spins until a sleeper (woken
// by its timer) sets a flag. With preemption the sleeper gets the worker back and the
// spinner sees the flag; with preemption off — or inside a NoPreemptScope — the sleeper
// cannot run until the spinner gives up, which proves the tests can fail. The give-up
// bound is wall-clock only to end the loop, never asserted on.
#include "core/preempt.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::test::is_ok;

// escape makes an allocation observable so the compiler cannot elide it.
std::atomic<void*> g_escape{nullptr};

enum class Spin { Allocate, Check };

struct Outcome {
  bool sleeper_ran_first = false;  // the flag was set while the spinner still spun
  std::uint64_t hook_calls = 0;    // slow-path calls of the hook during the spin
  std::uint64_t preemptions = 0;
};

// The spin that preempts in this build: allocation where operator new is ours.
Spin default_spin() {
  return smarm::debug::allocator_hook_installed() ? Spin::Allocate : Spin::Check;
}

Outcome starve_test(smarm::Config config, Spin how, std::chrono::milliseconds give_up,
                    bool in_no_preempt_scope = false) {
  Outcome out;
  auto r = smarm::runtime::init(config.workers(1)).run([&] {
    std::atomic<bool> flag{false};
    auto spinner = smarm::spawn([&] {
      const std::uint64_t calls0 = smarm::detail::preempt_hook_calls();
      const auto end = std::chrono::steady_clock::now() + give_up;
      std::unique_ptr<smarm::NoPreemptScope> scope;
      if (in_no_preempt_scope) scope = std::make_unique<smarm::NoPreemptScope>();
      std::uint64_t i = 0;
      while (!flag.load(std::memory_order_relaxed)) {
        if (how == Spin::Check) {
          SMARM_CHECK();
        } else {
          auto v = std::make_unique<std::vector<int>>(16, static_cast<int>(i));
          g_escape.store(v.get(), std::memory_order_relaxed);
        }
        if (++i % 1024 == 0 && std::chrono::steady_clock::now() > end) break;
      }
      out.sleeper_ran_first = flag.load();
      out.hook_calls = smarm::detail::preempt_hook_calls() - calls0;
    });
    auto sleeper = smarm::spawn([&] {
      (void)smarm::sleep_for(2ms);
      flag.store(true);
    });
    EXPECT_TRUE(is_ok(spinner.join()));
    EXPECT_TRUE(is_ok(sleeper.join()));
    out.preemptions = smarm::stats().total().preemptions;
  });
  EXPECT_TRUE(is_ok(r));
  return out;
}

#define SKIP_WITHOUT_ALLOCATOR_HOOK()                                                    \
  if (!smarm::debug::allocator_hook_installed())                                         \
  GTEST_SKIP() << "this build does not replace operator new (ThreadSanitizer owns it); " \
                  "only SMARM_CHECK() preempts here"

TEST(PreemptTest, AnAllocatingLoopCannotStarveASleeper) {
  SKIP_WITHOUT_ALLOCATOR_HOOK();
  auto o = starve_test(smarm::Config(), Spin::Allocate, 20s);
  EXPECT_TRUE(o.sleeper_ran_first);
  EXPECT_GT(o.hook_calls, 0u);  // the hook saw the loop's allocations
  EXPECT_GT(o.preemptions, 0u);
}

TEST(PreemptTest, ALoopCallingCheckCannotStarveASleeper) {
  auto o = starve_test(smarm::Config(), Spin::Check, 20s);
  EXPECT_TRUE(o.sleeper_ran_first);
  EXPECT_GT(o.preemptions, 0u);
}

TEST(PreemptTest, WithPreemptionOffTheSleeperIsStarved) {
  auto o = starve_test(smarm::Config().preemption(false), default_spin(), 300ms);
  EXPECT_FALSE(o.sleeper_ran_first);
  EXPECT_EQ(o.preemptions, 0u);
}

TEST(PreemptTest, InsideANoPreemptScopeTheSleeperIsStarved) {
  auto o = starve_test(smarm::Config(), default_spin(), 300ms, /*in_no_preempt_scope=*/true);
  EXPECT_FALSE(o.sleeper_ran_first);
  EXPECT_EQ(o.preemptions, 0u);
}

TEST(PreemptTest, ShortIntervalsAndSlicesPreemptOften) {
  if (smarm::debug::allocator_hook_installed()) {
    auto o = starve_test(smarm::Config().alloc_interval(1).timeslice(10us), Spin::Allocate, 20s);
    EXPECT_TRUE(o.sleeper_ran_first);
  }
  auto c = starve_test(smarm::Config().timeslice_cycles(100'000), Spin::Check, 20s);
  EXPECT_TRUE(c.sleeper_ran_first);
}

TEST(PreemptTest, InvalidSettingsAreInvalidConfig) {
  for (auto cfg : {smarm::Config().alloc_interval(0), smarm::Config().timeslice(0us),
                   smarm::Config().timeslice_cycles(0), smarm::Config().timeslice(-5us)}) {
    auto r = smarm::runtime::init(cfg.workers(1)).run([] {});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), Errc::InvalidConfig) << r.error().message();
  }
}

TEST(PreemptTest, AnActorHoldingAnOsLockNeverMigrates) {
  SKIP_WITHOUT_ALLOCATOR_HOOK();
  // Two workers, plenty of runnable actors to steal: an actor preempted while it holds a
  // std::mutex must resume on the thread that locked it, every time.
  std::atomic<int> migrations{0};
  std::atomic<std::uint64_t> preempted{0};
  auto r = smarm::runtime::init(smarm::Config::exact(2).timeslice(50us)).run([&] {
    std::atomic<bool> stop{false};
    std::vector<smarm::JoinHandle<void>> busy;
    for (int i = 0; i < 4; ++i)
      busy.push_back(smarm::spawn([&] {
        // Bursts of work and short naps: workers keep running dry and stealing.
        while (!stop.load(std::memory_order_relaxed)) {
          for (int k = 0; k < 2'000; ++k) {
            auto v = std::make_unique<int>(k);
            g_escape.store(v.get(), std::memory_order_relaxed);
          }
          (void)smarm::sleep_for(20us);
        }
      }));
    std::vector<smarm::JoinHandle<void>> holders;
    for (int h = 0; h < 2; ++h)
      holders.push_back(smarm::spawn([&] {
        std::mutex m;
        for (int round = 0; round < 20; ++round) {
          std::lock_guard lock(m);
          const auto thread = std::this_thread::get_id();
          for (int i = 0; i < 20'000; ++i) {
            auto v = std::make_unique<std::vector<int>>(8, i);
            g_escape.store(v.get(), std::memory_order_relaxed);
            if (std::this_thread::get_id() != thread) migrations.fetch_add(1);
          }
        }
      }));
    for (auto& h : holders) EXPECT_TRUE(is_ok(h.join()));
    stop = true;
    for (auto& b : busy) EXPECT_TRUE(is_ok(b.join()));
    preempted = smarm::stats().total().preemptions;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(migrations.load(), 0);
  EXPECT_GT(preempted.load(), 0u);  // the holders (or the busy actors) were preempted
}

TEST(PreemptTest, ThePreemptionClockIsNamed) {
  const std::string clock = smarm::debug::preempt_clock();
  EXPECT_TRUE(clock.rfind("tsc", 0) == 0 || clock.rfind("CLOCK_MONOTONIC", 0) == 0) << clock;
}

}  // namespace
