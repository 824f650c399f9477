// SPDX-License-Identifier: Apache-2.0
// overflow_death_test.cpp — a stack overflow aborts with a message naming the actor.
//
// The guard region below every stack turns an overflow into SIGSEGV; the runtime's
// handler (on its own alternate stack) recognises the guard, writes "stack overflow" with
// the actor's pid, name and stack size to stderr and aborts. Covered: a deep recursion,
// one 8 KiB frame in a tiny stack, and the mprotect guard mode. Skipped under TSan, which
// does not support death tests with fibers.
#include <cstddef>
#include <cstdint>
#include <utility>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/sanitizers.hpp"

namespace {

// recurse_forever recurses until the stack runs out (the result is never reached).
[[gnu::noinline]] std::uint64_t recurse_forever(std::uint64_t n) {
  volatile char buf[256];
  buf[0] = static_cast<char>(n);
  if (n == ~std::uint64_t{0}) return 0;  // never true; keeps the recursion unbounded
  return recurse_forever(n + 1) + static_cast<std::uint64_t>(buf[0]);
}

// big_frame touches an 8 KiB frame from its top down, so the first page it cannot have
// is the one right below the stack: the guard.
[[gnu::noinline]] int big_frame() {
  volatile char buf[8192];
  for (std::size_t i = sizeof(buf); i-- > 0;) buf[i] = static_cast<char>(i);
  return buf[0] + buf[sizeof(buf) - 1];
}

void overflow_in(smarm::Config config, smarm::SpawnOptions opts, int which) {
  auto r = smarm::runtime::init(std::move(config)).run([opts, which] {
    auto h = smarm::spawn(opts, [which]() -> std::uint64_t {
      return which == 0 ? recurse_forever(0) : static_cast<std::uint64_t>(big_frame());
    });
    return h.join().value_or(0);
  });
  (void)r;
}

class OverflowDeathTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if SMARM_TEST_TSAN
    GTEST_SKIP() << "death tests do not run under TSan";
#endif
    GTEST_FLAG_SET(death_test_style, "threadsafe");
  }
};

// The message must say "stack overflow" and name the actor, in either order.
constexpr const char* kDeepPattern = "stack overflow(.|\n)*deep|deep(.|\n)*stack overflow";

TEST_F(OverflowDeathTest, DeepRecursionNamesTheActor) {
  EXPECT_DEATH(overflow_in(smarm::Config::exact(1),
                           smarm::SpawnOptions{.stack_size = 64 * 1024, .name = "deep"}, 0),
               kDeepPattern);
}

TEST_F(OverflowDeathTest, OneBigFrameInATinyStack) {
  EXPECT_DEATH(overflow_in(smarm::Config::exact(1),
                           smarm::SpawnOptions{.stack_size = 4096, .name = "bigframe"}, 1),
               "stack overflow(.|\n)*bigframe|bigframe(.|\n)*stack overflow");
}

TEST_F(OverflowDeathTest, DeepRecursionWithMprotectGuard) {
  EXPECT_DEATH(
      overflow_in(smarm::Config::exact(1).guard_mode(smarm::GuardMode::Mprotect),
                  smarm::SpawnOptions{.stack_size = 64 * 1024, .name = "deep-mprotect"}, 0),
      "stack overflow(.|\n)*deep-mprotect|deep-mprotect(.|\n)*stack overflow");
}

TEST_F(OverflowDeathTest, DeepRecursionOnASecondWorker) {
  EXPECT_DEATH(overflow_in(smarm::Config::exact(2),
                           smarm::SpawnOptions{.stack_size = 32 * 1024, .name = "deep"}, 0),
               kDeepPattern);
}

// A slot whose pages were returned (MADV_DONTNEED, in a batch that spans the guards
// between stacks) must still be guarded when it is reused. Pool size 0 sends every
// stack straight back to the allocator.
void overflow_on_recycled_stack(smarm::GuardMode mode) {
  auto config = smarm::Config::exact(1).stack_pool_size(0).guard_mode(mode);
  auto r = smarm::runtime::init(config).run([] {
    for (int i = 0; i < 300; ++i) (void)smarm::spawn([] { return 1; }).join();
    auto h = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "recycled"},
                          [] { return recurse_forever(0); });
    return h.join().value_or(0);
  });
  (void)r;
}

TEST_F(OverflowDeathTest, GuardSurvivesStackRecyclingWithGuardInstall) {
  EXPECT_DEATH(overflow_on_recycled_stack(smarm::GuardMode::GuardInstall),
               "stack overflow(.|\n)*recycled");
}

TEST_F(OverflowDeathTest, GuardSurvivesStackRecyclingWithMprotect) {
  EXPECT_DEATH(overflow_on_recycled_stack(smarm::GuardMode::Mprotect),
               "stack overflow(.|\n)*recycled");
}

}  // namespace
