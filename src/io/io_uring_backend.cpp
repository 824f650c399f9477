// SPDX-License-Identifier: Apache-2.0
// io_uring_backend.cpp — the completion backend: every operation is submitted to the
// kernel as itself (recv, send, accept, connect, poll) and the actor parks until its
// completion arrives (backend.hpp).
//
// One ring per worker, opened with SINGLE_ISSUER | DEFER_TASKRUN where the kernel has
// them (then COOP_TASKRUN, then no flags): only the owning worker's thread submits and
// reaps, and completions are processed when it asks — in its idle wait or its periodic
// poll — never by interrupting it. Submission is lazy: an operation is queued as an SQE
// and the worker submits every queued SQE at once when it next polls (its idle path
// submits and waits in one io_uring_enter), so a worker serving many connections makes
// one system call for many operations.
//
// Deadlines are the kernel's: an operation with a deadline is linked to a LINK_TIMEOUT
// (absolute, CLOCK_MONOTONIC — steady_clock's clock), which cancels it when it passes;
// no timer of ours is involved. A cancelled actor cannot leave its operation behind (the
// kernel may still write into its buffer): it asks the owning worker to cancel it — at
// once if it runs there, else through the owner's request list and a wake-up — and stays
// parked until the operation's completion arrives. Bytes that did arrive come back.
//
// wake() writes an eventfd that has a read permanently queued on the ring, so a worker
// waiting in the ring returns.
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include <liburing.h>

#include <smarm/detail/spinlock.hpp>

#include "core/actor.hpp"
#include "core/timer_wheel.hpp"
#include "core/worker.hpp"
#include "io/backend.hpp"
#include "io/errors.hpp"

namespace smarm::detail::io {

namespace {

constexpr unsigned kRingEntries = 256;
// user_data values that are not operations.
constexpr std::uint64_t kWakeTag = 1;
constexpr std::uint64_t kIgnoreTag = 2;  // link timeouts and cancel requests

Result<void> check_caller(const char* op) noexcept {
  Actor* self = current_actor();
  if (!self) return smarm::detail::not_in_actor(std::string(op) + "() called outside an actor");
  if (is_cancelled(self)) return Error(Errc::Cancelled, std::string(op) + "(): cancelled");
  return {};
}

// poll_once: readiness of fd now, without waiting (a deadline that has passed).
Result<void> poll_once(int fd, short events, const char* op) noexcept {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, 0);
    if (n < 0 && last_errno() == EINTR) continue;
    if (n < 0) return from_errno(op, last_errno());
    if (p.revents & POLLNVAL)
      return Error(Errc::BadDescriptor, std::string(op) + ": not an open descriptor");
    if (n == 0) return Error(Errc::TimedOut, std::string(op) + ": the deadline has passed");
    return {};
  }
}

class UringBackend final : public Backend {
 public:
  UringBackend() = default;
  ~UringBackend() override {
    if (ring_open_) io_uring_queue_exit(&ring_);
    if (evfd_ >= 0) ::close(evfd_);
  }

  Result<void> open(unsigned& flags_used);

  Result<void> wait(int fd, Interest interest, std::int64_t deadline) override;
  // Completions need no registration, so the owner of a descriptor does not matter here.
  Result<std::size_t> read(int fd, std::span<std::byte> buf, std::int64_t deadline,
                           std::uint64_t owner) override;
  Result<std::size_t> write(int fd, std::span<const std::byte> buf, std::int64_t deadline,
                            std::uint64_t owner) override;
  Result<int> accept(int listen_fd, std::int64_t deadline, std::uint64_t owner) override;
  Result<void> connect(int fd, const sockaddr* addr, socklen_t len, std::int64_t deadline) override;

  std::size_t waiting() const noexcept override {
    return in_flight_.load(std::memory_order_relaxed);
  }
  void poll(std::int64_t timeout_ns) noexcept override;
  void wake() noexcept override {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(evfd_, &one, sizeof one);
  }
  void start_on_this_thread() noexcept override;

 private:
  // Op is one submitted operation, on the stack of the actor that waits for it.
  struct Op {
    WaiterId waiter;
    UringBackend* owner;
    std::atomic<bool> done{false};
    int res = 0;  // the completion's result (written before done)
  };

  // submit_op queues the SQE that prep fills (and a linked timeout for the deadline),
  // parks until the completion, and returns its result (-errno on failure). Handles
  // cancellation of the caller (the operation is cancelled in the kernel first).
  template <class Prep>
  int submit_op(Prep prep, std::int64_t deadline, const void* wait_object);
  io_uring_sqe* get_sqe() noexcept;  // owner thread; submits to make room if the SQ is full
  void arm_wake_read() noexcept;
  void request_cancel(Op* op) noexcept;  // any thread

