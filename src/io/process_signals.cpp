// SPDX-License-Identifier: Apache-2.0
// process_signals.cpp — see process_signals.hpp.
//
// Process-wide state: for each signal number, the write end of the pipe of the
// ProcessSignals watching it (-1: none), read by the handler, and the disposition to
// restore. Guarded by a mutex for the watchers; the handler reads only an atomic.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>

#include <smarm/io.hpp>
#include <smarm/process_signals.hpp>

#include "core/sanitizer.hpp"
#include "io/errors.hpp"

namespace smarm::io {

namespace {

constexpr int kMaxSignal = 65;  // _NSIG on Linux

struct Slot {
  std::atomic<int> write_fd{-1};
  struct sigaction previous {};
};
std::array<Slot, kMaxSignal> g_slots;
std::mutex g_mu;
// Handlers running now. release() waits for it to reach zero after taking a descriptor
// away, so that no handler can still write to it once it is closed (seq_cst on both
// sides: a handler that enters later sees the descriptor gone).
std::atomic<int> g_handlers_running{0};

// Not instrumented: it saves and restores errno, which the actors of the thread it
// interrupts share (see last_errno()).
SMARM_NO_TSAN void on_signal(int sig) {
  const int saved = errno;
  g_handlers_running.fetch_add(1, std::memory_order_seq_cst);
  if (sig > 0 && sig < kMaxSignal) {
    const int fd = g_slots[static_cast<std::size_t>(sig)].write_fd.load(std::memory_order_seq_cst);
    if (fd >= 0) {
      const unsigned char byte = static_cast<unsigned char>(sig);
      [[maybe_unused]] ssize_t n = ::write(fd, &byte, 1);  // full pipe: dropped (see header)
    }
  }
  g_handlers_running.fetch_sub(1, std::memory_order_seq_cst);
  errno = saved;
}

bool watchable(int sig) noexcept {
  return sig > 0 && sig < kMaxSignal && sig != SIGKILL && sig != SIGSTOP && sig != SIGSEGV &&
         sig != SIGURG && sig <= 255;
}

}  // namespace

Result<ProcessSignals> signals(std::initializer_list<int> which) {
  if (which.size() == 0) return Error(Errc::InvalidArgument, "signals(): no signal given");
  for (int sig : which)
    if (!watchable(sig))
      return Error(Errc::InvalidArgument,
                   "signals(): signal " + std::to_string(sig) + " cannot be watched");
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0)
    return detail::io::from_errno("pipe2", detail::io::last_errno());
  std::lock_guard lock(g_mu);
  for (int sig : which)
    if (g_slots[static_cast<std::size_t>(sig)].write_fd.load() >= 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return Error(Errc::InvalidArgument, "signals(): signal " + std::to_string(sig) +
                                              " is already watched by another ProcessSignals");
    }
  ProcessSignals out;
  out.read_fd_ = fds[0];
  for (int sig : which) {
    Slot& slot = g_slots[static_cast<std::size_t>(sig)];
    slot.write_fd.store(fds[1], std::memory_order_release);
    struct sigaction action {};
    action.sa_handler = &on_signal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (::sigaction(sig, &action, &slot.previous) != 0) {
      const int err = detail::io::last_errno();
      slot.write_fd.store(-1);
      out.release();  // undoes the signals installed so far
      ::close(fds[1]);
      return detail::io::from_errno("sigaction", err);
    }
    out.signals_.push_back(sig);
  }
  return out;
}

ProcessSignals::ProcessSignals(ProcessSignals&& o) noexcept
    : signals_(std::move(o.signals_)), read_fd_(o.read_fd_) {
  o.signals_.clear();
  o.read_fd_ = -1;
}

ProcessSignals& ProcessSignals::operator=(ProcessSignals&& o) noexcept {
  if (this != &o) {
    release();
    signals_ = std::move(o.signals_);
    read_fd_ = o.read_fd_;
    o.signals_.clear();
    o.read_fd_ = -1;
  }
  return *this;
}

ProcessSignals::~ProcessSignals() { release(); }

void ProcessSignals::release() noexcept {
  if (read_fd_ < 0) return;
  int write_fd = -1;
  {
    std::lock_guard lock(g_mu);
    for (int sig : signals_) {
      Slot& slot = g_slots[static_cast<std::size_t>(sig)];
      ::sigaction(sig, &slot.previous, nullptr);
      write_fd = slot.write_fd.exchange(-1, std::memory_order_seq_cst);
    }
  }
  // A handler that loaded the descriptor before the exchange may still be writing to it;
  // closing now could make it write into whatever file reuses the number next.
  while (g_handlers_running.load(std::memory_order_seq_cst) != 0) {
  }
  if (write_fd >= 0) ::close(write_fd);
  ::close(read_fd_);
  read_fd_ = -1;
  signals_.clear();
}

Result<int> ProcessSignals::recv(Deadline deadline) noexcept {
  if (read_fd_ < 0) return Error(Errc::BadDescriptor, "ProcessSignals::recv(): not watching");
  unsigned char byte = 0;
  auto n = io::read(read_fd_, std::as_writable_bytes(std::span(&byte, 1)), deadline);
  if (!n) return n.error();
  return static_cast<int>(byte);
}

}  // namespace smarm::io
