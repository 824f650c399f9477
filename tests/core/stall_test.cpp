// SPDX-License-Identifier: Apache-2.0
// stall_test.cpp — the stall detector (Config::stall_detector, stall_threshold).
//
// A deliberately stalled actor spins on the clock (no allocation, no SMARM_CHECK()) or
// sleeps in a blocking system call on a worker; the detector must report each stall once,
// with the actor's pid and name, and a backtrace naming the spinning function where one
// can be taken. A well-behaved workload of the same length must produce no report: that
// is what makes the first tests meaningful. Wall-clock only bounds the stalls; nothing
// here asserts on how long anything took.
#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/sanitizers.hpp"

using namespace std::chrono_literals;

// Exported (tests link with -rdynamic) so that the backtrace can name it.
extern "C" __attribute__((noinline)) void smarm_test_stall_spin(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) asm volatile("" ::: "memory");
}

namespace {

using smarm::Errc;
using smarm::test::is_ok;

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

struct Run {
  std::uint64_t stalls = 0;
  std::string err;
};

// run_capturing runs f in a fresh runtime with stderr captured.
template <class F>
Run run_capturing(smarm::Config config, F f) {
  Run out;
  testing::internal::CaptureStderr();
  auto rt = smarm::runtime::init(std::move(config));
  auto r = rt.run(std::move(f));
  out.err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(is_ok(r));
  smarm::test::expect_no_leaks(rt.last_stats());
  out.stalls = rt.last_stats().stalls;
  return out;
}

TEST(StallTest, ReportsASpinningActorOnceWithPidNameAndBacktrace) {
  std::string pid_text;
  auto out = run_capturing(smarm::Config::exact(1).stall_threshold(20), [&] {
    auto h = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "spinner"},
                          [] { smarm_test_stall_spin(400ms); });
    pid_text = smarm::to_string(h.pid());
    EXPECT_TRUE(is_ok(h.join()));
  });
  EXPECT_EQ(out.stalls, 1u) << out.err;
  EXPECT_EQ(count_of(out.err, "smarm: stall: actor "), 1u) << out.err;
  EXPECT_NE(out.err.find("actor " + pid_text + " 'spinner' has held worker 0 for "),
            std::string::npos)
      << out.err;
  // How much was on the CPU is reported; which reading it suggests (a busy loop, or a
  // blocked thread) depends on the machine's load, so only the figure is checked.
  EXPECT_NE(out.err.find(" ms of it on the CPU ("), std::string::npos) << out.err;
  if (!SMARM_TEST_TSAN) {  // TSan defers the backtrace signal past the stall
    EXPECT_NE(out.err.find("backtrace of worker 0"), std::string::npos) << out.err;
    EXPECT_NE(out.err.find("smarm_test_stall_spin"), std::string::npos) << out.err;
  }
}

TEST(StallTest, EachStallIsReportedSeparately) {
  auto out = run_capturing(smarm::Config::exact(1).stall_threshold(20), [] {
    auto h = smarm::spawn([] {
      smarm_test_stall_spin(200ms);
      EXPECT_TRUE(is_ok(smarm::sleep_for(5ms)));  // a scheduling point ends the first stall
      smarm_test_stall_spin(200ms);
    });
    EXPECT_TRUE(is_ok(h.join()));
  });
  EXPECT_EQ(out.stalls, 2u) << out.err;
  EXPECT_EQ(count_of(out.err, "smarm: stall: actor "), 2u) << out.err;
}

TEST(StallTest, ABlockingSystemCallIsReportedAsOffTheCpu) {
  auto out = run_capturing(smarm::Config::exact(2).stall_threshold(20), [] {
    auto h = smarm::spawn([] { std::this_thread::sleep_for(300ms); });  // blocks the worker
    EXPECT_TRUE(is_ok(h.join()));
  });
  EXPECT_EQ(out.stalls, 1u) << out.err;
  EXPECT_NE(out.err.find("blocked in a system call"), std::string::npos) << out.err;
}

TEST(StallTest, OffMeansSilent) {
  auto out = run_capturing(smarm::Config::exact(1).stall_threshold(20).stall_detector(false), [] {
    auto h = smarm::spawn([] { smarm_test_stall_spin(200ms); });
    EXPECT_TRUE(is_ok(h.join()));
  });
  EXPECT_EQ(out.stalls, 0u);
  EXPECT_EQ(out.err.find("smarm: stall"), std::string::npos) << out.err;
}

// Every kind of scheduling point keeps the detector quiet, even with a threshold shorter
// than the workload: a CPU-bound actor that the hook (or SMARM_CHECK()) finds alone on
// its worker, a channel ping-pong, sleepers. The threshold is 1 s (so that a loaded
// machine descheduling a worker cannot look like a stall), the workload 1.5 s: a
// detector that missed any of these scheduling points would report the CPU-bound actor.
TEST(StallTest, SilentOnAWellBehavedWorkload) {
  auto out = run_capturing(smarm::Config::exact(2).stall_threshold(1000), [] {
    const auto end = std::chrono::steady_clock::now() + 1500ms;
    auto cpu = smarm::spawn([end] {
      std::uint64_t n = 0;
      while (std::chrono::steady_clock::now() < end) {
        SMARM_CHECK();
        if (smarm::debug::allocator_hook_installed()) {
          auto* p = new int(static_cast<int>(n));
          asm volatile("" : : "r"(p) : "memory");
          delete p;
        }
        ++n;
      }
      return n;
    });
    auto [tx, rx] = smarm::channel<int>();
    auto [back_tx, back_rx] = smarm::channel<int>();
    auto echo = smarm::spawn([rx = std::move(rx), back_tx = std::move(back_tx)]() mutable {
      while (auto v = rx.recv()) (void)back_tx.send(*v);
    });
    auto sleeper = smarm::spawn([end] {
      while (std::chrono::steady_clock::now() < end) (void)smarm::sleep_for(3ms);
    });
    for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
      ASSERT_TRUE(is_ok(tx.send(i)));
      ASSERT_TRUE(is_ok(back_rx.recv()));
    }
    tx = {};
    EXPECT_TRUE(is_ok(echo.join()));
    EXPECT_TRUE(is_ok(sleeper.join()));
    EXPECT_TRUE(is_ok(cpu.join()));
  });
  EXPECT_EQ(out.stalls, 0u) << out.err;
  EXPECT_EQ(out.err.find("smarm: stall"), std::string::npos) << out.err;
}

TEST(StallTest, InvalidThresholdIsInvalidConfig) {
  for (std::uint32_t bad : {0u, smarm::Config::kMaxStallThreshold + 1}) {
    auto r = smarm::runtime::init(smarm::Config::exact(1).stall_threshold(bad)).run([] {});
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Errc::InvalidConfig);
    EXPECT_NE(r.error().message().find("stall_threshold"), std::string::npos)
        << r.error().message();
  }
}

}  // namespace