  io_uring ring_{};
  bool ring_open_ = false;
  int evfd_ = -1;
  std::uint64_t evfd_value_ = 0;  // the wake read's buffer
  std::atomic<std::size_t> in_flight_{0};
  SpinLock cancel_lock_;
  std::vector<Op*> cancel_requests_;  // under cancel_lock_
  std::atomic<bool> has_cancel_requests_{false};
  Worker* owner_worker_ = nullptr;

 public:
  void set_owner(Worker* w) noexcept { owner_worker_ = w; }
};

Result<void> UringBackend::open(unsigned& flags_used) {
  evfd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (evfd_ < 0) return unavailable("eventfd", last_errno());
  // The most capable flags the kernel accepts.
  const unsigned candidates[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
      IORING_SETUP_COOP_TASKRUN,
      0,
  };
  int rc = -EINVAL;
  for (unsigned flags : candidates) {
    io_uring_params params{};
    // Disabled until the worker's own thread enables it (start_on_this_thread): the
    // thread that enables a SINGLE_ISSUER ring is the only one that may submit to it.
    params.flags = flags | IORING_SETUP_R_DISABLED;
    rc = io_uring_queue_init_params(kRingEntries, &ring_, &params);
    if (rc == 0) {
      flags_used = flags;
      break;
    }
    if (rc != -EINVAL) break;  // EPERM (disabled), ENOSYS, ENOMEM: no point trying less
  }
  if (rc != 0) return unavailable("io_uring_queue_init", -rc);
  ring_open_ = true;
  return {};
}

void UringBackend::start_on_this_thread() noexcept {
  // Debian's liburing 2.3 declares io_uring_enable_rings() but does not export it: the
  // system call is all it does.
  if (const long rc = ::syscall(__NR_io_uring_register, ring_.ring_fd, IORING_REGISTER_ENABLE_RINGS,
                                nullptr, 0);
      rc < 0) {
    // Creating the ring worked, so this cannot fail short of a kernel bug; there is no
    // caller to report it to (the worker is starting), and running without I/O would hang.
    char text[64];  // strerror_r: strerror is MT-Unsafe
    std::fprintf(stderr, "smarm: IORING_REGISTER_ENABLE_RINGS: %s\n",
                 strerror_r(last_errno(), text, sizeof text));
    std::abort();
  }
  arm_wake_read();
  io_uring_submit(&ring_);
}

io_uring_sqe* UringBackend::get_sqe() noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  while (!sqe) {
    io_uring_submit(&ring_);  // make room
    sqe = io_uring_get_sqe(&ring_);
  }
  return sqe;
}

void UringBackend::arm_wake_read() noexcept {
  io_uring_sqe* sqe = get_sqe();
  io_uring_prep_read(sqe, evfd_, &evfd_value_, sizeof evfd_value_, 0);
  io_uring_sqe_set_data64(sqe, kWakeTag);
}

void UringBackend::request_cancel(Op* op) noexcept {
  {
    std::lock_guard lock(cancel_lock_);
    cancel_requests_.push_back(op);
  }
  has_cancel_requests_.store(true, std::memory_order_release);
  wake();
}

template <class Prep>
int UringBackend::submit_op(Prep prep, std::int64_t deadline, const void* wait_object) {
  // The ring of the worker the caller runs on *now*, which is not always this one: an
  // operation that already parked once (a send that said ENOTSOCK, an EAGAIN that waited)
  // may have resumed on another worker, and a ring is only ever touched by its own
  // thread (its SQ is not thread-safe, and SINGLE_ISSUER forbids it anyway). Submitting
  // to this ring from there raced with its owner and could lose the SQE and its linked
  // timeout: the caller then waited forever.
  if (Worker* w = current_worker(); w != owner_worker_)
    return static_cast<UringBackend&>(*w->io).submit_op(std::move(prep), deadline, wait_object);
  Op op;
  op.waiter = current_waiter();
  op.owner = this;
  io_uring_sqe* sqe = get_sqe();
  prep(sqe);
  io_uring_sqe_set_data(sqe, &op);
  __kernel_timespec ts{};
  if (deadline != kNoDeadline) {
    sqe->flags |= IOSQE_IO_LINK;
    ts.tv_sec = deadline / 1'000'000'000;
    ts.tv_nsec = deadline % 1'000'000'000;
    io_uring_sqe* t = get_sqe();
    io_uring_prep_link_timeout(t, &ts, IORING_TIMEOUT_ABS);
    io_uring_sqe_set_data64(t, kIgnoreTag);
    // The timespec must outlive the submission, which happens at the worker's next
    // poll: it lives in this frame, which stays until the completion.
  }
  in_flight_.fetch_add(1, std::memory_order_relaxed);
  Actor* self = current_actor();
  bool cancel_sent = false;
  for (;;) {
    park(WaitKind::Io, wait_object, deadline);
    if (op.done.load(std::memory_order_acquire)) break;
    if (!cancel_sent && is_cancelled(self)) {
      cancel_sent = true;
      if (current_worker() == owner_worker_) {
        io_uring_sqe* c = get_sqe();
        io_uring_prep_cancel(c, &op, 0);
        io_uring_sqe_set_data64(c, kIgnoreTag);
        io_uring_submit(&ring_);
      } else {
        request_cancel(&op);
      }
    }
  }
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  if (op.res == -ECANCELED && cancel_sent) return -ECANCELED;
  return op.res;
}

