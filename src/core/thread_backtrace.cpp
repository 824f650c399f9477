// SPDX-License-Identifier: Apache-2.0
// thread_backtrace.cpp — see thread_backtrace.hpp.
//
// One request at a time per process (a mutex held by the asking thread), described by
// g_probe. Its phase moves Idle -> Requested (the asker) -> Writing (the handler, by a
// compare-and-swap, only on the target thread) -> Done (the handler) -> Idle (the asker).
// An asker that gives up swaps Requested back to Idle; if the handler got there first
// (Writing), the asker waits for Done, which the handler reaches in microseconds. So the
// frame buffer is only ever written by a handler that owns the current request.
#include "core/thread_backtrace.hpp"

#include <cxxabi.h>
#include <execinfo.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

#include "core/sanitizer.hpp"

namespace smarm::detail {

namespace {

constexpr int kSignal = SIGURG;
constexpr int kMaxFrames = 64;
// The handler's own frame and the kernel's signal trampoline come first in its unwind.
constexpr int kHandlerFrames = 2;

#if defined(SMARM_TSAN)
constexpr bool kUnderTsan = true;
#else
constexpr bool kUnderTsan = false;
#endif

// NOLINTNEXTLINE(readability-identifier-naming): the values of an atomic<int>, named as constants
enum Phase : int { kIdle, kRequested, kWriting, kDone };

struct Probe {
  std::atomic<int> phase{kIdle};
  std::atomic<pid_t> target{0};
  std::atomic<int> count{0};
  void* frames[kMaxFrames];
};

Probe g_probe;
std::mutex g_request_mu;  // one request at a time
std::once_flag g_install_once;
std::atomic<bool> g_installed{false};

void on_backtrace_signal(int, siginfo_t*, void*) {
  const int saved_errno = errno;
  if (static_cast<pid_t>(syscall(SYS_gettid)) == g_probe.target.load(std::memory_order_acquire)) {
    int expected = kRequested;
    if (g_probe.phase.compare_exchange_strong(expected, kWriting, std::memory_order_acq_rel)) {
      g_probe.count.store(backtrace(g_probe.frames, kMaxFrames), std::memory_order_relaxed);
      g_probe.phase.store(kDone, std::memory_order_release);
    }
  }
  errno = saved_errno;
}

bool handler_is_ours() noexcept {
  struct sigaction current {};
  if (sigaction(kSignal, nullptr, &current) != 0) return false;
  return (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == &on_backtrace_signal;
}

void install() noexcept {
  if (kUnderTsan) return;  // no backtraces there (capture_thread_backtrace says why)
  struct sigaction previous {};
  if (sigaction(kSignal, nullptr, &previous) != 0) return;
  if (!(previous.sa_flags & SA_SIGINFO) && previous.sa_handler != SIG_DFL &&
      previous.sa_handler != SIG_IGN)
    return;  // the application handles SIGURG itself: leave it alone
  if ((previous.sa_flags & SA_SIGINFO) && previous.sa_sigaction != nullptr) return;
  void* warm[4];
  (void)backtrace(warm, 4);  // loads the unwinder now, outside any handler
  struct sigaction action {};
  action.sa_sigaction = &on_backtrace_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(kSignal, &action, nullptr) == 0) g_installed.store(true);
}

// symbolize turns one backtrace_symbols() line, "file(mangled+0x12) [0xaddr]", into
// "file(demangled+0x12) [0xaddr]".
std::string symbolize(const char* line) {
  std::string s = line;
  const auto open = s.find('(');
  const auto plus = s.find('+', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || plus == std::string::npos || plus == open + 1) return s;
  const std::string mangled = s.substr(open + 1, plus - open - 1);
  int status = -1;
  char* demangled = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
  if (status == 0 && demangled) s = s.substr(0, open + 1) + demangled + s.substr(plus);
  std::free(demangled);
  return s;
}

}  // namespace

void prepare_thread_backtraces() noexcept { std::call_once(g_install_once, install); }

ThreadBacktrace capture_thread_backtrace(pid_t tid, std::chrono::milliseconds timeout) {
  ThreadBacktrace out;
  if (kUnderTsan) {
    // ThreadSanitizer delivers asynchronous signals only when the thread next enters an
    // intercepted function, which a stalled loop never does.
    out.unavailable = "not taken under ThreadSanitizer";
    return out;
  }
  if (!g_installed.load() || !handler_is_ours()) {
    out.unavailable = "SIGURG is handled by the application";
    return out;
  }
  std::lock_guard lock(g_request_mu);
  g_probe.target.store(tid, std::memory_order_release);
  g_probe.phase.store(kRequested, std::memory_order_release);
  if (syscall(SYS_tgkill, getpid(), tid, kSignal) != 0) {
    char text[64];  // strerror_r: strerror is MT-Unsafe
    out.unavailable =
        std::string("could not signal the thread: ") + strerror_r(errno, text, sizeof text);
    int expected = kRequested;
    g_probe.phase.compare_exchange_strong(expected, kIdle);
  }
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (out.unavailable.empty()) {
    if (g_probe.phase.load(std::memory_order_acquire) == kDone) break;
    if (std::chrono::steady_clock::now() >= give_up) {
      int expected = kRequested;
      if (g_probe.phase.compare_exchange_strong(expected, kIdle, std::memory_order_acq_rel)) {
        out.unavailable = "the thread did not answer the signal in time";
        break;
      }
      // The handler is writing: it finishes in microseconds.
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (out.unavailable.empty()) {
    const int n = g_probe.count.load(std::memory_order_relaxed);
    if (char** symbols = backtrace_symbols(g_probe.frames, n)) {
      for (int i = n > kHandlerFrames ? kHandlerFrames : 0; i < n; ++i)
        out.frames.push_back(symbolize(symbols[i]));
      std::free(symbols);
    }
    if (out.frames.empty()) out.unavailable = "the unwinder found no frames";
    g_probe.phase.store(kIdle, std::memory_order_release);
  }
  g_probe.target.store(0, std::memory_order_release);
  return out;
}

}  // namespace smarm::detail
