// io.cpp — the public I/O calls (io.hpp): find the calling worker's backend and delegate.
#include <smarm/io.hpp>

#include "core/timer_heap.hpp"
#include "core/worker.hpp"
#include "io/backend.hpp"

namespace smarm::io {

namespace {

// backend_here is the backend of the worker the caller runs on, or null outside actors.
detail::io::Backend* backend_here() noexcept {
  detail::Worker* w = detail::current_worker();
  return w && detail::current_actor() ? w->io.get() : nullptr;
}

Error not_in_actor(const char* op) {
  return Error(Errc::NotInActor, std::string(op) + "() called outside an actor");
}

}  // namespace

const char* backend_name() noexcept { return detail::io::Backend::compiled_name(); }

Result<void> wait_readable(int fd, Deadline deadline) noexcept {
  auto* b = backend_here();
  if (!b) return not_in_actor("wait_readable");
  return b->wait(fd, detail::io::kReadable, detail::to_ns(deadline));
}

Result<void> wait_writable(int fd, Deadline deadline) noexcept {
  auto* b = backend_here();
  if (!b) return not_in_actor("wait_writable");
  return b->wait(fd, detail::io::kWritable, detail::to_ns(deadline));
}

Result<std::size_t> read(int fd, std::span<std::byte> buf, Deadline deadline) noexcept {
  auto* b = backend_here();
  if (!b) return not_in_actor("read");
  return b->read(fd, buf, detail::to_ns(deadline));
}

Result<std::size_t> write(int fd, std::span<const std::byte> buf, Deadline deadline) noexcept {
  auto* b = backend_here();
  if (!b) return not_in_actor("write");
  return b->write(fd, buf, detail::to_ns(deadline));
}

Result<void> write_all(int fd, std::span<const std::byte> buf, Deadline deadline,
                       std::size_t* written) noexcept {
  std::size_t done = 0;
  Result<void> out;
  while (done < buf.size()) {
    // The worker may change between writes: look the backend up each time.
    auto n = write(fd, buf.subspan(done), deadline);
    if (!n) {
      out = n.error();
      break;
    }
    done += *n;
  }
  if (written) *written = done;
  return out;
}

Result<int> accept(int listen_fd, Deadline deadline) noexcept {
  auto* b = backend_here();
  if (!b) return not_in_actor("accept");
  return b->accept(listen_fd, detail::to_ns(deadline));
}

Result<void> connect(int fd, const sockaddr* addr, socklen_t len, Deadline deadline) noexcept {
  auto* b = backend_here();
  if (!b) return not_in_actor("connect");
  if (!addr) return Error(Errc::InvalidArgument, "connect(): null address");
  return b->connect(fd, addr, len, detail::to_ns(deadline));
}

}  // namespace smarm::io
