// SPDX-License-Identifier: Apache-2.0
// spawn_test.cpp — spawn, join, detach, try_spawn, SpawnOptions and panics.
//
// Many tests run on 1, 2 and 4 workers (SpawnWorkersTest). Tests that rely on the
// documented "child runs first" order run on one worker only, where it is deterministic.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using smarm::Errc;
using smarm::JoinHandle;
using smarm::test::has_errc;
using smarm::test::is_ok;

class SpawnWorkersTest : public smarm::test::WorkersTest {};
SMARM_INSTANTIATE_WORKERS(SpawnWorkersTest);

TEST_P(SpawnWorkersTest, JoinReturnsTheValue) {
  auto r = run([] {
    auto h = smarm::spawn([] { return 6 * 7; });
    EXPECT_TRUE(h.joinable());
    auto j = h.join();
    EXPECT_TRUE(is_ok(j));
    return j.value_or(-1);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 42);
}

TEST_P(SpawnWorkersTest, VoidActorJoins) {
  std::atomic<int> ran{0};
  auto r = run([&] {
    auto h = smarm::spawn([&] { ran.fetch_add(1); });
    auto j = h.join();
    EXPECT_TRUE(is_ok(j));
    EXPECT_FALSE(h.joinable());
    EXPECT_TRUE(h.finished());
  });
  EXPECT_TRUE(is_ok(r));
  EXPECT_EQ(ran.load(), 1);
}

TEST_P(SpawnWorkersTest, MoveOnlyClosureAndResult) {
  auto r = run([] {
    auto in = std::make_unique<int>(20);
    auto h = smarm::spawn([p = std::move(in)]() mutable {
      *p += 1;
      return std::move(p);
    });
    auto out = h.join();
    EXPECT_TRUE(is_ok(out));
    return out ? **out : -1;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 21);
}

TEST_P(SpawnWorkersTest, JoinOfManyActors) {
  std::size_t n = smarm::test::scaled<std::size_t>(100'000, 20'000, 3'000);
  auto r = run([n] {
    std::vector<JoinHandle<std::uint64_t>> hs;
    hs.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
      hs.push_back(smarm::spawn([i] { return std::uint64_t{i}; }));
    std::uint64_t sum = 0;
    std::size_t ok = 0;
    for (auto& h : hs) {
      auto v = h.join();
      if (v) {
        sum += *v;
        ++ok;
      }
    }
    EXPECT_EQ(ok, n);
    return sum;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, std::uint64_t{n} * (n - 1) / 2);
}

TEST_P(SpawnWorkersTest, SecondJoinIsAlreadyJoined) {
  auto r = run([] {
    auto h = smarm::spawn([] { return 1; });
    EXPECT_TRUE(is_ok(h.join()));
    EXPECT_TRUE(has_errc(h.join(), Errc::AlreadyJoined));
    EXPECT_TRUE(has_errc(h.join(), Errc::AlreadyJoined));
    return 0;
  });
  EXPECT_TRUE(is_ok(r));
}

TEST_P(SpawnWorkersTest, DetachedActorRunsOnAndJoinSaysAlreadyJoined) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [gtx, grx] = smarm::channel<int>();
    auto h = smarm::spawn([tx = std::move(tx), grx = std::move(grx)]() mutable {
      auto g = grx.recv();  // parks until the parent lets it go, after detach
      EXPECT_TRUE(is_ok(tx.send(g.value_or(-1) + 1)));
    });
    h.detach();
    EXPECT_FALSE(h.joinable());
    EXPECT_TRUE(has_errc(h.join(), Errc::AlreadyJoined));
    EXPECT_TRUE(is_ok(gtx.send(10)));
    auto v = rx.recv();
    EXPECT_TRUE(is_ok(v));
    return v.value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 11);
}

TEST_P(SpawnWorkersTest, DestroyingAnUnjoinedHandleDetaches) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    auto [gtx, grx] = smarm::channel<int>();
    {
      auto h = smarm::spawn([tx = std::move(tx), grx = std::move(grx)]() mutable {
        auto g = grx.recv();
        EXPECT_TRUE(is_ok(tx.send(g.value_or(-1) * 2)));
      });
    }  // handle destroyed while the actor is parked
    EXPECT_TRUE(is_ok(gtx.send(21)));
    auto v = rx.recv();
    EXPECT_TRUE(is_ok(v));
    return v.value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 42);
}

