// SPDX-License-Identifier: Apache-2.0
// stack_test.cpp — actor stacks: guard modes, small and large stacks, pooling, and the
// mprotect mode failing cleanly (never running unguarded) near vm.max_map_count.
#include "core/stack.hpp"

#include <sys/mman.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/sanitizers.hpp"
#include "support/scale.hpp"

namespace {

using smarm::Config;
using smarm::Errc;
using smarm::GuardMode;
using smarm::test::has_errc;
using smarm::test::is_ok;

// recurse uses about frames * 512 bytes of stack and returns frames.
[[gnu::noinline]] std::uint64_t recurse(int frames) {
  volatile char buf[448];
  buf[0] = 1;
  buf[sizeof(buf) - 1] = 1;
  if (frames == 0) return 0;
  return recurse(frames - 1) + static_cast<std::uint64_t>(buf[0] + buf[sizeof(buf) - 1] - 1);
}

// parked_sum spawns n actors that each park in recv and use a little stack, then releases
// them and returns the sum of what they received (0 + 1 + ... + n-1).
std::uint64_t parked_sum(std::size_t n, const smarm::SpawnOptions& opts, int frames) {
  std::vector<smarm::Sender<std::uint64_t>> gates;
  std::vector<smarm::JoinHandle<std::uint64_t>> hs;
  gates.reserve(n);
  hs.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto [tx, rx] = smarm::channel<std::uint64_t>();
    gates.push_back(std::move(tx));
    hs.push_back(smarm::spawn(opts, [rx = std::move(rx), frames]() mutable {
      std::uint64_t used = recurse(frames);
      return rx.recv().value_or(1'000'000'000) + used - static_cast<std::uint64_t>(frames);
    }));
  }
  for (std::size_t i = 0; i < n; ++i) (void)gates[i].send(i);
  std::uint64_t sum = 0;
  for (auto& h : hs) sum += h.join().value_or(1'000'000'000);
  return sum;
}

void run_with_guard_mode(GuardMode mode) {
  std::size_t n = smarm::test::scaled<std::size_t>(2'000, 500, 200);
  auto r = smarm::test::run_checked(Config::exact(2).guard_mode(mode),
                                    [n] { return parked_sum(n, {}, 100); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, std::uint64_t{n} * (n - 1) / 2);
}

TEST(StackTest, MprotectGuardModeRuns) { run_with_guard_mode(GuardMode::Mprotect); }
TEST(StackTest, GuardInstallModeRuns) { run_with_guard_mode(GuardMode::GuardInstall); }
TEST(StackTest, AutoGuardModeRuns) { run_with_guard_mode(GuardMode::Auto); }

TEST(StackTest, ManyActorsWithSmallStacks) {
  std::size_t n = smarm::test::scaled<std::size_t>(20'000, 5'000, 2'000);
  auto r = smarm::test::run_checked(Config::exact(1).stack_size(16 * 1024),
                                    [n] { return parked_sum(n, {}, 8); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, std::uint64_t{n} * (n - 1) / 2);
}

TEST(StackTest, SpawnOptionsStackSizeOverridesTheDefault) {
  // The runtime default is small; the actors ask for 512 KiB and use ~256 KiB of it.
  auto r = smarm::test::run_checked(Config::exact(2).stack_size(16 * 1024), [] {
    smarm::SpawnOptions big{.stack_size = 512 * 1024, .name = "big"};
    return parked_sum(8, big, 500);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 28u);
}

TEST(StackTest, DeepRecursionThatFitsTheDefaultStack) {
  // ~128 KiB of frames in the 256 KiB default.
  auto r = smarm::test::run_on(
      1, [] { return smarm::spawn([] { return recurse(250); }).join().value_or(0); });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 250u);
}

TEST(StackTest, StacksReturnAndThePoolIsCapped) {
  auto rt = smarm::runtime::init(Config::exact(1).stack_pool_size(4));
  auto r = rt.run([] {
    // Sequential spawn/join reuses a hot stack; a burst of 64 live actors frees 64 stacks.
    for (int i = 0; i < 100; ++i) (void)smarm::spawn([] { return recurse(4); }).join();
    return parked_sum(64, {}, 4);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 64u * 63 / 2);
  const smarm::Stats& s = rt.last_stats();
  smarm::test::expect_no_leaks(s);
  ASSERT_EQ(s.workers.size(), 1u);
  EXPECT_LE(s.workers[0].stacks_pooled, 4u);
  EXPECT_LE(s.stacks_pooled, 4u);
}

TEST(StackTest, ReleasedStacksGiveTheirPagesBackInBatches) {
  // The allocator alone: 5,000 stacks, each with a page written near its top, released
  // together. Once the reclaimer thread is done, all but those of the batch still
  // collecting (under 256 here, kept warm for reuse; the bound below is looser) have
  // their pages dropped: not resident, and zero when read again.
  smarm::detail::StackAllocator alloc(Config::exact(1));
  const std::size_t page = smarm::detail::page_size();
  constexpr std::size_t kStacks = 5'000;
  std::vector<smarm::detail::Stack> stacks;
  for (std::size_t i = 0; i < kStacks; ++i) {
    auto s = alloc.allocate(0);
    ASSERT_TRUE(is_ok(s));
    s->top()[-64] = 0x5a;
    stacks.push_back(*s);
  }
  for (const auto& s : stacks) alloc.release(s);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (alloc.held_exited() >= smarm::detail::StackAllocator::kReleaseBatch &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_LT(alloc.held_exited(), smarm::detail::StackAllocator::kReleaseBatch)
      << "the reclaimer did not drop the queued batches within 60 s";
  std::size_t resident = 0, nonzero = 0;
  for (const auto& s : stacks) {
    char* p = s.top() - 64;
    auto* pg = reinterpret_cast<void*>(reinterpret_cast<std::uintptr_t>(p) & ~(page - 1));
    unsigned char in_core = 0;
    ASSERT_EQ(::mincore(pg, page, &in_core), 0);
    if (in_core & 1) {
      ++resident;
      if (*p != 0) ++nonzero;
    }
  }
  EXPECT_LE(resident, 2'048u) << "released stacks kept their pages";
  EXPECT_LE(nonzero, resident);
  // Reading a dropped page faults in a zero page: count those as well.
  std::size_t zero = 0;
  for (const auto& s : stacks)
    if (s.top()[-64] == 0) ++zero;
  EXPECT_GE(zero, kStacks - 2'048u) << "a dropped stack still holds its old contents";
}

TEST(StackTest, ABurstOfExitsGivesItsStacksBackInTheBackground) {
  // 3,000 actors touch a page of their stacks and end together. Their stacks beyond the
  // worker's pool are queued for the reclaimer thread, which drops them: the count of
  // exited stacks still holding pages falls back under one batch (the one kept warm).
  const int actors = smarm::test::scaled(3'000, 1'000, 600);
  auto r = smarm::test::run_on(1, [&] {
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < actors; ++i)
      hs.push_back(smarm::spawn([] {
        char page[2048];
        page[0] = 1;
        asm volatile("" : : "r"(page) : "memory");  // the page is written, not optimised out
        (void)smarm::yield_now();  // all alive at once: none reuses another's stack
      }));
    for (auto& h : hs) (void)h.join();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (smarm::stats().stacks_held_exited >= smarm::detail::StackAllocator::kReleaseBatch &&
           std::chrono::steady_clock::now() < deadline)
      (void)smarm::sleep_for(std::chrono::milliseconds(1));
    EXPECT_LT(smarm::stats().stacks_held_exited, smarm::detail::StackAllocator::kReleaseBatch)
        << "exited stacks still hold their pages after 60 s";
  });
  ASSERT_TRUE(is_ok(r));
}

std::size_t max_map_count() {
  std::ifstream in("/proc/sys/vm/max_map_count");
  std::size_t n = 0;
  in >> n;
  return n;
}

TEST(StackTest, MprotectModeFailsCleanlyNearTheMappingLimit) {
  if (smarm::test::kTsanProfile) GTEST_SKIP() << "needs ~65k live actors; TSan allows ~4k";
#if SMARM_TEST_ASAN
  GTEST_SKIP() << "ASan maps its own shadow and fake stacks, and fails first at the limit";
#endif
  const std::size_t limit = max_map_count();
  if (limit == 0 || limit > 200'000) GTEST_SKIP() << "vm.max_map_count is " << limit;
  auto r = smarm::test::run_checked(
      Config::exact(1).guard_mode(GuardMode::Mprotect).stack_size(8 * 1024).stack_pool_size(0),
      [limit] {
        // Every guarded stack costs at least one mapping of its own in this mode, so
        // spawning more parked actors than the limit must fail at some point.
        std::vector<smarm::Sender<int>> gates;
        std::vector<smarm::JoinHandle<int>> hs;
        smarm::Errc failure{};
        std::size_t spawned = 0;
        for (std::size_t i = 0; i < limit + 1'000; ++i) {
          auto [tx, rx] = smarm::channel<int>();
          auto h =
              smarm::try_spawn([rx = std::move(rx)]() mutable { return rx.recv().value_or(0); });
          if (!h) {
            failure = h.error().code();
            break;
          }
          gates.push_back(std::move(tx));
          hs.push_back(std::move(*h));
          ++spawned;
        }
        // The runtime still works after the failure: release everyone and join them.
        for (auto& g : gates) (void)g.send(1);
        std::size_t ok = 0;
        for (auto& h : hs) ok += static_cast<std::size_t>(h.join().value_or(0));
        EXPECT_EQ(ok, spawned);
        auto after = smarm::spawn([] { return 5; }).join();
        EXPECT_EQ(after.value_or(0), 5);
        return std::make_pair(failure, spawned);
      });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(r->first, Errc::ResourceExhausted)
      << "spawned " << r->second << " actors past vm.max_map_count=" << limit
      << " without an error: stacks ran unguarded";
  EXPECT_GT(r->second, 1'000u);
}

}  // namespace
