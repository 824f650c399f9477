// SPDX-License-Identifier: Apache-2.0
// fork_test.cpp — fork() in a process running a runtime (src/core/fork.hpp): the child
// cannot run the parent's actors, every smarm call there says Forked, an actor body that
// returns ends the child with status 1 and one line; fork-then-exec and a child forked
// before any runtime keep working.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/runtime_fixture.hpp"

namespace {

using namespace std::chrono_literals;
using smarm::Errc;
using smarm::test::is_ok;

// Pipe is a pipe whose ends close with it; its read end does not block.
struct Pipe {
  int r = -1, w = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      r = fds[0];
      w = fds[1];
      ::fcntl(r, F_SETFL, O_NONBLOCK);
    }
  }
  ~Pipe() {
    if (r >= 0) ::close(r);
    if (w >= 0) ::close(w);
  }
  // drain reads what has been written (once every writer is gone, or what is there).
  std::string drain() const {
    std::string out;
    char buf[512];
    for (ssize_t n; (n = ::read(r, buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<std::size_t>(n));
    return out;
  }
};

void put(int fd, const std::string& s) {
  ssize_t ignored = ::write(fd, s.data(), s.size());
  (void)ignored;
}

std::string code_name(const smarm::Error& e) { return smarm::errc_name(e.code()); }

TEST(ForkTest, AChildCannotRunTheParentsActorsAndEveryCallSaysForked) {
  Pipe results, child_stderr, side_effects;
  ASSERT_GE(results.r, 0);
  const pid_t parent = ::getpid();
  std::atomic<bool> stop{false};
  pid_t child = -1;
  auto r = smarm::test::run_on(2, [&] {
    // Busy actors on both workers: in the child, any of them running again would write.
    std::vector<smarm::JoinHandle<void>> busy;
    for (int i = 0; i < 8; ++i)
      busy.push_back(smarm::spawn([&] {
        while (!stop.load()) {
          if (::getpid() != parent) put(side_effects.w, "ran in the child\n");
          (void)smarm::yield_now();
        }
      }));
    auto [tx, rx] = smarm::channel<int>();
    (void)smarm::sleep_for(5ms);
    child = ::fork();
    if (child == 0) {
      ::dup2(child_stderr.w, STDERR_FILENO);
      std::string out;
      out += "sleep=" + code_name(smarm::sleep_for(1ms).error()) + " ";
      out += "yield=" + code_name(smarm::yield_now().error()) + " ";
      out += "recv=" + code_name(rx.recv().error()) + " ";
      out += "spawn=" + code_name(smarm::spawn([] { return 1; }).join().error()) + " ";
      out += "run=" + code_name(smarm::run([] { return 1; }).error()) + " ";
      std::vector<int> garbage;
      for (int i = 0; i < 100000; ++i) garbage.push_back(i);  // the allocator hook is off
      out += "alloc=ok";
      put(results.w, out);
      return;  // the root's body returns: the child ends with status 1 and one line
    }
    // The parent goes on as if nothing happened.
    tx.send(1).value();
    EXPECT_EQ(rx.recv().value(), 1);
    stop = true;
    for (auto& h : busy) EXPECT_TRUE(is_ok(h.join()));
  });
  ASSERT_TRUE(is_ok(r));
  ASSERT_GT(child, 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died: status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_EQ(results.drain(),
            "sleep=Forked yield=Forked recv=Forked spawn=Forked run=Forked alloc=ok");
  const std::string line = child_stderr.drain();
  EXPECT_NE(line.find("forked from a process running a smarm runtime"), std::string::npos) << line;
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  EXPECT_EQ(side_effects.drain(), "");
}

TEST(ForkTest, ForkThenExecFromAnActorWorks) {
  auto r = smarm::test::run_on(2, [] {
    const pid_t child = ::fork();
    if (child == 0) {
      ::execl("/bin/sh", "sh", "-c", "exit 7", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    EXPECT_GT(child, 0);
    int status = 0;
    EXPECT_EQ(::waitpid(child, &status, 0), child);  // brief: the shell exits at once
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << status;
    // The parent's runtime is untouched.
    EXPECT_TRUE(is_ok(smarm::sleep_for(1ms)));
  });
  ASSERT_TRUE(is_ok(r));
}

TEST(ForkTest, AChildForkedWhileNoRuntimeRunsMayStartOne) {
  // A runtime ran and ended before the fork: the child is not marked.
  ASSERT_TRUE(is_ok(smarm::run([] { return 0; })));
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto v = smarm::runtime::init(smarm::Config::exact(2)).run([] {
      auto h = smarm::spawn([] { return 41; });
      return h.join().value() + 1;
    });
    ::_exit(v && *v == 42 ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
