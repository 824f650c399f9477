// SPDX-License-Identifier: Apache-2.0
// thread_backtrace.hpp — the stack of another thread of this process, taken by a signal.
//
// The stall detector's watchdog wants to show where a stalled worker is stuck. A thread
// cannot unwind another thread's stack, so the watchdog sends the worker a signal whose
// handler unwinds its own (interrupted) stack into a shared buffer, and waits a bounded
// time for the answer. The signal is SIGURG: ignored by default (a stray one harms
// nothing) and rarely used by applications. Our handler is installed only if SIGURG still
// has its default disposition, and a signal is sent only while the handler is still ours,
// so an application's own SIGURG handler is never called by smarm.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace smarm::detail {

struct ThreadBacktrace {
  std::vector<std::string> frames;  // innermost first, demangled where possible
  std::string unavailable;          // why there are no frames (empty when there are)
};

// prepare_thread_backtraces installs the handler (once per process) and warms up the
// unwinder, whose first use may load a library: that must not happen inside the handler.
void prepare_thread_backtraces() noexcept;

// capture_thread_backtrace asks thread `tid` for its backtrace and waits at most
// `timeout` for it. Safe against a late answer: a handler that runs after the wait gave
// up writes nothing. Callers must not be the thread `tid` itself.
ThreadBacktrace capture_thread_backtrace(pid_t tid, std::chrono::milliseconds timeout);

}  // namespace smarm::detail
