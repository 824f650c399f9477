// SPDX-License-Identifier: Apache-2.0
// limits_test.cpp — resource limits: Config::max_actors, Config::max_stack_memory, and
// address-space exhaustion (RLIMIT_AS in a forked child).
//
// Past a limit, spawn fails with ResourceExhausted and a message naming it; the actors
// already running keep working, and the share of an actor that ended is available again
// as soon as join() on it returned.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/sanitizers.hpp"

namespace {

using smarm::Config;
using smarm::Errc;
using smarm::test::has_errc;
using smarm::test::is_ok;

constexpr std::size_t kStack = 64 * 1024;

// expect_invalid checks that config is refused by validate() and by run(), naming field.
void expect_invalid(const Config& config, const std::string& field) {
  auto v = config.validate();
  ASSERT_TRUE(has_errc(v, Errc::InvalidConfig)) << field;
  EXPECT_NE(v.error().message().find(field), std::string::npos) << v.error().message();
  bool ran = false;
  auto r = smarm::runtime::init(config).run([&] {
    ran = true;
    return 1;
  });
  ASSERT_TRUE(has_errc(r, Errc::InvalidConfig)) << field;
  EXPECT_FALSE(ran);
}

TEST(LimitsConfigTest, DefaultsSetNoLimitBelowTheActorTable) {
  Config c;
  EXPECT_EQ(c.max_actors(), Config::kMaxActors);
  EXPECT_EQ(c.max_actors(), std::size_t{1} << 25);
  EXPECT_EQ(c.max_stack_memory(), Config::kNoStackMemoryLimit);
  EXPECT_TRUE(is_ok(c.validate()));
}

TEST(LimitsConfigTest, AbsurdValuesAreInvalidConfigNamingTheField) {
  expect_invalid(Config::exact(1).max_actors(0), "max_actors");
  expect_invalid(Config::exact(1).max_actors(Config::kMaxActors + 1), "max_actors");
  expect_invalid(Config::exact(1).max_stack_memory(0), "max_stack_memory");
  // Smaller than one stack: not even the root could run.
  expect_invalid(Config::exact(1).stack_size(kStack).max_stack_memory(kStack - 1),
                 "max_stack_memory");
  expect_invalid(Config::exact(1).max_stack_memory(Config::kDefaultStackSize / 2),
                 "max_stack_memory");
}

TEST(LimitsConfigTest, TheSmallestLimitsRunTheRootAlone) {
  auto r = smarm::test::run_checked(
      Config::exact(1).max_actors(1).stack_size(kStack).max_stack_memory(kStack), [] {
        auto h = smarm::try_spawn([] { return 1; });
        return smarm::test::errc_or_ok(h);
      });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, Errc::ResourceExhausted);
}

// Gated is a parked actor: it waits for one value and returns it doubled.
struct Gated {
  smarm::Sender<int> gate;
  smarm::JoinHandle<int> handle;
};

smarm::Result<Gated> spawn_gated(const smarm::SpawnOptions& options = {}) {
  auto [tx, rx] = smarm::channel<int>();
  auto h = smarm::try_spawn(
      options, [rx = std::move(rx)]() mutable { return 2 * rx.recv().value_or(-1000); });
  if (!h) return smarm::unexpected(std::move(h).error());
  return Gated{std::move(tx), std::move(*h)};
}

smarm::SpawnOptions sized(std::size_t stack_size) {
  smarm::SpawnOptions o;
  o.stack_size = stack_size;
  return o;
}

// serve_all sends i to the i-th actor and checks each answers 2 * i.
int serve_all(std::vector<Gated>& actors) {
  int ok = 0;
  for (std::size_t i = 0; i < actors.size(); ++i) (void)actors[i].gate.send(static_cast<int>(i));
  for (std::size_t i = 0; i < actors.size(); ++i)
    if (actors[i].handle.join().value_or(-1) == 2 * static_cast<int>(i)) ++ok;
  actors.clear();
  return ok;
}

class LimitsTest : public smarm::test::WorkersTest {};

