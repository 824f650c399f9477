// SPDX-License-Identifier: Apache-2.0
// backend.hpp (private) — the one interface every I/O backend implements.
//
// Each worker owns one Backend (created with the runtime; a backend that cannot start
// makes run() return BackendUnavailable). An actor doing I/O calls the backend of the
// worker it runs on; the worker polls that backend without blocking while it is busy (at
// least once per timeslice, while anything waits on it) and blocks in it — with the next
// timer deadline as the timeout — when it is idle. A sleeping worker that waits in its
// backend is woken through Backend::wake() instead of its futex (Worker::wake).
//
// Operations take an absolute deadline in steady_clock nanoseconds (kNoDeadline: none);
// one at or before now means "do not wait". They return the errors of io.hpp.
//
// Files: epoll_backend.cpp (readiness: try the syscall, wait for readiness on EAGAIN),
// io_uring_backend.cpp (completion: submit the operation, park until its completion).
// CMake compiles exactly one, chosen by SMARM_IO_BACKEND.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include <smarm/error.hpp>

namespace smarm::detail {
class Worker;
}

namespace smarm::detail::io {

// Interest is what a readiness wait waits for.
// NOLINTNEXTLINE(readability-identifier-naming): bit flags, named as constants
enum Interest : std::uint32_t { kReadable = 1, kWritable = 2 };

class Backend {
 public:
  virtual ~Backend() = default;

  // create makes the backend compiled into this build for worker w, or says why it
  // cannot (BackendUnavailable, with the errno of the failed setup call).
  static Result<std::unique_ptr<Backend>> create(Worker& w);
  // name is "epoll" or "io_uring".
  static const char* compiled_name() noexcept;

  // --- called by the running actor, on the worker that owns this backend ------------
  virtual Result<void> wait(int fd, Interest interest, std::int64_t deadline_ns) = 0;
  // `owner` is the OwnedFd::id() of the object that owns fd (TcpStream, TcpListener), or
  // 0 for a descriptor the caller manages itself. An owned descriptor cannot be closed
  // behind smarm's back, so a readiness backend may keep it registered across operations;
  // a new owner id under the same number means "a new file: register afresh".
  virtual Result<std::size_t> read(int fd, std::span<std::byte> buf, std::int64_t deadline_ns,
                                   std::uint64_t owner) = 0;
  virtual Result<std::size_t> write(int fd, std::span<const std::byte> buf,
                                    std::int64_t deadline_ns, std::uint64_t owner) = 0;
  virtual Result<int> accept(int listen_fd, std::int64_t deadline_ns, std::uint64_t owner) = 0;
  virtual Result<void> connect(int fd, const sockaddr* addr, socklen_t len,
                               std::int64_t deadline_ns) = 0;

  // --- called by the owning worker's thread -----------------------------------------
  // start_on_this_thread runs once, on the worker's thread, before any actor runs there
  // (io_uring: the thread that enables the ring is the one allowed to submit).
  virtual void start_on_this_thread() noexcept {}
  // waiting() is how many operations wait on this backend now (stats().io_waits);
  // busy() says whether any do (the worker then polls it).
  virtual std::size_t waiting() const noexcept = 0;
  bool busy() const noexcept { return waiting() != 0; }
  // poll processes what is ready, waking the actors that waited for it: without
  // blocking when timeout_ns == 0, else for at most timeout_ns (kNoDeadline: until
  // something is ready or wake() is called).
  virtual void poll(std::int64_t timeout_ns) noexcept = 0;

  // --- called from any thread ----------------------------------------------------------
  // wake interrupts a blocking poll (or makes the next one return at once).
  virtual void wake() noexcept = 0;
  // poll_for_blocked_owner processes what is ready without blocking, from another thread
  // (the hand-off monitor), while the owning worker is blocked outside the runtime; the
  // actors it wakes go to the inject queue. false: this backend cannot be polled by
  // another thread (io_uring: a SINGLE_ISSUER ring accepts only its owner), and I/O
  // parked on it waits for its owner.
  virtual bool poll_for_blocked_owner() noexcept { return false; }
};

}  // namespace smarm::detail::io
