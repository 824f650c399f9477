// epoll_backend.cpp — the readiness backend: try the system call, and when it would
// block, park the actor until epoll reports the descriptor ready (backend.hpp).
//
// One epoll instance per worker, plus an eventfd that wake() writes to interrupt a
// blocking poll. A wait registers the descriptor with EPOLLONESHOT for the union of what
// its waiters want: when the event fires the kernel disarms the registration, the worker
// wakes the matching waiters and re-arms for any that remain. A disarmed registration is
// inert and kept (the next wait on the descriptor re-arms it with one EPOLL_CTL_MOD); a
// wait that ends by timeout or cancellation while the registration is still armed, and
// was the last waiter, deletes it — so an actor that gives up leaves nothing armed behind.
// A descriptor closed and reopened under the same number is found by MOD failing with
// ENOENT, and added afresh.
//
// The waiters (FdWait) live on the waiting actors' stacks, linked per descriptor in
// `fds_`, all under one SpinLock: the worker's poll and actors (which may resume on
// another worker before they unlink themselves) both touch them.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <mutex>
#include <vector>

#include <smarm/detail/spinlock.hpp>

#include "core/actor.hpp"
#include "core/timer_heap.hpp"
#include "core/worker.hpp"
#include "io/backend.hpp"
#include "io/blocking_pool.hpp"
#include "io/errors.hpp"

namespace smarm::detail::io {

namespace {

constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};
constexpr int kMaxEvents = 256;

// What epoll events satisfy a waiter that wants `interest`. Errors and hang-ups wake
// everyone: the system call they retry will report what happened.
std::uint32_t satisfying(Interest interest) noexcept {
  std::uint32_t ev = EPOLLERR | EPOLLHUP;
  if (interest & kReadable) ev |= EPOLLIN | EPOLLRDHUP | EPOLLPRI;
  if (interest & kWritable) ev |= EPOLLOUT;
  return ev;
}

// not_in_actor / cancelled: the two checks every operation makes first.
Result<void> check_caller(const char* op) noexcept {
  Actor* self = current_actor();
  if (!self) return Error(Errc::NotInActor, std::string(op) + "() called outside an actor");
  if (is_cancelled(self)) return Error(Errc::Cancelled, std::string(op) + "(): cancelled");
  return {};
}

// The result of polling fd once without waiting (a deadline that has passed).
Result<void> poll_now(int fd, Interest interest) noexcept {
  pollfd p{fd,
           static_cast<short>((interest & kReadable ? POLLIN : 0) |
                              (interest & kWritable ? POLLOUT : 0)),
           0};
  for (;;) {
    const int n = ::poll(&p, 1, 0);
    if (n < 0 && last_errno() == EINTR) continue;
    if (n < 0) return from_errno("poll", last_errno());
    if (n == 0) return Error(Errc::TimedOut, "I/O wait: the deadline has passed");
    if (p.revents & POLLNVAL) return Error(Errc::BadDescriptor, "I/O wait: not an open descriptor");
    return {};
  }
}

class EpollBackend final : public Backend {
 public:
  EpollBackend(int epfd, int evfd) : epfd_(epfd), evfd_(evfd) {}
  ~EpollBackend() override {
    ::close(evfd_);
    ::close(epfd_);
  }

  Result<void> wait(int fd, Interest interest, std::int64_t deadline) override;
  Result<std::size_t> read(int fd, std::span<std::byte> buf, std::int64_t deadline) override;
  Result<std::size_t> write(int fd, std::span<const std::byte> buf, std::int64_t deadline) override;
  Result<int> accept(int listen_fd, std::int64_t deadline) override;
  Result<void> connect(int fd, const sockaddr* addr, socklen_t len, std::int64_t deadline) override;

  std::size_t waiting() const noexcept override { return waiters_.load(std::memory_order_relaxed); }
  void poll(std::int64_t timeout_ns) noexcept override;
  void wake() noexcept override {
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(evfd_, &one, sizeof one);
  }

