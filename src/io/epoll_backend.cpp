// SPDX-License-Identifier: Apache-2.0
// epoll_backend.cpp — the readiness backend: try the system call, and when it would
// block, park the actor until epoll reports the descriptor ready (backend.hpp).
//
// One epoll instance per worker, plus an eventfd that wake() writes to interrupt a
// blocking poll. A descriptor is registered in one of two ways:
//
// * Owned (TcpStream, TcpListener: the call carries the OwnedFd's id). Registered once,
//   edge-triggered, for input and output, and kept: smarm closes the descriptor itself,
//   and a new owner id under the same number says "another file". The entry counts the
//   edges seen per direction. An operation notes the count before its system call; a
//   short read (or write) or EAGAIN marks the direction drained *at that count*, and the
//   next operation in that direction parks straight away, without the system call, until
//   an edge moves the count on — the trick Asio plays with its `try_speculative_` flags.
//   Why that is safe: anything that makes the socket readable after our system call
//   queues a fresh edge, and data that came before it was consumed by the short read.
//   Only an end of stream or an error can be pending after a short read with no edge to
//   come, and both announce themselves (RDHUP, HUP, ERR): once seen, nothing is skipped.
//   So an echo round trip costs one recv, one send and a share of one epoll_pwait2, and
//   no epoll_ctl at all.
// * Not owned (io::read on a raw descriptor, the waits): the caller may close the
//   descriptor and reuse its number at any time, which the kernel would not tell us, so
//   each wait (re-)arms one EPOLLONESHOT registration for the union of what the entry's
//   waiters want: an EPOLL_CTL_MOD per wait. A disarmed registration is inert and kept; a
//   wait that ends by timeout or cancellation while the registration is still armed, and
//   was the last waiter, deletes it — so an actor that gives up leaves nothing armed
//   behind. A closed and reopened number shows up as MOD failing with ENOENT, and is
//   added afresh.
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
#include "core/timer_wheel.hpp"
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
  if (!self) return smarm::detail::not_in_actor(std::string(op) + "() called outside an actor");
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
  Result<std::size_t> read(int fd, std::span<std::byte> buf, std::int64_t deadline,
                           std::uint64_t owner) override;
  Result<std::size_t> write(int fd, std::span<const std::byte> buf, std::int64_t deadline,
                            std::uint64_t owner) override;
  Result<int> accept(int listen_fd, std::int64_t deadline, std::uint64_t owner) override;
  Result<void> connect(int fd, const sockaddr* addr, socklen_t len, std::int64_t deadline) override;

  std::size_t waiting() const noexcept override { return waiters_.load(std::memory_order_relaxed); }
  void poll(std::int64_t timeout_ns) noexcept override;
  bool poll_for_blocked_owner() noexcept override;
  // dispatch wakes the waiters of n events (under lock_ per descriptor).
  void dispatch(const epoll_event* events, int n) noexcept;
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
    bool armed = false;       // one-shot: ... and it is armed
    // Owned descriptors: the OwnedFd id it is registered edge-triggered for (0: one-shot
    // mode), the edges seen per direction (kIn, kOut), and the edge count at which each
    // direction was last seen drained (no skip unless it equals the current count).
    std::uint64_t owner = 0;
    std::uint32_t edges[2] = {0, 0};
    std::uint32_t drained_at[2] = {0, 0};
    // The peer half-closed, hung up or an error is pending (RDHUP, HUP, ERR seen). From
    // then on a short read proves nothing — the end of stream or the error is still to be
    // read, and no further edge will announce it — so nothing is skipped any more.
    bool hangup = false;
  };
  // NOLINTNEXTLINE(readability-identifier-naming): array indices (edges[]), named as constants
  enum Direction { kIn = 0, kOut = 1 };

  FdEntry& entry_locked(int fd);
  // arm_locked (re-)arms fd one-shot for its unfired waiters; register_owned_locked
  // registers it edge-triggered for `owner`. Both return 0 or the errno of epoll_ctl
  // (EPERM: a regular file or directory, which epoll refuses).
  int arm_locked(int fd, FdEntry& e) noexcept;
  // set_registration makes the kernel's registration of fd `events` (ADD or MOD, as the
  // entry believes it registered or not); 0 or epoll_ctl's errno.
  int set_registration(int fd, const FdEntry& e, std::uint32_t events) noexcept;
  int register_owned_locked(int fd, FdEntry& e, std::uint64_t owner) noexcept;
  // Owned descriptors. begin_owned registers fd if needed and gives the edge count of
  // direction d (`seen`) and whether the direction is known to be drained at that count
  // (then the system call would only say EAGAIN); it returns 0 or epoll_ctl's errno.
  // mark_drained records a drained direction. wait_edge parks until an edge of direction
  // d moves past `seen`.
  int begin_owned(int fd, std::uint64_t owner, Direction d, std::uint32_t& seen, bool& drained);
  // owned_attempt is the part of an operation before its system call: register, and
  // park first when the direction is drained and the operation has not waited yet. An
  // error ends the operation. It sets owner to 0 when the descriptor cannot be registered
  // (a regular file: epoll refuses it).
  Result<void> owned_attempt(int fd, std::uint64_t& owner, Direction d, bool& may_skip,
                             std::uint32_t& seen, std::int64_t deadline);
  void mark_drained(int fd, std::uint64_t owner, Direction d, std::uint32_t seen) noexcept;
  Result<void> wait_edge(int fd, std::uint64_t owner, Direction d, std::uint32_t seen,
                         std::int64_t deadline);
  // park_linked parks the calling actor, linked as `me` on fd's entry, until it fires,
  // is cancelled or its deadline passes, and unlinks it.
  Result<void> park_linked(int fd, FdWait& me, std::int64_t deadline);
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

