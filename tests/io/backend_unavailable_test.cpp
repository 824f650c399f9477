// SPDX-License-Identifier: Apache-2.0
// smarm-test: io_uring  (markers: tests/CMakeLists.txt)
// backend_unavailable_test.cpp — a backend that cannot start makes run() say so.
//
// A forked child forbids the backend's setup call with a seccomp filter (EPERM, as a
// sandbox or io_uring_disabled would) and runs a runtime: run() must return
// BackendUnavailable naming the call and errno, without running anything. The child
// reports through its exit status (and prints the message for the log).
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <string>

#include <gtest/gtest.h>

#include <smarm/smarm.hpp>

#include "support/sanitizers.hpp"

namespace {

// forbid installs a filter that fails system call `nr` with EPERM (everything else runs).
bool forbid(long nr) {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<unsigned>(nr), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

TEST(BackendUnavailableTest, RunReturnsBackendUnavailableWithTheErrno) {
  if (SMARM_TEST_TSAN) GTEST_SKIP() << "ThreadSanitizer does not support threads after fork()";
  const std::string backend = smarm::io::backend_name();
  const long setup_call = backend == "io_uring" ? SYS_io_uring_setup : SYS_epoll_create1;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (!forbid(setup_call)) _exit(10);
    bool ran = false;
    auto r = smarm::runtime::init(smarm::Config::exact(1)).run([&] { ran = true; });
    if (r || ran) _exit(11);
    std::fprintf(stderr, "run(): %s\n", r.error().message().c_str());
    if (r.error().code() != smarm::Errc::BackendUnavailable) _exit(12);
    if (r.error().message().find("(errno 1)") == std::string::npos) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_NE(WEXITSTATUS(status), 10) << "seccomp is not available here";
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "11: run() succeeded or ran its function, 12: not BackendUnavailable, 13: no errno";
}

}  // namespace
