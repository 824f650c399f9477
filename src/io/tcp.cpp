// SPDX-License-Identifier: Apache-2.0
// tcp.cpp — TcpStream, TcpListener, OwnedFd (tcp.hpp).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <string>

#include <smarm/tcp.hpp>

#include "io/errors.hpp"
#include "io/owned_io.hpp"

namespace smarm::io {

namespace {

// SocketAddress is a parsed numeric address.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family = AF_INET;
};

Result<SocketAddress> parse(std::string_view ip, std::uint16_t port) {
  SocketAddress a;
  const std::string text(ip);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, text.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    a.len = sizeof(sockaddr_in);
    a.family = AF_INET;
    return a;
  }
  if (inet_pton(AF_INET6, text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    a.len = sizeof(sockaddr_in6);
    a.family = AF_INET6;
    return a;
  }
  return Error(Errc::InvalidArgument, "not a numeric IPv4 or IPv6 address: '" + text +
                                          "' (resolve names with getaddrinfo inside block_on_io)");
}

Result<OwnedFd> new_socket(int family) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return detail::io::from_errno("socket", detail::io::last_errno());
  return OwnedFd(fd);
}

Error closed(const char* op) {
  return Error(Errc::BadDescriptor, std::string(op) + ": the socket is not open");
}

}  // namespace

std::uint64_t OwnedFd::next_id() noexcept {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

void OwnedFd::reset(int fd) noexcept {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  id_ = fd >= 0 ? next_id() : 0;
}

Result<TcpStream> TcpStream::connect(std::string_view ip, std::uint16_t port, Deadline deadline) {
  auto addr = parse(ip, port);
  if (!addr) return addr.error();
  auto fd = new_socket(addr->family);
  if (!fd) return fd.error();
  if (auto r = io::connect(fd->get(), reinterpret_cast<const sockaddr*>(&addr->storage), addr->len,
                           deadline);
      !r)
    return r.error();
  return TcpStream(std::move(*fd));
}

Result<std::size_t> TcpStream::read(std::span<std::byte> buf, Deadline deadline) noexcept {
  if (!fd_) return closed("read");
  return detail::io::read(fd_.get(), fd_.id(), buf, deadline);
}

Result<void> TcpStream::read_exact(std::span<std::byte> buf, Deadline deadline,
                                   std::size_t* got) noexcept {
  std::size_t done = 0;
  Result<void> out;
  if (!fd_) out = closed("read_exact");
  while (out && done < buf.size()) {
    auto n = detail::io::read(fd_.get(), fd_.id(), buf.subspan(done), deadline);
    if (!n)
      out = n.error();
    else
      done += *n;
  }
  if (got) *got = done;
  return out;
}

Result<std::size_t> TcpStream::write(std::span<const std::byte> buf, Deadline deadline) noexcept {
  if (!fd_) return closed("write");
  return detail::io::write(fd_.get(), fd_.id(), buf, deadline);
}

Result<void> TcpStream::write_all(std::span<const std::byte> buf, Deadline deadline,
                                  std::size_t* written) noexcept {
  if (!fd_) {
    if (written) *written = 0;
    return closed("write_all");
  }
  return detail::io::write_all(fd_.get(), fd_.id(), buf, deadline, written);
}

Result<void> TcpStream::shutdown_write() noexcept {
  if (!fd_) return closed("shutdown_write");
  if (::shutdown(fd_.get(), SHUT_WR) < 0)
    return detail::io::from_errno("shutdown", detail::io::last_errno());
  return {};
}

Result<void> TcpStream::set_nodelay(bool on) noexcept {
  if (!fd_) return closed("set_nodelay");
  const int v = on ? 1 : 0;
  if (::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0)
    return detail::io::from_errno("setsockopt(TCP_NODELAY)", detail::io::last_errno());
  return {};
}

Result<TcpListener> TcpListener::bind(std::string_view ip, std::uint16_t port, int backlog) {
  auto addr = parse(ip, port);
  if (!addr) return addr.error();
  auto fd = new_socket(addr->family);
  if (!fd) return fd.error();
  const int one = 1;
  ::setsockopt(fd->get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd->get(), reinterpret_cast<const sockaddr*>(&addr->storage), addr->len) < 0)
    return detail::io::from_errno("bind", detail::io::last_errno());
  if (::listen(fd->get(), backlog) < 0)
    return detail::io::from_errno("listen", detail::io::last_errno());
  TcpListener l;
  l.fd_ = std::move(*fd);
  return l;
}

namespace {
// The accept backoff while descriptors are exhausted: Go's netpoll and net/http's Serve
// loop use the same steps.
constexpr std::chrono::milliseconds kFirstAcceptBackoff{5};
constexpr std::chrono::milliseconds kMaxAcceptBackoff{1000};
}  // namespace

Result<TcpStream> TcpListener::accept(Deadline deadline) noexcept {
  if (!fd_) return closed("accept");
  if (exhausted_backoff_ != Clock::duration::zero()) {
    // The last attempt found the file table full. Trying again at once would fail the
    // same way (the pending connection stays in the backlog): wait out the backoff step.
    if (deadline < retry_at_) {
      if (auto s = sleep_until(deadline); !s) return s.error();
      return Error(Errc::TimedOut,
                   "accept: timed out while backing off from exhausted descriptors");
    }
    if (auto s = sleep_until(retry_at_); !s) return s.error();
  }
  auto fd = detail::io::accept(fd_.get(), fd_.id(), deadline);
  if (!fd) {
    if (fd.error().code() == Errc::ResourceExhausted) {
      exhausted_backoff_ =
          exhausted_backoff_ == Clock::duration::zero()
              ? Clock::duration(kFirstAcceptBackoff)
              : std::min<Clock::duration>(2 * exhausted_backoff_, kMaxAcceptBackoff);
      retry_at_ = Clock::now() + exhausted_backoff_;
    }
    return fd.error();
  }
  exhausted_backoff_ = Clock::duration::zero();
  return TcpStream(OwnedFd(*fd));
}

std::uint16_t TcpListener::port() const noexcept {
  if (!fd_) return 0;
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&ss), &len) < 0) return 0;
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
  return 0;
}

}  // namespace smarm::io
