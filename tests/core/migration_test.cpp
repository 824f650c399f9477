// SPDX-License-Identifier: Apache-2.0
// smarm-test: lto  (markers: tests/CMakeLists.txt)
// migration_test.cpp — an actor that resumes on another worker sees that worker's state.
//
// On Config::exact(2) actors that yield and park many times may resume on either worker.
// After every switch the test checks invariants that break if anything (the runtime's own
// per-worker accessors, or the compiler caching a thread_local's address across the
// switch inside them) still refers to the previous thread:
//   - a thread_local read through a non-inlined function equals the value registered for
//     the thread the actor is on now (looked up by std::this_thread::get_id());
//   - smarm::self() and detail::current_actor() still name the calling actor.
// Whether a migration happened at all is the scheduler's business: if none did in this
// run, the test is skipped rather than failed. It matters most in -O3 -flto builds
// (release, clang-lto), where such caching bugs show.
#include <atomic>
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using smarm::test::is_ok;

std::mutex g_tags_mu;
std::map<std::thread::id, int> g_tags;  // guarded by g_tags_mu
int g_next_tag = 1;                     // guarded by g_tags_mu

[[gnu::noinline]] int register_this_thread() {
  std::lock_guard<std::mutex> lock(g_tags_mu);
  int tag = g_next_tag++;
  g_tags[std::this_thread::get_id()] = tag;
  return tag;
}

// Constant-initialised and atomic: every actor of a worker shares the worker thread's
// copy, and under TSan (fibers annotated as non-synchronising) a plain thread_local, or
// the guard of a dynamically initialised one, would be reported as shared between actors
// — which is exactly what a thread_local inside an actor is.
thread_local std::atomic<int> tl_tag{0};

// tag_via_thread_local reads this thread's tag through the thread_local.
[[gnu::noinline]] int tag_via_thread_local() {
  asm volatile("" ::: "memory");
  int tag = tl_tag.load(std::memory_order_relaxed);
  if (tag == 0) {
    tag = register_this_thread();
    tl_tag.store(tag, std::memory_order_relaxed);
  }
  return tag;
}

// tag_via_thread_id reads it through the thread's id instead.
[[gnu::noinline]] int tag_via_thread_id() {
  asm volatile("" ::: "memory");
  std::lock_guard<std::mutex> lock(g_tags_mu);
  auto it = g_tags.find(std::this_thread::get_id());
  return it == g_tags.end() ? -1 : it->second;
}

struct Report {
  int tls_mismatches = 0;
  int self_mismatches = 0;
  int actor_mismatches = 0;
  std::set<std::thread::id> threads;
};

// check_here records the invariants for the calling actor, right after a switch.
void check_here(Report& r, smarm::Pid me, smarm::detail::Actor* me_actor) {
  const int via_tls = tag_via_thread_local();
  const int via_id = tag_via_thread_id();
  r.tls_mismatches += via_tls != via_id;
  r.self_mismatches += smarm::self() != me;
  r.actor_mismatches += smarm::detail::current_actor() != me_actor;
  r.threads.insert(std::this_thread::get_id());
}

void expect_clean_and_maybe_skip(const std::vector<Report>& reports) {
  std::size_t migrated = 0;
  for (const auto& r : reports) {
    EXPECT_EQ(r.tls_mismatches, 0) << "thread_local read the previous worker's value";
    EXPECT_EQ(r.self_mismatches, 0) << "self() named another actor after a switch";
    EXPECT_EQ(r.actor_mismatches, 0) << "current_actor() changed across a switch";
    if (r.threads.size() > 1) ++migrated;
  }
  if (migrated == 0) GTEST_SKIP() << "no actor migrated between workers in this run";
}

TEST(MigrationTest, ThreadLocalStateFollowsTheWorkerAcrossYields) {
  int actors = 8;
  int rounds = smarm::test::scaled(20'000, 5'000, 1'000);
  auto r = smarm::test::run_on(2, [actors, rounds] {
    std::vector<smarm::JoinHandle<Report>> hs;
    for (int a = 0; a < actors; ++a)
      hs.push_back(smarm::spawn([rounds] {
        Report rep;
        const smarm::Pid me = smarm::self();
        smarm::detail::Actor* me_actor = smarm::detail::current_actor();
        check_here(rep, me, me_actor);
        for (int i = 0; i < rounds; ++i) {
          (void)smarm::yield_now();
          check_here(rep, me, me_actor);
        }
        return rep;
      }));
    std::vector<Report> reports;
    for (auto& h : hs) reports.push_back(h.join().value_or(Report{1, 1, 1, {}}));
    return reports;
  });
  ASSERT_TRUE(is_ok(r));
  expect_clean_and_maybe_skip(*r);
}

TEST(MigrationTest, ThreadLocalStateFollowsTheWorkerAcrossParks) {
  // Pairs play ping-pong over channels: every recv parks and is woken by the partner,
  // which may be running on the other worker.
  int pairs = 4;
  int rounds = smarm::test::scaled(20'000, 5'000, 1'000);
  auto r = smarm::test::run_on(2, [pairs, rounds] {
    std::vector<smarm::JoinHandle<Report>> hs;
    for (int p = 0; p < pairs; ++p) {
      auto [ping_tx, ping_rx] = smarm::channel<int>();
      auto [pong_tx, pong_rx] = smarm::channel<int>();
      auto player = [rounds](smarm::Receiver<int> rx, smarm::Sender<int> tx, bool serve) {
        return smarm::spawn([rx = std::move(rx), tx = std::move(tx), serve, rounds]() mutable {
          Report rep;
          const smarm::Pid me = smarm::self();
          smarm::detail::Actor* me_actor = smarm::detail::current_actor();
          if (serve) (void)tx.send(0);
          for (int i = 0; i < rounds; ++i) {
            auto v = rx.recv();
            check_here(rep, me, me_actor);
            if (!v) break;
            (void)tx.send(*v + 1);
          }
          return rep;
        });
      };
      hs.push_back(player(std::move(ping_rx), std::move(pong_tx), true));
      hs.push_back(player(std::move(pong_rx), std::move(ping_tx), false));
    }
    std::vector<Report> reports;
    for (auto& h : hs) reports.push_back(h.join().value_or(Report{1, 1, 1, {}}));
    return reports;
  });
  ASSERT_TRUE(is_ok(r));
  expect_clean_and_maybe_skip(*r);
}

}  // namespace
