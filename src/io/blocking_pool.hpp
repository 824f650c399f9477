// SPDX-License-Identifier: Apache-2.0
// blocking_pool.hpp (private) — the threads that run blocking work for actors.
//
// block_on_io(f) (include/smarm/block_on_io.hpp) and the epoll backend's regular-file
// reads and writes hand a job to the runtime's pool and park the actor until a pool
// thread has run it. Threads are started on demand, up to Config::blocking_threads; a
// job waits in FIFO order when all of them are busy. The pool is joined when the runtime
// is destroyed (after run() returned, so no job is left: every job's actor waited for it).
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
  // fn must not throw. Cancellation does not interrupt the wait (fn may use the caller's
  // stack); it is reported by the caller afterwards if it wants. Errors: NotInActor,
  // Cancelled (before anything ran), ResourceExhausted (no thread could be started).
  Result<void> run(void (*fn)(void*) noexcept, void* arg) noexcept;

  std::size_t threads() const;

 private:
  struct Job {
    void (*fn)(void*) noexcept;
    void* arg;
    WaiterId waiter;
    bool done = false;  // under mu_
    Job* next = nullptr;
  };
  void thread_main();

  const std::size_t max_threads_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Job* head_ = nullptr;  // FIFO of waiting jobs, under mu_
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
