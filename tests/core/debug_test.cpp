// SPDX-License-Identifier: Apache-2.0
// debug_test.cpp — debug::dump_actors(): every live actor, its name, state and wait reason.
#include <algorithm>
#include <cctype>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using smarm::test::is_ok;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// line_with returns the first line of text containing needle, or "".
std::string line_with(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) return line;
  return "";
}

TEST(DebugTest, OutsideARuntimeDumpIsEmpty) { EXPECT_EQ(smarm::debug::dump_actors(), ""); }

TEST(DebugTest, ParkedActorIsListedWithNameAndRecv) {
  auto r = smarm::test::run_on(1, [] {
    auto [tx, rx] = smarm::channel<int>();
    auto h = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "sleepy-receiver"},
                          [rx = std::move(rx)]() mutable { (void)rx.recv(); });
    std::string dump = smarm::debug::dump_actors();
    std::string pid = smarm::to_string(h.pid());
    (void)tx.send(1);
    EXPECT_TRUE(is_ok(h.join()));
    return std::make_pair(dump, pid);
  });
  ASSERT_TRUE(is_ok(r));
  const auto& [dump, pid] = *r;
  const std::string line = line_with(dump, "sleepy-receiver");
  ASSERT_NE(line, "") << "the named actor is missing from:\n" << dump;
  EXPECT_NE(line.find(pid), std::string::npos) << line;
  EXPECT_NE(lower(line).find("parked"), std::string::npos) << line;
  EXPECT_NE(lower(line).find("recv"), std::string::npos) << line;
}

TEST(DebugTest, EveryLiveActorIsListed) {
  auto r = smarm::test::run_on(2, [] {
    std::vector<smarm::Sender<int>> gates;
    std::vector<smarm::JoinHandle<void>> hs;
    for (int i = 0; i < 5; ++i) {
      auto [tx, rx] = smarm::channel<int>();
      gates.push_back(std::move(tx));
      hs.push_back(
          smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "worker-" + std::to_string(i)},
                       [rx = std::move(rx)]() mutable { (void)rx.recv(); }));
    }
    // One actor parked in join, on a named child.
    auto [jtx, jrx] = smarm::channel<int>();
    auto joiner = smarm::spawn(
        smarm::SpawnOptions{.stack_size = 0, .name = "the-joiner"},
        [jrx = std::move(jrx)]() mutable {
          auto c = smarm::spawn([jrx = std::move(jrx)]() mutable { (void)jrx.recv(); });
          (void)c.join();
        });
    std::string dump = smarm::debug::dump_actors();
    std::string root_pid = smarm::to_string(smarm::self());
    gates.clear();
    (void)jtx.send(1);
    for (auto& h : hs) EXPECT_TRUE(is_ok(h.join()));
    EXPECT_TRUE(is_ok(joiner.join()));
    return std::make_pair(dump, root_pid);
  });
  ASSERT_TRUE(is_ok(r));
  const auto& [dump, root_pid] = *r;
  for (int i = 0; i < 5; ++i) EXPECT_NE(line_with(dump, "worker-" + std::to_string(i)), "") << dump;
  const std::string joiner = line_with(dump, "the-joiner");
  ASSERT_NE(joiner, "") << dump;
  EXPECT_NE(lower(joiner).find("join"), std::string::npos) << joiner;
  const std::string root = line_with(dump, root_pid);
  ASSERT_NE(root, "") << "the running root is missing from:\n" << dump;
  EXPECT_NE(lower(root).find("running"), std::string::npos) << root;
}

TEST(DebugTest, WaitKindsHaveNames) {
  using smarm::detail::WaitKind;
  for (WaitKind k :
       {WaitKind::None, WaitKind::Recv, WaitKind::Send, WaitKind::Join, WaitKind::Sleep,
        WaitKind::Lock, WaitKind::Io, WaitKind::Select, WaitKind::Other}) {
    const char* name = smarm::detail::wait_kind_name(k);
    ASSERT_NE(name, nullptr);
    EXPECT_STRNE(name, "");
  }
  EXPECT_NE(lower(smarm::detail::wait_kind_name(WaitKind::Recv)).find("recv"), std::string::npos);
}

}  // namespace

namespace {

TEST(DebugTest, ATimedWaitShowsItsDeadline) {
  auto r = smarm::test::run_on(1, [] {
    auto h = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "napper"},
                          [] { return smarm::sleep_for(std::chrono::hours(1)); });
    auto [tx, rx] = smarm::channel<int>();
    auto h2 = smarm::spawn(smarm::SpawnOptions{.stack_size = 0, .name = "patient"},
                           [rx = std::move(rx)]() mutable { return rx.recv().has_value(); });
    std::string dump = smarm::debug::dump_actors();
    (void)h.cancel();
    (void)h.join();
    (void)tx.send(1);
    (void)h2.join();
    return dump;
  });
  ASSERT_TRUE(smarm::test::is_ok(r));
  const std::string napper = line_with(*r, "napper");
  EXPECT_NE(napper.find("sleep"), std::string::npos) << *r;
  EXPECT_NE(napper.find("until now+"), std::string::npos) << *r;
  const std::string patient = line_with(*r, "patient");
  EXPECT_NE(patient.find("recv"), std::string::npos) << *r;
  EXPECT_EQ(patient.find("until"), std::string::npos) << *r;  // an untimed wait has none
}

}  // namespace