TEST_P(LimitsTest, MaxActorsRefusesTheSpawnPastItAndKeepsServing) {
  auto r = smarm::test::run_checked(Config::exact(workers()).max_actors(5), [] {
    std::vector<Gated> actors;
    for (int i = 0; i < 4; ++i) {  // the root is the fifth
      auto g = spawn_gated();
      EXPECT_TRUE(is_ok(g));
      if (g) actors.push_back(std::move(*g));
    }
    EXPECT_EQ(smarm::stats().actors_alive, 5u);

    // try_spawn reports at once, spawn through its handle, spawn_actor likewise.
    auto past = smarm::try_spawn([] { return 1; });
    EXPECT_TRUE(has_errc(past, Errc::ResourceExhausted));
    if (!past) {
      EXPECT_NE(past.error().message().find("max_actors = 5"), std::string::npos)
          << past.error().message();
    }
    EXPECT_TRUE(has_errc(smarm::spawn([] { return 1; }).join(), Errc::ResourceExhausted));
    auto [addr, mh] = smarm::spawn_actor<int>([](smarm::Mailbox<int>&) {});
    EXPECT_TRUE(has_errc(mh.join(), Errc::ResourceExhausted));

    // The four still serve; once they ended, as many can be spawned again.
    EXPECT_EQ(serve_all(actors), 4);
    EXPECT_EQ(smarm::stats().actors_alive, 1u);
    for (int i = 0; i < 4; ++i) {
      auto g = spawn_gated();
      EXPECT_TRUE(is_ok(g)) << "the count of ended actors was not released";
      if (g) actors.push_back(std::move(*g));
    }
    EXPECT_TRUE(has_errc(smarm::try_spawn([] { return 1; }), Errc::ResourceExhausted));
    EXPECT_EQ(serve_all(actors), 4);
    return smarm::spawn([] { return 7; }).join().value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 7);
}

TEST_P(LimitsTest, EveryActorIsRefusedInTurnNoSlotLeaksOnFailure) {
  // Repeated failures take nothing: after many refusals the limit is still exact.
  auto r = smarm::test::run_checked(Config::exact(workers()).max_actors(3), [] {
    std::vector<Gated> actors;
    int refused = 0;
    for (int round = 0; round < 3; ++round) {
      for (int i = 0; i < 2; ++i) {
        auto g = spawn_gated();
        EXPECT_TRUE(is_ok(g)) << "round " << round;
        if (g) actors.push_back(std::move(*g));
      }
      for (int i = 0; i < 100; ++i)
        if (!smarm::try_spawn([] { return 0; })) ++refused;
      EXPECT_EQ(serve_all(actors), 2);
    }
    return refused;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 300);
}

TEST_P(LimitsTest, StackMemoryCapRefusesTheSpawnPastItAndKeepsServing) {
  // Room for four stacks of kStack: the root and three actors.
  auto config =
      Config::exact(workers()).stack_size(kStack).max_stack_memory(4 * kStack).stack_pool_size(0);
  auto r = smarm::test::run_checked(config, [] {
    std::vector<Gated> actors;
    for (int i = 0; i < 3; ++i) {
      auto g = spawn_gated();
      EXPECT_TRUE(is_ok(g));
      if (g) actors.push_back(std::move(*g));
    }
    auto past = smarm::try_spawn([] { return 1; });
    EXPECT_TRUE(has_errc(past, Errc::ResourceExhausted));
    if (!past) {
      EXPECT_NE(past.error().message().find("max_stack_memory"), std::string::npos)
          << past.error().message();
    }
    EXPECT_EQ(serve_all(actors), 3);

    // A larger stack counts its own size: with three stacks free, one of 4 * kStack does
    // not fit, one of 3 * kStack does (and then nothing more).
    EXPECT_TRUE(has_errc(spawn_gated(sized(4 * kStack)), Errc::ResourceExhausted));
    auto big = spawn_gated(sized(3 * kStack));
    EXPECT_TRUE(is_ok(big));
    if (big) actors.push_back(std::move(*big));
    EXPECT_TRUE(has_errc(spawn_gated(), Errc::ResourceExhausted));
    EXPECT_EQ(serve_all(actors), 1);

    // Released again: three default stacks fit.
    for (int i = 0; i < 3; ++i) {
      auto g = spawn_gated();
      EXPECT_TRUE(is_ok(g)) << "the stack memory of ended actors was not released";
      if (g) actors.push_back(std::move(*g));
    }
    EXPECT_EQ(serve_all(actors), 3);
    return smarm::stats().actors_alive;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 1u);
}

TEST_P(LimitsTest, BothLimitsTogetherTheTighterOneWins) {
  auto config =
      Config::exact(workers()).stack_size(kStack).max_actors(10).max_stack_memory(3 * kStack);
  auto r = smarm::test::run_checked(config, [] {
    std::vector<Gated> actors;
    for (int i = 0; i < 2; ++i) {
      auto g = spawn_gated();
      EXPECT_TRUE(is_ok(g));
      if (g) actors.push_back(std::move(*g));
    }
    auto past = spawn_gated();
    EXPECT_TRUE(has_errc(past, Errc::ResourceExhausted));
    bool named = !past && past.error().message().find("max_stack_memory") != std::string::npos;
    EXPECT_EQ(serve_all(actors), 2);
    return named;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_TRUE(*r);
}

smarm::task<int> seven() { co_return 7; }

TEST_P(LimitsTest, PipesAndTasksArePastTheLimitToo) {
  // Room for the root and one actor: while one lives, a pipeline cannot start its stages
  // and a task cannot be spawned; both work once it ended.
  auto r = smarm::test::run_checked(Config::exact(workers()).max_actors(2), [] {
    namespace pipe = smarm::pipe;
    // A pipeline of exactly one actor (the map): its source is a channel, read by the map
    // itself, and the sink runs here. (A range source would be a second actor, and
    // whether it had ended before the map's spawn would depend on scheduling.)
    auto doubled = [] {
      auto [tx, rx] = smarm::channel<int>();
      for (int x : {1, 2, 3}) EXPECT_TRUE(is_ok(tx.send(x)));
      tx.close();
      return pipe::from(std::move(rx)) | pipe::map([](int x) { return x * 2; }) | pipe::collect();
    };
    std::vector<Gated> actors;
    auto g = spawn_gated();
    EXPECT_TRUE(is_ok(g));
    if (g) actors.push_back(std::move(*g));
    EXPECT_TRUE(has_errc(doubled(), Errc::ResourceExhausted));
    EXPECT_TRUE(has_errc(smarm::spawn(seven()).join(), Errc::ResourceExhausted));
    EXPECT_EQ(serve_all(actors), 1);
    auto p = doubled();
    EXPECT_TRUE(is_ok(p));
    EXPECT_EQ(p.value_or(std::vector<int>{}), (std::vector<int>{2, 4, 6}));
    return smarm::spawn(seven()).join().value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 7);
}

INSTANTIATE_TEST_SUITE_P(Workers, LimitsTest, ::testing::Values<std::size_t>(1, 2),
                         ::smarm::test::workers_param_name);

// ---------------------------------------------------------------------------------------
// Address-space exhaustion. A forked child caps its address space and spawns parked
// actors until spawn fails; then every one of them must still answer. The child reports
// by exit status (0 = all well), the parent asserts on it.

enum ChildExit : int {
  kChildOk = 0,
  kNoLimit = 10,       // setrlimit failed
  kRunFailed = 11,     // run() itself reported an error
  kWrongError = 12,    // spawn failed with something other than ResourceExhausted
  kNeverFailed = 13,   // spawned the maximum without hitting the cap
  kTooFew = 14,        // failed before a handful of actors: the test proves nothing
  kNotServed = 15,     // an actor did not answer after the failure
  kStillAlive = 16,    // stats() did not return to the root alone
  kNoSpawnAfter = 17,  // nothing could be spawned after the others ended
};

const char* child_exit_name(int code) {
  switch (code) {
    case kNoLimit:
      return "setrlimit(RLIMIT_AS) failed";
    case kRunFailed:
      return "run() failed";
    case kWrongError:
      return "spawn failed with an error other than ResourceExhausted";
    case kNeverFailed:
      return "spawn never failed under RLIMIT_AS";
    case kTooFew:
      return "spawn failed after too few actors";
    case kNotServed:
      return "an actor did not answer after the failure";
    case kStillAlive:
      return "actors still alive after all were joined";
    case kNoSpawnAfter:
      return "spawn failed after the actors ended";
    default:
      return "unexpected exit status";
  }
}

std::size_t address_space_in_use() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long pages = 0;
  if (std::fscanf(f, "%lu", &pages) != 1) pages = 0;
  std::fclose(f);
  return pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

[[noreturn]] void exhaust_address_space_child(std::size_t workers) {
  alarm(300);  // a hang ends as a signal the parent reports, not as a hung test
  const std::size_t cap = address_space_in_use() + (std::size_t{1} << 30);
  rlimit lim{cap, cap};
  if (setrlimit(RLIMIT_AS, &lim) != 0) _exit(kNoLimit);
  auto r = smarm::runtime::init(Config::exact(workers)).run([] {
    std::vector<Gated> actors;
    actors.reserve(1 << 16);
    Errc failure{};
    for (std::size_t i = 0; i < (std::size_t{1} << 16); ++i) {
      auto g = spawn_gated();
      if (!g) {
        failure = g.error().code();
        std::fprintf(stderr, "child: spawn failed after %zu actors: %s\n", actors.size(),
                     g.error().message().c_str());
        break;
      }
      actors.push_back(std::move(*g));
    }
    if (failure == Errc{}) return int{kNeverFailed};
    if (failure != Errc::ResourceExhausted) return int{kWrongError};
    if (actors.size() < 100) return int{kTooFew};
    const std::size_t n = actors.size();
    if (serve_all(actors) != static_cast<int>(n)) return int{kNotServed};
    if (smarm::stats().actors_alive != 1) return int{kStillAlive};
    if (smarm::spawn([] { return 3; }).join().value_or(0) != 3) return int{kNoSpawnAfter};
    return int{kChildOk};
  });
  _exit(r ? *r : kRunFailed);
}

class AddressSpaceTest : public ::testing::TestWithParam<std::size_t> {};

TEST_P(AddressSpaceTest, SpawnFailsCleanlyUnderRlimitAsAndTheOthersStillServe) {
#if SMARM_TEST_ASAN || SMARM_TEST_TSAN
  GTEST_SKIP() << "sanitizer shadow memory needs far more address space than the cap";
#endif
  std::fflush(nullptr);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) exhaust_address_space_child(GetParam());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal "
                                 << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  EXPECT_EQ(WEXITSTATUS(status), kChildOk) << child_exit_name(WEXITSTATUS(status));
}

INSTANTIATE_TEST_SUITE_P(Workers, AddressSpaceTest, ::testing::Values<std::size_t>(1, 2),
                         ::smarm::test::workers_param_name);

}  // namespace
