// SPDX-License-Identifier: Apache-2.0
// blocking_pool.hpp (private) — the threads that run blocking work for actors.
//
// block_on_io(f) (include/smarm/block_on_io.hpp) and the epoll backend's regular-file
// reads and writes hand a job to the runtime's pool and park the actor until a pool
// thread has run it. Threads are started on demand, up to Config::blocking_threads; a
// job waits in FIFO order when all of them are busy. A caller cancelled while its job is
// still queued removes it, so shutdown (which cancels every actor) waits only for the
// jobs already running. The pool is joined when the runtime is destroyed (after run()
// returned, so no job is left: every job's actor waited for it or removed it).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include <smarm/detail/core.hpp>
#include <smarm/error.hpp>

namespace smarm::detail::io {

class BlockingPool {
 public:
  explicit BlockingPool(std::size_t max_threads) : max_threads_(max_threads) {}
  ~BlockingPool();
  BlockingPool(const BlockingPool&) = delete;
  BlockingPool& operator=(const BlockingPool&) = delete;

  // run runs fn(arg) on a pool thread and parks the calling actor until it has returned.
  // fn must not throw. A caller cancelled while its job still waits in the queue takes
  // the job out (under the pool lock) and returns Cancelled: fn never runs. Once a pool
  // thread has taken the job, cancellation does not interrupt the wait (fn may use the
  // caller's stack); it is reported by the caller's next blocking call. Errors:
  // NotInActor, Cancelled (fn did not and will not run), ResourceExhausted (no thread
  // could be started).
  Result<void> run(void (*fn)(void*) noexcept, void* arg) noexcept;

  std::size_t threads() const;

 private:
  // A Job lives on its caller's stack for the whole call. Queued -> Running (a pool
  // thread took it) -> Done; or Queued -> unlinked by its cancelled caller.
  enum class JobState : std::uint8_t { Queued, Running, Done };
  struct Job {
    void (*fn)(void*) noexcept;
    void* arg;
    WaiterId waiter;
    JobState state = JobState::Queued;  // under mu_
    Job* next = nullptr;                // the queue links, under mu_ (doubly linked: a
    Job* prev = nullptr;                // cancelled caller unlinks its job in O(1))
  };
  void thread_main();
  void push_locked(Job& job) noexcept;
  void unlink_locked(Job& job) noexcept;

  const std::size_t max_threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Job* head_ = nullptr;  // FIFO of queued jobs, under mu_
  Job* tail_ = nullptr;
  std::size_t idle_ = 0;  // threads waiting for a job
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

// blocking_read / blocking_write: one read(2) / write(2) of fd on the calling actor's
// runtime pool (regular files, which epoll cannot wait for).
Result<std::size_t> blocking_read(int fd, std::span<std::byte> buf) noexcept;
Result<std::size_t> blocking_write(int fd, std::span<const std::byte> buf) noexcept;

}  // namespace smarm::detail::io