void UringBackend::poll(std::int64_t timeout_ns) noexcept {
  if (has_cancel_requests_.exchange(false, std::memory_order_acq_rel)) {
    std::vector<Op*> requests;
    {
      std::lock_guard lock(cancel_lock_);
      requests.swap(cancel_requests_);
    }
    for (Op* op : requests) {
      io_uring_sqe* c = get_sqe();
      io_uring_prep_cancel(c, op, 0);
      io_uring_sqe_set_data64(c, kIgnoreTag);
    }
  }
  if (timeout_ns == 0) {
    io_uring_submit_and_get_events(&ring_);
  } else {
    io_uring_cqe* cqe = nullptr;
    if (timeout_ns == kNoDeadline) {
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, nullptr, nullptr);
    } else {
      __kernel_timespec ts{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
      io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    }
  }
  unsigned head;
  unsigned seen = 0;
  io_uring_cqe* cqe;
  bool rearm_wake = false;
  io_uring_for_each_cqe(&ring_, head, cqe) {
    ++seen;
    const std::uint64_t tag = io_uring_cqe_get_data64(cqe);
    if (tag == kWakeTag) {
      rearm_wake = true;
      continue;
    }
    if (tag == kIgnoreTag || tag == 0) continue;
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the user_data is the Op* given at submission
    auto* op = reinterpret_cast<Op*>(static_cast<std::uintptr_t>(tag));
    op->res = cqe->res;
    const WaiterId waiter = op->waiter;
    op->done.store(true, std::memory_order_release);  // the actor may leave from here on
    unpark(waiter);
  }
  io_uring_cq_advance(&ring_, seen);
  if (rearm_wake) arm_wake_read();
}

// ---------------------------------------------------------------------------------------
// Operations.

Result<void> UringBackend::wait(int fd, Interest interest, std::int64_t deadline) {
  if (auto c = check_caller("I/O wait"); !c) return c;
  if (fd < 0) return Error(Errc::BadDescriptor, "I/O wait: negative descriptor");
  const short events = static_cast<short>((interest & kReadable ? POLLIN : 0) |
                                          (interest & kWritable ? POLLOUT : 0));
  if (deadline <= now_ns()) return poll_once(fd, events, "I/O wait");
  const int res = submit_op(
      [&](io_uring_sqe* sqe) { io_uring_prep_poll_add(sqe, fd, static_cast<unsigned>(events)); },
      deadline, this);
  if (res >= 0) {
    if (res & POLLNVAL) return Error(Errc::BadDescriptor, "I/O wait: not an open descriptor");
    return {};
  }
  if (res == -ECANCELED) {
    if (is_cancelled(current_actor())) return Error(Errc::Cancelled, "I/O wait: cancelled");
    return Error(Errc::TimedOut, "I/O wait: timed out");
  }
  return from_errno("I/O wait", -res);
}

// finish maps an operation's result for the byte-moving calls.
Result<std::size_t> finish(int res, const char* op, bool reading) {
  if (res > 0) return static_cast<std::size_t>(res);
  if (res == 0) {
    if (reading) return Error(Errc::Eof, std::string(op) + ": end of stream");
    return std::size_t{0};
  }
  if (res == -ECANCELED) {
    if (is_cancelled(current_actor()))
      return Error(Errc::Cancelled, std::string(op) + ": cancelled");
    return Error(Errc::TimedOut, std::string(op) + ": timed out");
  }
  return from_errno(op, -res);
}