 private:
  struct FdWait {
    Interest interest;
    WaiterId waiter;
    std::uint32_t fired = 0;  // the events that woke it (0: not yet); under lock_
    FdWait* next = nullptr;
    FdWait* prev = nullptr;
  };
  struct FdEntry {
    FdWait* head = nullptr;
    bool registered = false;  // the kernel may hold a registration (armed or not)
    bool armed = false;       // ... and it is armed
  };

  // arm_locked (re-)arms fd for its unfired waiters. Errors: BadDescriptor, NotPollable
  // (EPERM: a regular file or directory, which epoll refuses), Io.
  int arm_locked(int fd, FdEntry& e) noexcept;
  void unlink_locked(FdEntry& e, FdWait& w) noexcept;
  // Non-socket descriptors: regular files go to the blocking pool; anything else is read
  // once it is ready.
  Result<std::size_t> read_other(int fd, std::span<std::byte> buf, std::int64_t deadline);
  Result<std::size_t> write_other(int fd, std::span<const std::byte> buf, std::int64_t deadline);

  const int epfd_;
  const int evfd_;
  SpinLock lock_;
  std::vector<FdEntry> fds_;  // indexed by descriptor; under lock_
  std::atomic<std::size_t> waiters_{0};
  epoll_event events_[kMaxEvents];  // the owning worker's poll only
};

int EpollBackend::arm_locked(int fd, FdEntry& e) noexcept {
  std::uint32_t want = EPOLLONESHOT;
  for (FdWait* w = e.head; w; w = w->next)
    if (!w->fired) {
      if (w->interest & kReadable) want |= EPOLLIN | EPOLLRDHUP;
      if (w->interest & kWritable) want |= EPOLLOUT;
    }
  epoll_event ev{};
  ev.events = want;
  ev.data.u64 = static_cast<std::uint64_t>(fd);
  int rc;
  if (e.registered) {
    rc = epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    if (rc < 0 && last_errno() == ENOENT) rc = epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  } else {
    rc = epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    if (rc < 0 && last_errno() == EEXIST) rc = epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  }
  if (rc < 0) return last_errno();
  e.registered = e.armed = true;
  return 0;
}

void EpollBackend::unlink_locked(FdEntry& e, FdWait& w) noexcept {
  if (w.prev)
    w.prev->next = w.next;
  else
    e.head = w.next;
  if (w.next) w.next->prev = w.prev;
  w.next = w.prev = nullptr;
}

Result<void> EpollBackend::wait(int fd, Interest interest, std::int64_t deadline) {
  if (auto c = check_caller("I/O wait"); !c) return c;
  if (fd < 0) return Error(Errc::BadDescriptor, "I/O wait: negative descriptor");
  if (deadline <= now_ns()) return poll_now(fd, interest);

  Worker* w = current_worker();
  FdWait me{interest, current_waiter()};
  {
    std::lock_guard lock(lock_);
    if (static_cast<std::size_t>(fd) >= fds_.size())
      fds_.resize(std::max<std::size_t>(static_cast<std::size_t>(fd) + 1, fds_.size() * 2));
    FdEntry& e = fds_[static_cast<std::size_t>(fd)];
    me.next = e.head;
    if (e.head) e.head->prev = &me;
    e.head = &me;
    if (const int err = arm_locked(fd, e); err != 0) {
      unlink_locked(e, me);
      if (err == EPERM) return {};  // regular file or directory: always ready
      return from_errno("epoll_ctl", err);
    }
    waiters_.fetch_add(1, std::memory_order_relaxed);
  }

  TimerEntry timer{deadline, current_waiter(), TimerReason::WaitTimeout};
  if (deadline != kNoDeadline) w->timers.add(&timer);
  Actor* self = current_actor();
  Result<void> out;
  for (;;) {
    park(WaitKind::Io, &me, deadline);
    std::uint32_t fired;
    {
      std::lock_guard lock(lock_);
      fired = me.fired;
    }
    if (fired) break;
    if (is_cancelled(self)) {
      out = Error(Errc::Cancelled, "I/O wait: cancelled");
      break;
    }
    if (deadline != kNoDeadline && now_ns() >= deadline) {
      out = Error(Errc::TimedOut, "I/O wait: timed out");
      break;
    }
  }
  TimerHeap::remove(&timer);
  {
    std::lock_guard lock(lock_);
    FdEntry& e = fds_[static_cast<std::size_t>(fd)];
    unlink_locked(e, me);
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    if (!e.head && e.armed) {
      // The last waiter gave up while the registration was armed: take it back.
      epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
      e.registered = e.armed = false;
    }
  }
  return out;
}

void EpollBackend::poll(std::int64_t timeout_ns) noexcept {
  int n;
  for (;;) {
    if (timeout_ns == kNoDeadline) {
      n = epoll_pwait2(epfd_, events_, kMaxEvents, nullptr, nullptr);
    } else {
      timespec ts{static_cast<time_t>(timeout_ns / 1'000'000'000),
                  static_cast<long>(timeout_ns % 1'000'000'000)};
      n = epoll_pwait2(epfd_, events_, kMaxEvents, &ts, nullptr);
    }
    if (n < 0 && last_errno() == ENOSYS) {
      // A kernel before 5.11: millisecond timeouts, rounded up (a wait is never early).
      const int ms = timeout_ns == kNoDeadline
                         ? -1
                         : static_cast<int>(std::min<std::int64_t>(
                               (timeout_ns + 999'999) / 1'000'000, INT32_MAX));
      n = epoll_wait(epfd_, events_, kMaxEvents, ms);
    }
    if (n >= 0 || last_errno() != EINTR) break;
  }
  if (n <= 0) return;
  // Waiters to wake, collected under the lock and woken after it (unpark takes locks of
  // its own). Their ids stay valid: a stale id is a harmless no-op.
  WaiterId wake[kMaxEvents];
  std::size_t nwake = 0;
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events_[i];
    if (ev.data.u64 == kWakeToken) {
      std::uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(evfd_, &count, sizeof count);
      continue;
    }
    const int fd = static_cast<int>(ev.data.u64);
    std::lock_guard lock(lock_);
    if (static_cast<std::size_t>(fd) >= fds_.size()) continue;
    FdEntry& e = fds_[static_cast<std::size_t>(fd)];
    e.armed = false;  // EPOLLONESHOT
    bool unfired_left = false;
    for (FdWait* w = e.head; w; w = w->next) {
      if (w->fired) continue;
      if (ev.events & satisfying(w->interest)) {
        w->fired = ev.events;
        if (nwake == kMaxEvents) {
          unpark(w->waiter);  // rare: more waiters than events in one batch
        } else {
          wake[nwake++] = w->waiter;
        }
      } else {
        unfired_left = true;
      }
    }
    if (unfired_left) arm_locked(fd, e);  // an error leaves them to their deadline
  }
  for (std::size_t i = 0; i < nwake; ++i) unpark(wake[i]);
}

// ---------------------------------------------------------------------------------------
// Operations: the system call first; on EAGAIN wait for readiness and try again.

Result<std::size_t> EpollBackend::read(int fd, std::span<std::byte> buf, std::int64_t deadline) {
  if (auto c = check_caller("read"); !c) return c.error();
  if (buf.empty()) return std::size_t{0};
  for (;;) {
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) return Error(Errc::Eof, "read: end of stream");
    if (last_errno() == EINTR) continue;
    if (last_errno() == ENOTSOCK) return read_other(fd, buf, deadline);
    if (last_errno() != EAGAIN && last_errno() != EWOULDBLOCK)
      return from_errno("read", last_errno());
    if (auto r = wait(fd, kReadable, deadline); !r) return r.error();
  }
}

Result<std::size_t> EpollBackend::write(int fd, std::span<const std::byte> buf,
                                        std::int64_t deadline) {
  if (auto c = check_caller("write"); !c) return c.error();
  if (buf.empty()) return std::size_t{0};
  for (;;) {
    const ssize_t n = ::send(fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (last_errno() == EINTR) continue;
    if (last_errno() == ENOTSOCK) return write_other(fd, buf, deadline);
    if (last_errno() != EAGAIN && last_errno() != EWOULDBLOCK)
      return from_errno("write", last_errno());
    if (auto r = wait(fd, kWritable, deadline); !r) return r.error();
  }
}

namespace {
bool is_regular_file(int fd) noexcept {
  struct stat st;
  return ::fstat(fd, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode));
}
bool is_nonblocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_NONBLOCK);
}
}  // namespace

Result<std::size_t> EpollBackend::read_other(int fd, std::span<std::byte> buf,
                                             std::int64_t deadline) {
  if (is_regular_file(fd)) return blocking_read(fd, buf);
  // A blocking-mode pipe or tty would block the worker: read it only once it is ready.
  const bool nonblocking = is_nonblocking(fd);
  for (;;) {
    if (!nonblocking)
      if (auto r = wait(fd, kReadable, deadline); !r) return r.error();
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) return static_cast<std::size_t>(n);
    if (n == 0) return Error(Errc::Eof, "read: end of stream");
    if (last_errno() == EINTR) continue;
    if (last_errno() != EAGAIN && last_errno() != EWOULDBLOCK)
      return from_errno("read", last_errno());
    if (nonblocking)
      if (auto r = wait(fd, kReadable, deadline); !r) return r.error();
  }
}

Result<std::size_t> EpollBackend::write_other(int fd, std::span<const std::byte> buf,
                                              std::int64_t deadline) {
  if (is_regular_file(fd)) return blocking_write(fd, buf);
  const bool nonblocking = is_nonblocking(fd);
  for (;;) {
    if (!nonblocking)
      if (auto r = wait(fd, kWritable, deadline); !r) return r.error();
    const ssize_t n = ::write(fd, buf.data(), buf.size());
    if (n >= 0) return static_cast<std::size_t>(n);
    if (last_errno() == EINTR) continue;
    if (last_errno() != EAGAIN && last_errno() != EWOULDBLOCK)
      return from_errno("write", last_errno());
    if (nonblocking)
      if (auto r = wait(fd, kWritable, deadline); !r) return r.error();
  }
}

Result<int> EpollBackend::accept(int listen_fd, std::int64_t deadline) {
  if (auto c = check_caller("accept"); !c) return c.error();
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    if (last_errno() == EINTR || last_errno() == ECONNABORTED) continue;
    if (last_errno() != EAGAIN && last_errno() != EWOULDBLOCK)
      return from_errno("accept", last_errno());
    if (auto r = wait(listen_fd, kReadable, deadline); !r) return r.error();
  }
}

Result<void> EpollBackend::connect(int fd, const sockaddr* addr, socklen_t len,
                                   std::int64_t deadline) {
  if (auto c = check_caller("connect"); !c) return c;
  if (::connect(fd, addr, len) == 0) return {};
  if (last_errno() != EINPROGRESS && last_errno() != EINTR && last_errno() != EAGAIN)
    return from_errno("connect", last_errno());
  if (auto r = wait(fd, kWritable, deadline); !r) return r;
  int err = 0;
  socklen_t err_len = sizeof err;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) < 0)
    return from_errno("connect", last_errno());
  if (err != 0) return from_errno("connect", err);
  return {};
}

}  // namespace

Result<std::unique_ptr<Backend>> Backend::create(Worker&) {
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return unavailable("epoll_create1", last_errno());
  const int evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (evfd < 0) {
    const int err = last_errno();
    ::close(epfd);
    return unavailable("eventfd", err);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeToken;
  if (epoll_ctl(epfd, EPOLL_CTL_ADD, evfd, &ev) < 0) {
    const int err = last_errno();
    ::close(evfd);
    ::close(epfd);
    return unavailable("epoll_ctl", err);
  }
  return std::unique_ptr<Backend>(new EpollBackend(epfd, evfd));
}

const char* Backend::compiled_name() noexcept { return "epoll"; }

}  // namespace smarm::detail::io
