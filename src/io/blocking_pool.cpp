// SPDX-License-Identifier: Apache-2.0
// blocking_pool.cpp — see blocking_pool.hpp.
#include "io/blocking_pool.hpp"

#include <unistd.h>

#include <cerrno>
#include <system_error>

#include <smarm/block_on_io.hpp>

#include "core/actor.hpp"
#include "core/scheduler.hpp"
#include "core/worker.hpp"
#include "io/errors.hpp"

namespace smarm::detail::io {

BlockingPool::~BlockingPool() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::size_t BlockingPool::threads() const {
  std::lock_guard lock(mu_);
  return threads_.size();
}

void BlockingPool::push_locked(Job& job) noexcept {
  job.prev = tail_;
  job.next = nullptr;
  if (tail_)
    tail_->next = &job;
  else
    head_ = &job;
  tail_ = &job;
}

void BlockingPool::unlink_locked(Job& job) noexcept {
  (job.prev ? job.prev->next : head_) = job.next;
  (job.next ? job.next->prev : tail_) = job.prev;
  job.prev = job.next = nullptr;
}

Result<void> BlockingPool::run(void (*fn)(void*) noexcept, void* arg) noexcept {
  Actor* self = current_actor();
  if (!self) return smarm::detail::not_in_actor("block_on_io() called outside an actor");
  if (is_cancelled(self)) return Error(Errc::Cancelled, "block_on_io(): cancelled");
  Job job{fn, arg, current_waiter()};
  {
    std::unique_lock lock(mu_);
    if (idle_ == 0 && threads_.size() < max_threads_) {
      try {
        threads_.emplace_back([this] { thread_main(); });
      } catch (const std::system_error& e) {
        if (threads_.empty())
          return Error(Errc::ResourceExhausted,
                       std::string("block_on_io: cannot start a pool thread: ") + e.what());
        // Otherwise the job waits for one of the threads there are.
      }
    }
    push_locked(job);
  }
  cv_.notify_one();
  for (;;) {
    park(WaitKind::Io, &job);  // woken by the pool thread, a cancel, or spuriously
    std::lock_guard lock(mu_);
    if (job.state == JobState::Done) break;
    if (job.state == JobState::Queued && is_cancelled(self)) {
      // No thread has it: take it back, and fn never runs. A Running job must be waited
      // for (fn may be using this stack), so cancellation is noticed only afterwards.
      unlink_locked(job);
      return Error(Errc::Cancelled, "block_on_io(): cancelled before the job started");
    }
  }
  return {};
}

void BlockingPool::thread_main() {
  std::unique_lock lock(mu_);
  for (;;) {
    ++idle_;
    cv_.wait(lock, [this] { return stop_ || head_; });
    --idle_;
    if (!head_) return;  // stopping, nothing left
    Job* job = head_;
    unlink_locked(*job);
    job->state = JobState::Running;
    lock.unlock();
    job->fn(job->arg);
    lock.lock();
    job->state = JobState::Done;
    // The actor may see Done and leave as soon as the lock is released; the waiter id
    // stays safe to unpark (a stale one is a no-op), and the runtime joins this thread
    // before its actors' slots go away.
    const WaiterId waiter = job->waiter;
    lock.unlock();
    unpark(waiter);
    lock.lock();
  }
}

namespace {
BlockingPool* current_pool() noexcept {
  Worker* w = current_worker();
  return w ? w->sched.blocking_pool.get() : nullptr;
}
}  // namespace

namespace {
// blocking_transfer runs one read(2) or write(2) (Syscall) of fd on the pool, retrying
// EINTR there, and maps its result.
template <class Byte, ssize_t (*Syscall)(int, Byte*, std::size_t)>
Result<std::size_t> blocking_transfer(int fd, std::span<Byte> buf, const char* op) noexcept {
  struct Ctx {
    int fd;
    std::span<Byte> buf;
    ssize_t n = -1;
    int err = 0;
  } ctx{fd, buf};
  BlockingPool* pool = current_pool();
  if (!pool) return smarm::detail::not_in_actor(std::string(op) + "() called outside an actor");
  auto r = pool->run(
      [](void* p) noexcept {
        auto& c = *static_cast<Ctx*>(p);
        do c.n = Syscall(c.fd, c.buf.data(), c.buf.size());
        while (c.n < 0 && errno == EINTR);
        c.err = c.n < 0 ? errno : 0;
      },
      &ctx);
  if (!r) return r.error();
  if (ctx.n < 0) return from_errno(op, ctx.err);
  return static_cast<std::size_t>(ctx.n);
}
ssize_t sys_read(int fd, std::byte* p, std::size_t n) { return ::read(fd, p, n); }
ssize_t sys_write(int fd, const std::byte* p, std::size_t n) { return ::write(fd, p, n); }
}  // namespace

Result<std::size_t> blocking_read(int fd, std::span<std::byte> buf) noexcept {
  auto n = blocking_transfer<std::byte, sys_read>(fd, buf, "read");
  if (n && *n == 0) return Error(Errc::Eof, "read: end of file");
  return n;
}

Result<std::size_t> blocking_write(int fd, std::span<const std::byte> buf) noexcept {
  return blocking_transfer<const std::byte, sys_write>(fd, buf, "write");
}

}  // namespace smarm::detail::io

namespace smarm::detail {
Result<void> run_blocking(void (*fn)(void*) noexcept, void* arg) noexcept {
  Worker* w = current_worker();
  if (!w || !current_actor())
    return smarm::detail::not_in_actor("block_on_io() called outside an actor");
  return w->sched.blocking_pool->run(fn, arg);
}
}  // namespace smarm::detail
