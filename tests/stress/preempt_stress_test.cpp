// SPDX-License-Identifier: Apache-2.0
// preempt_stress_test.cpp — the runtime under constant preemption.
//
// Every allocation looks at the clock (alloc_interval 1) and the timeslice is one cycle,
// so an actor is switched out at nearly every allocation the hook may act on — inside
// channel sends of heap-allocated values, named spawns, mutex sections, timers. Whatever
// the runtime does while holding one of its locks must not be interrupted: the hook
// counts the looks it refused for that reason (proof that it got there), and the
// invariants below (every message exactly once, every increment counted, no leak) fail
// if a runtime critical section was ever switched out with its lock held. Run on one and
// two workers, and under TSan (where only SMARM_CHECK() preempts: TSan owns operator new).
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "core/preempt.hpp"
#include "support/runtime_fixture.hpp"
#include "support/scale.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::test::is_ok;

constexpr int kProducers = 8;

class PreemptStressTest : public ::testing::TestWithParam<std::size_t> {};
INSTANTIATE_TEST_SUITE_P(Workers, PreemptStressTest, ::testing::Values(1, 2),
                         [](const auto& param_info) {
                           return smarm::test::numbered("T", param_info.param);
                         });

TEST_P(PreemptStressTest, EverythingArrivesExactlyOnceUnderConstantPreemption) {
  const int per_producer = smarm::test::scaled(20'000, 4'000, 600);
  const std::uint64_t refused_before = smarm::detail::preempt_refused_under_runtime_lock();
  std::uint64_t preemptions = 0;

  auto config = smarm::Config::exact(GetParam()).alloc_interval(1).timeslice_cycles(1);
  auto r = smarm::test::run_checked(config, [&] {
    auto [tx, rx] = smarm::channel<std::string>();             // unbounded: grows under its lock
    auto [btx, brx] = smarm::bounded_channel<std::string>(4);  // senders park while full
    smarm::Mutex<std::vector<int>> log;
    std::atomic<std::uint64_t> timeouts{0};

    std::vector<smarm::JoinHandle<void>> hs;
    for (int p = 0; p < kProducers; ++p) {
      hs.push_back(smarm::spawn(
          smarm::SpawnOptions{.stack_size = 0, .name = "producer " + std::to_string(p)},
          [&, p, tx = tx, btx = btx]() mutable {
            for (int i = 0; i < per_producer; ++i) {
              std::string msg = std::to_string(p) + ":" + std::to_string(i);
              SMARM_CHECK();
              if (i % 2 == 0) {
                ASSERT_TRUE(is_ok(tx.send(std::move(msg))));
              } else {
                ASSERT_TRUE(is_ok(btx.send(std::move(msg))));
              }
              if (i % 64 == 0) {
                // A named child spawned and joined: the names table is locked while its
                // entry is allocated.
                auto child = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "child"},
                                          [i] { return std::to_string(i).size(); });
                ASSERT_TRUE(is_ok(child.join()));
                auto g = log.lock(1s);
                ASSERT_TRUE(is_ok(g));
                (*g)->push_back(p);
              }
              if (i % 97 == 0 && !smarm::sleep_for(0us)) timeouts.fetch_add(1);
            }
          }));
    }
    tx = {};
    btx = {};

    // Two consumers, one per channel; each decodes and checks every message.
    auto consume = [per_producer](smarm::Receiver<std::string> in, int parity) {
      std::vector<int> next(kProducers, parity);  // the next index expected per producer
      std::uint64_t n = 0;
      while (auto m = in.recv_for(30s)) {
        const auto colon = m->find(':');
        // from_chars, not stoi: stoi saves and restores errno, a per-thread variable that
        // TSan would see shared by the actors of one worker thread (LOOM.md, "TSan").
        int p = -1, i = -1;
        std::from_chars(m->data(), m->data() + colon, p);
        std::from_chars(m->data() + colon + 1, m->data() + m->size(), i);
        if (p < 0 || p >= kProducers || i < 0) {
          ADD_FAILURE() << "malformed message '" << *m << "'";
          continue;
        }
        EXPECT_EQ(i, next[static_cast<std::size_t>(p)]) << "producer " << p;  // FIFO per sender
        next[static_cast<std::size_t>(p)] = i + 2;
        ++n;
      }
      for (int p = 0; p < kProducers; ++p)
        EXPECT_GE(next[static_cast<std::size_t>(p)], per_producer) << "producer " << p;
      return n;
    };
    auto c_unbounded =
        smarm::spawn([&, rx = std::move(rx)]() mutable { return consume(std::move(rx), 0); });
    auto c_bounded =
        smarm::spawn([&, brx = std::move(brx)]() mutable { return consume(std::move(brx), 1); });

    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    auto n0 = c_unbounded.join();
    auto n1 = c_bounded.join();
    ASSERT_TRUE(is_ok(n0));
    ASSERT_TRUE(is_ok(n1));
    EXPECT_EQ(*n0 + *n1, static_cast<std::uint64_t>(kProducers) * per_producer);
    auto g = log.try_lock();
    ASSERT_TRUE(is_ok(g));
    EXPECT_EQ((*g)->size(), static_cast<std::size_t>(kProducers) * ((per_producer + 63) / 64));
    EXPECT_EQ(timeouts.load(), 0u);
    preemptions = smarm::stats().total().preemptions;
  });
  ASSERT_TRUE(is_ok(r));
  EXPECT_GT(preemptions, 0u);
  if (smarm::debug::allocator_hook_installed()) {
    EXPECT_GT(smarm::detail::preempt_refused_under_runtime_lock(), refused_before)
        << "the hook never looked while a runtime lock was held: the test proves nothing";
  }
}

}  // namespace