EpollBackend::FdEntry& EpollBackend::entry_locked(int fd) {
  if (static_cast<std::size_t>(fd) >= fds_.size())
    fds_.resize(std::max<std::size_t>(static_cast<std::size_t>(fd) + 1, fds_.size() * 2));
  return fds_[static_cast<std::size_t>(fd)];
}

int EpollBackend::set_registration(int fd, const FdEntry& e, std::uint32_t events) noexcept {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = static_cast<std::uint64_t>(fd);
  // What we believe may be stale (a closed and reused number, a registration the kernel
  // dropped with its file): fall back to the other operation.
  int rc;
  if (e.registered) {
    rc = epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
    if (rc < 0 && last_errno() == ENOENT) rc = epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
  } else {
    rc = epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev);
    if (rc < 0 && last_errno() == EEXIST) rc = epoll_ctl(epfd_, EPOLL_CTL_MOD, fd, &ev);
  }
  return rc < 0 ? last_errno() : 0;
}

int EpollBackend::arm_locked(int fd, FdEntry& e) noexcept {
  std::uint32_t want = EPOLLONESHOT;
  for (FdWait* w = e.head; w; w = w->next)
    if (!w->fired) {
      if (w->interest & kReadable) want |= EPOLLIN | EPOLLRDHUP;
      if (w->interest & kWritable) want |= EPOLLOUT;
    }
  if (const int err = set_registration(fd, e, want); err != 0) return err;
  // A raw wait on a descriptor registered for an owner turns the entry one-shot; the
  // owner's next operation registers it edge-triggered again.
  e.owner = 0;
  e.registered = e.armed = true;
  return 0;
}

