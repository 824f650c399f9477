// SPDX-License-Identifier: Apache-2.0
// fork.cpp — see fork.hpp.
#include "core/fork.hpp"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>

#include <smarm/detail/core.hpp>

#include "core/preempt.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

namespace {

std::atomic<int> g_live_runtimes{0};
std::atomic<bool> g_forked_child{false};

// The child side of pthread_atfork: async-signal-safe work only, and no lock (a lock
// held by a thread that did not survive the fork would never be released).
void on_fork_child() noexcept {
  if (g_live_runtimes.load(std::memory_order_relaxed) == 0) return;
  g_forked_child.store(true, std::memory_order_relaxed);
  unconfigure_preempt();        // the allocator hook never switches here
  set_current_worker(nullptr);  // this thread is no worker: every call sees no actor
}

}  // namespace

void runtime_born() noexcept {
  // A function-local static: registered once per process, by the first runtime.
  static const bool kRegistered = ::pthread_atfork(nullptr, nullptr, on_fork_child) == 0;
  (void)kRegistered;
  g_live_runtimes.fetch_add(1, std::memory_order_relaxed);
}

void runtime_gone() noexcept { g_live_runtimes.fetch_sub(1, std::memory_order_relaxed); }

bool in_forked_child() noexcept { return g_forked_child.load(std::memory_order_relaxed); }

void end_forked_actor() noexcept {
  static constexpr char kLine[] =
      "smarm: an actor returned in a child forked from a process running a smarm runtime; "
      "that runtime does not exist in the child (fork, then exec). Exiting with status 1.\n";
  ssize_t ignored = ::write(STDERR_FILENO, kLine, sizeof kLine - 1);
  (void)ignored;
  ::_exit(1);
}

Error not_in_actor(const std::string& what) {
  if (in_forked_child())
    return Error(Errc::Forked, what +
                                   ": this process is a child forked from one running a "
                                   "smarm runtime, which cannot be used here (fork, then exec)");
  return Error(Errc::NotInActor, what);
}

Errc not_in_actor_code() noexcept { return in_forked_child() ? Errc::Forked : Errc::NotInActor; }

}  // namespace smarm::detail
