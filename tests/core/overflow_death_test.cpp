// SPDX-License-Identifier: Apache-2.0
// overflow_death_test.cpp — a stack overflow aborts with a message naming the actor.
//
// The guard region below every stack turns an overflow into SIGSEGV; the runtime's
// handler (on its own alternate stack) recognises the guard, writes "stack overflow" with
// the actor's pid, name and stack size to stderr and aborts. Covered: a deep recursion,
// one 8 KiB frame in a tiny stack, the mprotect guard mode, and frames larger than the
// guard (stack clash: a 1 MiB alloca, a 200 KiB array, 12 KiB frames in mprotect mode),
// whose fault must land in the actor's own guard. Skipped under TSan, which does not
// support death tests with fibers.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
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

// --- Stack clash: a frame larger than the guard must not jump over it. smarm::smarm
// passes -fstack-clash-protection to this code (SMARM_STACK_CLASH_PROTECTION), so each
// of these frames is probed page by page from the top and the first probe below the
// stack hits the guard. Without it, the first touch lands below the guard, in whatever
// stack lies there (the neighbouring actor's), and nothing is reported.

// escape keeps a buffer alive and written, whatever the optimiser sees.
[[gnu::noinline]] void escape(volatile char* p) { p[0] = 1; }

[[gnu::noinline]] int one_mib_alloca() {
  auto* p = static_cast<volatile char*>(__builtin_alloca(std::size_t{1} << 20));
  escape(p);  // the lowest byte: 1 MiB below the frame's top
  return p[0];
}

[[gnu::noinline]] int big_local_array() {
  volatile char buf[200 * 1024];
  escape(buf);
  return buf[0];
}

// twelve_kib_frames recurses with 12 KiB frames touched at their lowest byte first.
[[gnu::noinline]] std::uint64_t twelve_kib_frames(std::uint64_t n) {
  volatile char buf[12 * 1024];
  escape(buf);
  if (n == ~std::uint64_t{0}) return 0;  // never true
  return twelve_kib_frames(n + 1) + static_cast<std::uint64_t>(buf[0]);
}

// DeathReport is what a forked child printed on stderr before it died, and how it died.
struct DeathReport {
  std::string output;
  int status = 0;
};

// die_in_child runs f in a forked child with stderr captured (no runtime runs here at
// fork time, so the child may start one) and waits for it.
template <class F>
DeathReport die_in_child(F f) {
  int fds[2];
  if (::pipe(fds) != 0) return {"pipe failed", -1};
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[0]);
    f();
    ::_exit(0);  // survived: the test fails on the status
  }
  ::close(fds[1]);
  DeathReport r;
  char buf[1024];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    r.output.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  ::waitpid(child, &r.status, 0);
  return r;
}

// expect_overflow_in_guard checks the report: an abort after "stack overflow" naming the
// actor, its stack and guard size, and a fault address inside that actor's own guard.
void expect_overflow_in_guard(const DeathReport& r, const std::string& name) {
  ASSERT_TRUE(WIFSIGNALED(r.status)) << "the child did not die: status " << r.status << "\n"
                                     << r.output;
  EXPECT_EQ(WTERMSIG(r.status), SIGABRT) << r.output;
  // "smarm: stack overflow in actor <r.i.g> 'name' (stack N bytes, guard G bytes at
  // [0xLO, 0xHI), fault at 0xADDR)" — parsed by hand (std::regex trips GCC 12's
  // -Wmaybe-uninitialized under ASan).
  const std::string head = "smarm: stack overflow in actor <";
  const std::size_t at = r.output.find(head);
  ASSERT_NE(at, std::string::npos) << r.output;
  const std::size_t name_from = r.output.find('\'', at);
  const std::size_t name_to = r.output.find('\'', name_from + 1);
  ASSERT_NE(name_to, std::string::npos) << r.output;
  EXPECT_EQ(r.output.substr(name_from + 1, name_to - name_from - 1), name);
  unsigned long long stack = 0, guard = 0, lo = 0, hi = 0, fault = 0;
  ASSERT_EQ(
      std::sscanf(r.output.c_str() + name_to + 1,
                  " (stack %llu bytes, guard %llu bytes at [0x%llx, 0x%llx), fault at 0x%llx)",
                  &stack, &guard, &lo, &hi, &fault),
      5)
      << r.output;
  EXPECT_GT(stack, 0u);
  EXPECT_EQ(hi - lo, guard);
  EXPECT_GE(guard, 64u * 1024);  // the same default guard in both modes
  EXPECT_GE(fault, lo) << r.output;
  EXPECT_LT(fault, hi) << r.output;
}

// clash_in runs body on an actor named `name` with a stack of `stack` bytes, beside a
// neighbour actor that is parked (its stack is the one a jump over the guard would hit).
template <class Body>
void clash_in(smarm::Config config, std::size_t stack, const char* name, Body body) {
  (void)smarm::runtime::init(std::move(config)).run([&] {
    auto [tx, rx] = smarm::channel<int>();
    auto neighbour = smarm::spawn([rx = std::move(rx)]() mutable { return rx.recv().value_or(0); });
    auto h = smarm::spawn(smarm::SpawnOptions{.stack_size = stack, .name = name},
                          [&] { return static_cast<std::uint64_t>(body()); });
    (void)h.join();
    (void)tx.send(1);
    return neighbour.join().value_or(0);
  });
}

class StackClashTest : public OverflowDeathTest {};

TEST_F(StackClashTest, AOneMibAllocaMeetsTheGuard) {
  expect_overflow_in_guard(
      die_in_child([] { clash_in(smarm::Config::exact(1), 0, "alloca", one_mib_alloca); }),
      "alloca");
}

TEST_F(StackClashTest, A200KibLocalArrayMeetsTheGuard) {
  expect_overflow_in_guard(
      die_in_child([] { clash_in(smarm::Config::exact(1), 64 * 1024, "array", big_local_array); }),
      "array");
}

TEST_F(StackClashTest, TwelveKibFramesMeetTheMprotectGuard) {
  // Kernels before 6.13 (Debian 12's) have no MADV_GUARD_INSTALL: the mprotect guard, which
  // used to be 4 KiB, is now as large as the default.
  expect_overflow_in_guard(die_in_child([] {
                             clash_in(
                                 smarm::Config::exact(1).guard_mode(smarm::GuardMode::Mprotect),
                                 64 * 1024, "frames", [] { return twelve_kib_frames(0); });
                           }),
                           "frames");
}

}  // namespace