Result<std::size_t> UringBackend::read(int fd, std::span<std::byte> buf, std::int64_t deadline,
                                       std::uint64_t) {
  if (auto c = check_caller("read"); !c) return c.error();
  if (buf.empty()) return std::size_t{0};
  if (fd < 0) return Error(Errc::BadDescriptor, "read: negative descriptor");
  if (deadline <= now_ns()) {
    if (auto r = poll_once(fd, POLLIN, "read"); !r) return r.error();
    deadline = kNoDeadline;  // ready: the read completes at once
  }
  for (;;) {
    // offset -1: the file position (regular files) or the stream (everything else).
    const int res = submit_op(
        [&](io_uring_sqe* sqe) {
          io_uring_prep_read(sqe, fd, buf.data(), static_cast<unsigned>(buf.size()),
                             static_cast<__u64>(-1));
        },
        deadline, this);
    if (res == -EINTR) continue;
    if (res == -EAGAIN) {  // a non-blocking descriptor without data: wait, then again
      if (auto r = wait(fd, kReadable, deadline); !r) return r.error();
      continue;
    }
    return finish(res, "read", true);
  }
}

Result<std::size_t> UringBackend::write(int fd, std::span<const std::byte> buf,
                                        std::int64_t deadline, std::uint64_t) {
  if (auto c = check_caller("write"); !c) return c.error();
  if (buf.empty()) return std::size_t{0};
  if (fd < 0) return Error(Errc::BadDescriptor, "write: negative descriptor");
  if (deadline <= now_ns()) {
    if (auto r = poll_once(fd, POLLOUT, "write"); !r) return r.error();
    deadline = kNoDeadline;
  }
  bool socket = true;  // send (with MSG_NOSIGNAL) first; ENOTSOCK: a plain write
  for (;;) {
    const int res = submit_op(
        [&](io_uring_sqe* sqe) {
          if (socket)
            io_uring_prep_send(sqe, fd, buf.data(), buf.size(), MSG_NOSIGNAL);
          else
            io_uring_prep_write(sqe, fd, buf.data(), static_cast<unsigned>(buf.size()),
                                static_cast<__u64>(-1));
        },
        deadline, this);
    if (res == -ENOTSOCK && socket) {
      socket = false;
      continue;
    }
    if (res == -EINTR) continue;
    if (res == -EAGAIN) {
      if (auto r = wait(fd, kWritable, deadline); !r) return r.error();
      continue;
    }
    return finish(res, "write", false);
  }
}

Result<int> UringBackend::accept(int listen_fd, std::int64_t deadline, std::uint64_t) {
  if (auto c = check_caller("accept"); !c) return c.error();
  if (listen_fd < 0) return Error(Errc::BadDescriptor, "accept: negative descriptor");
  if (deadline <= now_ns()) {
    if (auto r = poll_once(listen_fd, POLLIN, "accept"); !r) return r.error();
    deadline = kNoDeadline;
  }
  for (;;) {
    const int res = submit_op(
        [&](io_uring_sqe* sqe) {
          io_uring_prep_accept(sqe, listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        },
        deadline, this);
    if (res >= 0) return res;
    if (res == -EINTR || res == -ECONNABORTED) continue;
    if (res == -EAGAIN) {
      if (auto r = wait(listen_fd, kReadable, deadline); !r) return r.error();
      continue;
    }
    auto f = finish(res, "accept", false);
    return f.error();
  }
}

Result<void> UringBackend::connect(int fd, const sockaddr* addr, socklen_t len,
                                   std::int64_t deadline) {
  if (auto c = check_caller("connect"); !c) return c;
  if (fd < 0) return Error(Errc::BadDescriptor, "connect: negative descriptor");
  if (deadline <= now_ns()) deadline = now_ns();  // a linked timeout that fires at once
  const int res = submit_op([&](io_uring_sqe* sqe) { io_uring_prep_connect(sqe, fd, addr, len); },
                            deadline, this);
  if (res == 0) return {};
  if (res == -EISCONN) return {};
  auto f = finish(res, "connect", false);
  return f.error();
}

}  // namespace

Result<std::unique_ptr<Backend>> Backend::create(Worker& w) {
  auto b = std::make_unique<UringBackend>();
  unsigned flags = 0;
  if (auto r = b->open(flags); !r) return r.error();
  b->set_owner(&w);
  return std::unique_ptr<Backend>(std::move(b));
}

const char* Backend::compiled_name() noexcept { return "io_uring"; }

}  // namespace smarm::detail::io
