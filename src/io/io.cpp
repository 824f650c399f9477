// SPDX-License-Identifier: Apache-2.0
// io.cpp — the public I/O calls (io.hpp) and their owned-descriptor forms (owned_io.hpp):
// find the calling worker's backend and delegate.
//
// Every read, write and accept first runs the preemption check. A connection whose data
// is always there (a fast peer, a deep buffer) never makes its actor wait, so without it
// an I/O loop would hold its worker — and starve every other connection on it — until
// the stall detector complained. With it, such a loop yields once its timeslice is used,
// exactly like a loop that allocates.
#include <smarm/io.hpp>
#include <smarm/preempt.hpp>

#include "core/timer_wheel.hpp"
#include "core/worker.hpp"
#include "io/backend.hpp"
#include "io/owned_io.hpp"

namespace smarm::detail::io {
namespace {

// backend_here is the backend of the worker the caller runs on, or null outside actors.
Backend* backend_here() noexcept {
  Worker* w = current_worker();
  return w && current_actor() ? w->io.get() : nullptr;
}

Error not_in_actor(const char* op) {
  return smarm::detail::not_in_actor(std::string(op) + "() called outside an actor");
}

}  // namespace

Result<std::size_t> read(int fd, std::uint64_t owner, std::span<std::byte> buf,
                         Deadline deadline) noexcept {
  preempt_check();
  auto* b = backend_here();
  if (!b) return not_in_actor("read");
  return b->read(fd, buf, to_ns(deadline), owner);
}

Result<std::size_t> write(int fd, std::uint64_t owner, std::span<const std::byte> buf,
                          Deadline deadline) noexcept {
  preempt_check();
  auto* b = backend_here();
  if (!b) return not_in_actor("write");
  return b->write(fd, buf, to_ns(deadline), owner);
}

Result<void> write_all(int fd, std::uint64_t owner, std::span<const std::byte> buf,
                       Deadline deadline, std::size_t* written) noexcept {
  std::size_t done = 0;
  Result<void> out;
  while (done < buf.size()) {
    // The worker may change between writes: write() looks the backend up each time.
    auto n = write(fd, owner, buf.subspan(done), deadline);
    if (!n) {
      out = n.error();
      break;
    }
    done += *n;
  }
  if (written) *written = done;
  return out;
}

Result<int> accept(int listen_fd, std::uint64_t owner, Deadline deadline) noexcept {
  preempt_check();
  auto* b = backend_here();
  if (!b) return not_in_actor("accept");
  return b->accept(listen_fd, to_ns(deadline), owner);
}

Result<void> wait(int fd, Interest interest, Deadline deadline, const char* op) noexcept {
  auto* b = backend_here();
  if (!b) return not_in_actor(op);
  return b->wait(fd, interest, to_ns(deadline));
}

Result<void> connect(int fd, const sockaddr* addr, socklen_t len, Deadline deadline) noexcept {
  auto* b = backend_here();
  if (!b) return not_in_actor("connect");
  if (!addr) return Error(Errc::InvalidArgument, "connect(): null address");
  return b->connect(fd, addr, len, to_ns(deadline));
}

}  // namespace smarm::detail::io

namespace smarm::io {

const char* backend_name() noexcept { return detail::io::Backend::compiled_name(); }

Result<void> wait_readable(int fd, Deadline deadline) noexcept {
  return detail::io::wait(fd, detail::io::kReadable, deadline, "wait_readable");
}

Result<void> wait_writable(int fd, Deadline deadline) noexcept {
  return detail::io::wait(fd, detail::io::kWritable, deadline, "wait_writable");
}

// Descriptors the caller manages: owner 0.
Result<std::size_t> read(int fd, std::span<std::byte> buf, Deadline deadline) noexcept {
  return detail::io::read(fd, 0, buf, deadline);
}

Result<std::size_t> write(int fd, std::span<const std::byte> buf, Deadline deadline) noexcept {
  return detail::io::write(fd, 0, buf, deadline);
}

Result<void> write_all(int fd, std::span<const std::byte> buf, Deadline deadline,
                       std::size_t* written) noexcept {
  return detail::io::write_all(fd, 0, buf, deadline, written);
}

Result<int> accept(int listen_fd, Deadline deadline) noexcept {
  return detail::io::accept(listen_fd, 0, deadline);
}

Result<void> connect(int fd, const sockaddr* addr, socklen_t len, Deadline deadline) noexcept {
  return detail::io::connect(fd, addr, len, deadline);
}

}  // namespace smarm::io
