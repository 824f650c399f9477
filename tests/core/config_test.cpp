// SPDX-License-Identifier: Apache-2.0
// config_test.cpp — Config defaults, setters and validation, as reported by run().
//
// Validation happens at run(): a bad Config makes run() return InvalidConfig naming the
// field, without running the function. Calling run() from inside an actor is
// InvalidArgument.
#include <sched.h>

#include <chrono>
#include <cstddef>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using smarm::Config;
using smarm::Errc;
using smarm::test::has_errc;
using smarm::test::is_ok;

std::size_t cpus_in_affinity_mask() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 0;
  return static_cast<std::size_t>(CPU_COUNT(&set));
}

// expect_invalid runs config and checks it is refused with InvalidConfig naming field,
// and that the body never ran.
void expect_invalid(const Config& config, const std::string& field) {
  auto v = config.validate();
  ASSERT_TRUE(has_errc(v, Errc::InvalidConfig)) << field;
  EXPECT_NE(v.error().message().find(field), std::string::npos)
      << "validate() message does not name " << field << ": " << v.error().message();

  bool ran = false;
  auto r = smarm::runtime::init(config).run([&] {
    ran = true;
    return 1;
  });
  ASSERT_TRUE(has_errc(r, Errc::InvalidConfig)) << field;
  EXPECT_NE(r.error().message().find(field), std::string::npos)
      << "run() message does not name " << field << ": " << r.error().message();
  EXPECT_FALSE(ran) << "the root ran despite an invalid config";
}

TEST(ConfigTest, DefaultsAreTheDocumentedOnes) {
  Config c;
  EXPECT_EQ(c.workers(), cpus_in_affinity_mask());
  EXPECT_EQ(c.stack_size(), Config::kDefaultStackSize);
  EXPECT_EQ(c.guard_size(), 0u);  // 0: chosen by guard mode
  EXPECT_EQ(c.guard_mode(), smarm::GuardMode::Auto);
  EXPECT_TRUE(is_ok(c.validate()));
}

TEST(ConfigTest, SettersChainAndStick) {
  Config c = Config::exact(3);
  c.stack_size(64 * 1024)
      .guard_size(8192)
      .guard_mode(smarm::GuardMode::Mprotect)
      .stack_pool_size(7)
      .shutdown_grace(std::chrono::milliseconds(1234));
  EXPECT_EQ(c.workers(), 3u);
  EXPECT_EQ(c.stack_size(), 64u * 1024);
  EXPECT_EQ(c.guard_size(), 8192u);
  EXPECT_EQ(c.guard_mode(), smarm::GuardMode::Mprotect);
  EXPECT_EQ(c.stack_pool_size(), 7u);
  EXPECT_EQ(c.shutdown_grace(), std::chrono::milliseconds(1234));
  EXPECT_TRUE(is_ok(c.validate()));
}

TEST(ConfigTest, ZeroWorkersIsInvalidAndNamesWorkers) {
  expect_invalid(Config::exact(0), "workers");
}

TEST(ConfigTest, TooManyWorkersIsInvalid) {
  expect_invalid(Config::exact(Config::kMaxWorkers + 1), "workers");
  expect_invalid(Config::exact(std::numeric_limits<std::size_t>::max()), "workers");
}

TEST(ConfigTest, ZeroStackSizeIsInvalid) {
  expect_invalid(Config::exact(1).stack_size(0), "stack_size");
}

TEST(ConfigTest, AbsurdStackSizeIsInvalid) {
  // Rounding SIZE_MAX up to a page would overflow; it must be refused, not wrapped.
  expect_invalid(Config::exact(1).stack_size(std::numeric_limits<std::size_t>::max()),
                 "stack_size");
}

TEST(ConfigTest, AbsurdGuardSizeIsInvalid) {
  expect_invalid(Config::exact(1).guard_size(std::numeric_limits<std::size_t>::max()),
                 "guard_size");
}

TEST(ConfigTest, NegativeShutdownGraceIsInvalid) {
  expect_invalid(Config::exact(1).shutdown_grace(std::chrono::milliseconds(-1)), "shutdown_grace");
}

TEST(ConfigTest, ValidConfigRuns) {
  auto r = smarm::test::run_checked(Config::exact(2).stack_size(64 * 1024).stack_pool_size(0),
                                    [] { return 7; });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 7);
}

TEST(ConfigTest, RunInsideAnActorIsInvalidArgument) {
  auto r = smarm::test::run_on(1, [] {
    bool inner_ran = false;
    auto inner = smarm::runtime::init(Config::exact(1)).run([&] {
      inner_ran = true;
      return 1;
    });
    EXPECT_FALSE(inner_ran);
    return smarm::test::errc_or_ok(inner);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, Errc::InvalidArgument);
}

TEST(ConfigTest, FreeRunInsideAnActorIsInvalidArgument) {
  auto r = smarm::test::run_on(2, [] {
    auto h = smarm::spawn([] { return smarm::test::errc_or_ok(smarm::run([] {})); });
    auto j = h.join();
    EXPECT_TRUE(is_ok(j));
    return j.value_or(Errc{});
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, Errc::InvalidArgument);
}

}  // namespace