TEST_P(SpawnWorkersTest, TrySpawnReturnsAJoinableHandle) {
  auto r = run([] {
    auto h = smarm::try_spawn([] { return std::string("ok"); });
    EXPECT_TRUE(is_ok(h));
    if (!h) return std::string();
    return h->join().value_or("join failed");
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, "ok");
}

TEST_P(SpawnWorkersTest, NestedSpawnsFormATree) {
  // A binary tree of actors, each summing its subtree: 2^depth - 1 actors in all.
  struct Tree {
    static std::uint64_t sum(int depth, std::uint64_t id) {
      if (depth == 0) return id;
      auto l = smarm::spawn([=] { return sum(depth - 1, 2 * id); });
      auto r = smarm::spawn([=] { return sum(depth - 1, 2 * id + 1); });
      return id + l.join().value_or(0) + r.join().value_or(0);
    }
  };
  int depth = smarm::test::scaled(12, 10, 8);
  auto r = run([depth] { return Tree::sum(depth, 1); });
  ASSERT_TRUE(is_ok(r));
  // ids 1 .. 2^(depth+1)-1, each exactly once.
  const std::uint64_t last = (std::uint64_t{1} << (depth + 1)) - 1;
  EXPECT_EQ(*r, last * (last + 1) / 2);
}

TEST_P(SpawnWorkersTest, PanicIsReportedByJoinWithTypeAndWhat) {
  auto r = run([] {
    auto h = smarm::spawn([]() -> int { throw std::runtime_error("boom"); });
    auto j = h.join();
    EXPECT_TRUE(has_errc(j, Errc::Panicked));
    return j ? std::string("no panic") : j.error().message();
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, "std::runtime_error: boom");
}

TEST_P(SpawnWorkersTest, RuntimeKeepsRunningAfterAPanic) {
  auto r = run([] {
    auto [tx, rx] = smarm::channel<int>();
    // A sibling parked across the panic must still be served afterwards.
    auto sibling = smarm::spawn([rx = std::move(rx)]() mutable { return rx.recv().value_or(-1); });
    for (int i = 0; i < 10; ++i) {
      auto p = smarm::spawn([i] {
        if (i >= 0) throw std::logic_error("panic " + std::to_string(i));
        return i;
      });
      auto j = p.join();
      EXPECT_TRUE(has_errc(j, Errc::Panicked));
      if (!j) {
        EXPECT_EQ(j.error().message(), "std::logic_error: panic " + std::to_string(i));
      }
    }
    auto after = smarm::spawn([] { return 5; });
    EXPECT_EQ(after.join().value_or(0), 5);
    EXPECT_TRUE(is_ok(tx.send(9)));
    return sibling.join().value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 9);
}

TEST_P(SpawnWorkersTest, PanickingRootMakesRunReturnPanicked) {
  auto r = run([]() -> int { throw std::runtime_error("root boom"); });
  ASSERT_TRUE(has_errc(r, Errc::Panicked));
  EXPECT_EQ(r.error().message(), "std::runtime_error: root boom");
  ASSERT_TRUE(r.error().exception());
  EXPECT_THROW(std::rethrow_exception(r.error().exception()), std::runtime_error);
}

TEST_P(SpawnWorkersTest, JoinOfAPanickedActorCarriesTheException) {
  struct Custom {
    int code;
  };
  auto r = run([] {
    auto h = smarm::spawn([]() -> int { throw Custom{7}; });
    auto j = h.join();
    EXPECT_TRUE(has_errc(j, Errc::Panicked));
    if (j) return -1;
    try {
      std::rethrow_exception(j.error().exception());
    } catch (const Custom& c) {
      return c.code;
    } catch (...) {
    }
    return -2;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 7);
}

TEST(SpawnTest, ErrorsOtherThanPanickedCarryNoException) {
  EXPECT_FALSE(smarm::Error(Errc::Closed, "closed").exception());
  EXPECT_FALSE(smarm::Error(Errc::TimedOut).exception());
}

TEST_P(SpawnWorkersTest, SpawnOptionsStackSizeIsHonoured) {
  // 512 KiB of frames: more than the 256 KiB default, inside the 1 MiB asked for.
  struct Deep {
    [[gnu::noinline]] static std::uint64_t go(int n) {
      volatile char buf[1024];
      buf[0] = static_cast<char>(n);
      buf[sizeof(buf) - 1] = static_cast<char>(n);
      if (n == 0) return 0;
      return go(n - 1) + static_cast<std::uint64_t>(buf[0] == static_cast<char>(n));
    }
  };
  auto r = run([] {
    smarm::SpawnOptions opts;
    opts.stack_size = 1024 * 1024;
    opts.name = "big-stack";
    auto h = smarm::spawn(opts, [] { return Deep::go(500); });
    auto j = h.join();
    EXPECT_TRUE(is_ok(j));
    return j.value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 500u);
}

// --- one worker: the documented order, and calls outside any actor -----------------

TEST(SpawnTest, ChildRunsBeforeTheParentResumes) {
  auto r = smarm::test::run_on(1, [] {
    std::vector<int> log;
    auto h = smarm::spawn([&log] { log.push_back(1); });
    log.push_back(2);
    EXPECT_TRUE(is_ok(h.join()));
    return log;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, (std::vector<int>{1, 2}));
}

TEST(SpawnTest, ParkedChildIsNotFinished) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn([rx = std::move(rx)]() mutable { return rx.recv().value_or(-1); });
    EXPECT_FALSE(h.finished());
    EXPECT_TRUE(h.joinable());
    EXPECT_TRUE(is_ok(tx.send(3)));
    return h.join().value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 3);
}

TEST(SpawnTest, TrySpawnOutsideAnActorIsNotInActor) {
  auto h = smarm::try_spawn([] { return 1; });
  EXPECT_TRUE(has_errc(h, Errc::NotInActor));
}

TEST(SpawnTest, SpawnOutsideAnActorReportsNotInActorOnJoin) {
  bool ran = false;
  auto h = smarm::spawn([&ran] { ran = true; });
  EXPECT_FALSE(h.joinable());
  EXPECT_TRUE(has_errc(h.join(), Errc::NotInActor));
  EXPECT_FALSE(ran);
}

TEST(SpawnTest, JoinOutsideAnActorIsNotInActor) {
  // A handle carried out of its runtime: the actor has ended, but join() blocks by
  // contract, and blocking calls outside actors report NotInActor.
  auto r = smarm::test::run_on(1, [] { return smarm::spawn([] { return 1; }); });
  ASSERT_TRUE(is_ok(r));
  auto h = std::move(*r);
  EXPECT_TRUE(has_errc(h.join(), Errc::NotInActor));
  EXPECT_TRUE(h.joinable()) << "a failed join must leave the handle joinable";
}

TEST(SpawnTest, YieldOutsideAnActorIsNotInActor) {
  EXPECT_TRUE(has_errc(smarm::yield_now(), Errc::NotInActor));
  EXPECT_FALSE(smarm::cancelled());
}

TEST(SpawnTest, NamedActorWithSmallStack) {
  auto r = smarm::test::run_on(1, [] {
    auto h = smarm::spawn(smarm::SpawnOptions{.stack_size = 16 * 1024, .name = "small"},
                          [] { return 3; });
    return h.join().value_or(0);
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_EQ(*r, 3);
}

}  // namespace