int EpollBackend::register_owned_locked(int fd, FdEntry& e, std::uint64_t owner) noexcept {
  if (const int err = set_registration(fd, e, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET); err != 0)
    return err;
  e.owner = owner;
  e.registered = true;
  e.armed = false;
  e.hangup = false;
  // Nothing is known about the new file's state: neither direction counts as drained.
  for (int d = 0; d < 2; ++d) e.drained_at[d] = e.edges[d] - 1;
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

Result<void> EpollBackend::park_linked(int fd, FdWait& me, std::int64_t deadline) {
  Worker* w = current_worker();
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
  TimerWheel::remove(&timer);
  {
    std::lock_guard lock(lock_);
    FdEntry& e = fds_[static_cast<std::size_t>(fd)];
    unlink_locked(e, me);
    waiters_.fetch_sub(1, std::memory_order_relaxed);
    if (!e.head && e.armed && e.owner == 0) {
      // The last waiter gave up while the one-shot registration was armed: take it back.
      epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
      e.registered = e.armed = false;
    }
  }
  return out;
}

Result<void> EpollBackend::wait(int fd, Interest interest, std::int64_t deadline) {
  if (auto c = check_caller("I/O wait"); !c) return c;
  if (fd < 0) return Error(Errc::BadDescriptor, "I/O wait: negative descriptor");
  if (deadline <= now_ns()) return poll_now(fd, interest);

  FdWait me{interest, current_waiter()};
  {
    std::lock_guard lock(lock_);
    FdEntry& e = entry_locked(fd);
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
  return park_linked(fd, me, deadline);
}

int EpollBackend::begin_owned(int fd, std::uint64_t owner, Direction d, std::uint32_t& seen,
                              bool& drained) {
  std::lock_guard lock(lock_);
  FdEntry& e = entry_locked(fd);
  if (e.owner != owner)
    if (const int err = register_owned_locked(fd, e, owner); err != 0) return err;
  seen = e.edges[d];
  drained = !e.hangup && e.drained_at[d] == seen;
  return 0;
}

Result<void> EpollBackend::owned_attempt(int fd, std::uint64_t& owner, Direction d, bool& may_skip,
                                         std::uint32_t& seen, std::int64_t deadline) {
  for (;;) {
    bool drained = false;
    if (const int err = begin_owned(fd, owner, d, seen, drained); err != 0) {
      if (err != EPERM) return from_errno("epoll_ctl", err);
      owner = 0;  // not pollable: the one-shot path handles such descriptors
      return {};
    }
    if (!drained || !may_skip) return {};
    may_skip = false;
    if (auto r = wait_edge(fd, owner, d, seen, deadline); !r) return r;
  }
}

void EpollBackend::mark_drained(int fd, std::uint64_t owner, Direction d,
                                std::uint32_t seen) noexcept {
  std::lock_guard lock(lock_);
  FdEntry& e = fds_[static_cast<std::size_t>(fd)];
  if (e.owner == owner) e.drained_at[d] = seen;
}

Result<void> EpollBackend::wait_edge(int fd, std::uint64_t owner, Direction d, std::uint32_t seen,
                                     std::int64_t deadline) {
  const Interest interest = d == kIn ? kReadable : kWritable;
  if (deadline <= now_ns()) return poll_now(fd, interest);
  FdWait me{interest, current_waiter()};
  {
    std::lock_guard lock(lock_);
    FdEntry& e = entry_locked(fd);
    // Another registration replaced ours (a raw wait on the same number), or an edge
    // arrived since the caller looked: either way, go and try the system call.
    if (e.owner != owner || e.edges[d] != seen) return {};
    e.drained_at[d] = seen;
    me.next = e.head;
    if (e.head) e.head->prev = &me;
    e.head = &me;
    waiters_.fetch_add(1, std::memory_order_relaxed);
  }
  return park_linked(fd, me, deadline);
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
  if (n > 0) dispatch(events_, n);
}

bool EpollBackend::poll_for_blocked_owner() noexcept {
  // Its own buffer: events_ belongs to the owner, which may come back any moment. Two
  // threads may wait on one epoll instance; each event goes to one of them.
  epoll_event events[kMaxEvents];
  int n;
  do n = epoll_wait(epfd_, events, kMaxEvents, 0);
  while (n < 0 && last_errno() == EINTR);
  if (n > 0) dispatch(events, n);
  return true;
}

void EpollBackend::dispatch(const epoll_event* events, int n) noexcept {
  // Waiters to wake, collected under the lock and woken after it (unpark takes locks of
  // its own). Their ids stay valid: a stale id is a harmless no-op.
  WaiterId wake[kMaxEvents];
  std::size_t nwake = 0;
  for (int i = 0; i < n; ++i) {
    const epoll_event& ev = events[i];
    if (ev.data.u64 == kWakeToken) {
      std::uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(evfd_, &count, sizeof count);
      continue;
    }
    const int fd = static_cast<int>(ev.data.u64);
    std::lock_guard lock(lock_);
    if (static_cast<std::size_t>(fd) >= fds_.size()) continue;
    FdEntry& e = fds_[static_cast<std::size_t>(fd)];
    const bool edge_triggered = e.owner != 0;
    if (edge_triggered) {
      if (ev.events & satisfying(kReadable)) ++e.edges[kIn];
      if (ev.events & satisfying(kWritable)) ++e.edges[kOut];
      if (ev.events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) e.hangup = true;
    } else {
      e.armed = false;  // EPOLLONESHOT
    }
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
    // One-shot: re-arm for the waiters left (an error leaves them to their deadline).
    // Edge-triggered registrations stay armed by themselves.
    if (unfired_left && !edge_triggered) arm_locked(fd, e);
  }
  for (std::size_t i = 0; i < nwake; ++i) unpark(wake[i]);
}

// ---------------------------------------------------------------------------------------
// Operations: the system call first; on EAGAIN wait for readiness and try again.

// Owned descriptors (owner != 0) skip the system call when their direction is known to
// be drained, and mark it drained after a short transfer or EAGAIN; see the top of file.
// Only the first attempt of an operation may skip: after any wait, try the call.

Result<std::size_t> EpollBackend::read(int fd, std::span<std::byte> buf, std::int64_t deadline,
                                       std::uint64_t owner) {
  if (auto c = check_caller("read"); !c) return c.error();
  if (buf.empty()) return std::size_t{0};
  if (fd < 0) return Error(Errc::BadDescriptor, "read: negative descriptor");
  bool may_skip = true;
  for (;;) {
    std::uint32_t seen = 0;
    if (owner)
      if (auto r = owned_attempt(fd, owner, kIn, may_skip, seen, deadline); !r) return r.error();
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n > 0) {
      if (owner && static_cast<std::size_t>(n) < buf.size()) mark_drained(fd, owner, kIn, seen);
      return static_cast<std::size_t>(n);
    }
    if (n == 0) return Error(Errc::Eof, "read: end of stream");
    if (last_errno() == EINTR) continue;
    if (last_errno() == ENOTSOCK) return read_other(fd, buf, deadline);
    if (last_errno() != EAGAIN && last_errno() != EWOULDBLOCK)
      return from_errno("read", last_errno());
    may_skip = false;
    if (auto r = owner ? wait_edge(fd, owner, kIn, seen, deadline) : wait(fd, kReadable, deadline);
        !r)
      return r.error();
  }
}

Result<std::size_t> EpollBackend::write(int fd, std::span<const std::byte> buf,
                                        std::int64_t deadline, std::uint64_t owner) {
  if (auto c = check_caller("write"); !c) return c.error();
  if (buf.empty()) return std::size_t{0};
  if (fd < 0) return Error(Errc::BadDescriptor, "write: negative descriptor");
  bool may_skip = true;
  for (;;) {
    std::uint32_t seen = 0;
    if (owner)
      if (auto r = owned_attempt(fd, owner, kOut, may_skip, seen, deadline); !r) return r.error();
    const ssize_t n = ::send(fd, buf.data(), buf.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) {
      // A short send means the socket's buffer is full ("drained" of room).
      if (owner && static_cast<std::size_t>(n) < buf.size()) mark_drained(fd, owner, kOut, seen);
      return static_cast<std::size_t>(n);
    }
    if (last_errno() == EINTR) continue;
    if (last_errno() == ENOTSOCK) return write_other(fd, buf, deadline);
    if (last_errno() != EAGAIN && last_errno() != EWOULDBLOCK)
      return from_errno("write", last_errno());
    may_skip = false;
    if (auto r = owner ? wait_edge(fd, owner, kOut, seen, deadline) : wait(fd, kWritable, deadline);
        !r)
      return r.error();
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

Result<int> EpollBackend::accept(int listen_fd, std::int64_t deadline, std::uint64_t owner) {
  if (auto c = check_caller("accept"); !c) return c.error();
  if (listen_fd < 0) return Error(Errc::BadDescriptor, "accept: negative descriptor");
  bool may_skip = true;
  for (;;) {
    std::uint32_t seen = 0;
    if (owner)
      if (auto r = owned_attempt(listen_fd, owner, kIn, may_skip, seen, deadline); !r)
        return r.error();
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    if (last_errno() == EINTR || last_errno() == ECONNABORTED) continue;
    if (last_errno() != EAGAIN && last_errno() != EWOULDBLOCK)
      return from_errno("accept", last_errno());
    may_skip = false;
    if (auto r = owner ? wait_edge(listen_fd, owner, kIn, seen, deadline)
                       : wait(listen_fd, kReadable, deadline);
        !r)
      return r.error();
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
