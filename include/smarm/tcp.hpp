// SPDX-License-Identifier: Apache-2.0
// tcp.hpp — TCP sockets that own their descriptor (RAII), on top of io.hpp.
//
//   auto listener = smarm::io::TcpListener::bind("127.0.0.1", 0);   // port 0: any
//   auto conn = listener->accept(deadline);                         // Result<TcpStream>
//   auto n = conn->read(buf, deadline);
//
// Addresses are numeric IPv4 or IPv6 literals ("127.0.0.1", "::1"); resolve names with
// getaddrinfo inside block_on_io(). Every call that may wait takes a deadline (default:
// none). A moved-from or closed stream reports BadDescriptor. Destroying a stream closes
// it; close it only once no other actor waits on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>

#include <smarm/error.hpp>
#include <smarm/io.hpp>
#include <smarm/timer.hpp>

namespace smarm::io {

// OwnedFd closes its descriptor when destroyed. Move-only.
//
// Each descriptor it takes gets a process-unique id(): the epoll backend keeps a
// descriptor it knows to be owned registered between operations, and a different id
// under the same number tells it the number now names another file (LOOM.md, "I/O").
class OwnedFd {
 public:
  OwnedFd() = default;
  explicit OwnedFd(int fd) noexcept : fd_(fd), id_(fd >= 0 ? next_id() : 0) {}
  OwnedFd(OwnedFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)), id_(std::exchange(o.id_, 0)) {}
  OwnedFd& operator=(OwnedFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
      id_ = std::exchange(o.id_, 0);
    }
    return *this;
  }
  ~OwnedFd() { reset(); }
  int get() const noexcept { return fd_; }
  // id is this ownership's number (0 when empty).
  std::uint64_t id() const noexcept { return id_; }
  // release gives the descriptor up without closing it; the caller now owns it.
  int release() noexcept {
    id_ = 0;
    return std::exchange(fd_, -1);
  }
  // reset closes the current descriptor (if any) and takes fd.
  void reset(int fd = -1) noexcept;
  explicit operator bool() const noexcept { return fd_ >= 0; }

 private:
  static std::uint64_t next_id() noexcept;

  int fd_ = -1;
  std::uint64_t id_ = 0;
};

class TcpStream {
 public:
  TcpStream() = default;
  explicit TcpStream(OwnedFd fd) noexcept : fd_(std::move(fd)) {}

  // connect opens a connection to ip:port.
  static Result<TcpStream> connect(std::string_view ip, std::uint16_t port,
                                   Deadline deadline = Deadline::max());

  Result<std::size_t> read(std::span<std::byte> buf, Deadline deadline = Deadline::max()) noexcept;
  // read_exact fills buf or fails (Eof if the stream ends first; `got` receives how much
  // arrived, which is never lost).
  Result<void> read_exact(std::span<std::byte> buf, Deadline deadline = Deadline::max(),
                          std::size_t* got = nullptr) noexcept;
  Result<std::size_t> write(std::span<const std::byte> buf,
                            Deadline deadline = Deadline::max()) noexcept;
  Result<void> write_all(std::span<const std::byte> buf, Deadline deadline = Deadline::max(),
                         std::size_t* written = nullptr) noexcept;
  // shutdown_write half-closes: the peer reads Eof, and can still send to us.
  Result<void> shutdown_write() noexcept;
  // set_nodelay turns Nagle's algorithm off (on: true).
  Result<void> set_nodelay(bool on = true) noexcept;
  void close() noexcept { fd_.reset(); }

  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

 private:
  OwnedFd fd_;
};

class TcpListener {
 public:
  TcpListener() = default;
  // bind listens on ip:port (port 0: the kernel picks one; see port()). SO_REUSEADDR is
  // set; backlog is listen(2)'s.
  static Result<TcpListener> bind(std::string_view ip, std::uint16_t port, int backlog = 1024);

  // accept takes the next connection. Out of descriptors (EMFILE/ENFILE: the process or
  // system file table is full) it returns ResourceExhausted at once, naming which, and
  // the listener backs off: its next accept first waits 5 ms, doubling after each such
  // failure up to 1 s, and a success resets it (Go's and net/http's accept loops do the
  // same). So a loop that logs the error and calls accept again does not spin while the
  // table is full, and takes the waiting connection within one backoff step of a
  // descriptor being freed. An accept whose deadline falls inside the backoff waits until
  // the deadline and returns TimedOut without trying.
  Result<TcpStream> accept(Deadline deadline = Deadline::max()) noexcept;
  // port is the port the listener is bound to (0 if it is not open).
  std::uint16_t port() const noexcept;
  void close() noexcept { fd_.reset(); }
  int fd() const noexcept { return fd_.get(); }
  explicit operator bool() const noexcept { return static_cast<bool>(fd_); }

 private:
  OwnedFd fd_;
  // While descriptors are exhausted: the current backoff step (0 when healthy), and the
  // time before which accept does not try again.
  Clock::duration exhausted_backoff_{0};
  Deadline retry_at_{};
};

}  // namespace smarm::io
