// SPDX-License-Identifier: Apache-2.0
// scheduler.hpp — Scheduler: one running runtime (everything run() builds and tears down).
//
// Owns the workers, the actor slot table, the stack allocator and the inject queue. There
// is no global scheduler: each run() makes one, so runtimes never share state and may run
// one after another or side by side.
//
// Idle protocol (no lost wake-ups between "found no work" and "asleep"): a worker that
// finds nothing first spins briefly (counted in spinning_), then announces itself
// asleep (sleep_word = 1, sleepers_++), looks for work once more, and only then waits on
// its futex. A pusher of stealable work publishes it, then (seq_cst fence) reads
// spinning_ and sleepers_: either the sleeper's last look sees the work, or the pusher
// sees the sleeper and wakes it. A spinning worker is not woken: it will find the work.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <smarm/config.hpp>
#include <smarm/detail/core.hpp>
#include <smarm/spawn.hpp>
#include <smarm/stats.hpp>

#include "core/actor.hpp"
#include "core/handoff_monitor.hpp"
#include "core/run_queue.hpp"
#include "core/runtime_mutex.hpp"
#include "core/slot_table.hpp"
#include "core/stack.hpp"
#include "core/stall_detector.hpp"
#include "core/supervision.hpp"
#include "core/trace_ring.hpp"
#include "core/worker.hpp"

namespace smarm::detail {
namespace io {
class BlockingPool;
}

// Registry of live runtimes (cancel(pid) from a thread that is no worker must find the
// pid's runtime). find_scheduler_locked requires scheduler_registry_mutex().
class Scheduler;
Scheduler* find_scheduler_locked(std::uint32_t id) noexcept;
RuntimeMutex& scheduler_registry_mutex() noexcept;

class Scheduler {
 public:
  explicit Scheduler(const Config& config);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // run(root) runs the root task to completion, then shuts down (see runtime.hpp).
  Result<void> run(TaskBase& root);

  // create_actor makes an actor for task (taking a reference to it) on worker w, ready
  // to be switched to. Fails with ResourceExhausted (no slot or stack).
  Result<Actor*> create_actor(TaskBase& task, const SpawnOptions& options, Worker* w,
                              bool is_root = false);

  // The resource limits (Config::max_actors, max_stack_memory). reserve_limits takes one
  // actor and `pages` of stack, or fails with ResourceExhausted naming the limit;
  // release_limits gives them back. Counted only when a limit is set: the default spawn
  // path touches no shared counter.
  Result<void> reserve_limits(std::uint32_t pages) noexcept;
  void release_limits(std::uint32_t pages) noexcept;
  bool limited() const noexcept { return limit_actors_ || limit_stacks_; }
  // release_ended(stack_bytes) gives back the share of an ended actor whose stack had
  // stack_bytes (only called when limited(): the charge is recomputed from the stack
  // rather than kept in Actor, whose size is a multiple of the cache line).
  void release_ended(std::size_t stack_bytes) noexcept {
    release_limits(static_cast<std::uint32_t>(stack_bytes / kStackScale / page_size()));
  }

  // Wake-up plumbing.
  void notify_work() noexcept;  // after pushing stealable work
  // least_loaded_other(w) is the worker other than w with the smallest load(), or null.
  Worker* least_loaded_other(const Worker* w) noexcept;
  void inject(Actor* a) noexcept;  // from a thread that is not our worker
  void wake_one() noexcept;
  void wake_all() noexcept;

  // Shutdown: when the root ends, every live actor is cancelled; once none is left the
  // workers stop. An actor that ignores cancellation past the grace period aborts the
  // process with its name (an unkillable actor would otherwise hang run() forever).
  void begin_shutdown() noexcept;
  void on_actor_exit() noexcept;
  bool shutting_down() const noexcept { return shutting_down_.load(std::memory_order_acquire); }
  bool stopping() const noexcept { return stopping_.load(std::memory_order_acquire); }
  std::uint64_t live_actors() const noexcept;

  Stats stats() const;
  std::string dump_actors() const;

  Actor* lookup(const Pid& pid) const noexcept;  // the live actor pid names, or null
  std::uint32_t id() const noexcept { return id_; }
  const Config& config() const noexcept { return config_; }

  StackAllocator stacks;
  SlotTable slots;
  std::vector<std::unique_ptr<Worker>> workers;
  RunQueue inject_queue;
  std::atomic<int> spinning{0};
  std::atomic<int> sleepers{0};
  mutable RuntimeMutex names_mu;                         // guards names, Actor::has_name
  std::unordered_map<std::uint32_t, std::string> names;  // slot index -> name of its actor
  Supervision supervision;  // stripe locks and counters of monitors/links (signal.hpp)
#if defined(SMARM_TRACING)
  TraceState trace;  // the tracer's per-runtime part (core/trace.hpp)
#endif
  // The threads of block_on_io() (src/io/blocking_pool.hpp), started on demand.
  std::unique_ptr<io::BlockingPool> blocking_pool;
  // The hand-off monitor (core/handoff_monitor.hpp): runs while the workers do, when
  // there is more than one.
  HandoffMonitor monitor;

 private:
  void watchdog(std::chrono::steady_clock::time_point deadline);

  Config config_;
  const std::uint32_t id_;
  const bool limit_actors_;  // max_actors below the table's size
  const bool limit_stacks_;  // max_stack_memory set
  const std::size_t max_stack_pages_;
  // Live actors and stack pages held, while a limit is set. Own line: spawns and exits on
  // every worker write them.
  alignas(64) std::atomic<std::size_t> limited_actors_{0};
  std::atomic<std::size_t> limited_stack_pages_{0};
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> stopping_{false};
  std::mutex shutdown_mu_;
  std::condition_variable shutdown_cv_;
  std::thread watchdog_;
  // The stall detector's thread, while the workers run (null when Config turns it off).
  std::unique_ptr<StallDetector> stall_detector_;
  std::uint64_t stalls_after_run_ = 0;  // its count, kept for last_stats()
};

}  // namespace smarm::detail
