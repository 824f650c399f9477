// SPDX-License-Identifier: Apache-2.0
// worker.hpp — Worker: one OS thread that runs actors.
//
// A worker runs actors by switching straight from one to the next (one switch per
// hand-off). When it has nothing to run it switches to its own scheduler context, the
// loop in run_loop() on the thread's original stack, which steals, and sleeps when there
// is truly nothing to do.
//
// Whatever must happen *after* the outgoing actor's registers are saved — publishing it
// as parked, queueing it again, freeing its stack — is recorded as the pending action
// and done by finish_switch() on the incoming side. That is what makes park/unpark free
// of lost wake-ups: no other worker can see an actor as parked or runnable while it
// still runs on its stack.
//
// Per-worker state is reached only through current_worker(), an opaque call the compiler
// cannot cache across a switch (after which the actor may be on another thread).
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <latch>
#include <memory>
#include <thread>
#include <vector>

#include <smarm/stats.hpp>

#include "core/actor.hpp"
#include "core/run_queue.hpp"
#include "core/stack.hpp"
#include "core/timer_wheel.hpp"
#include "core/trace_ring.hpp"

namespace smarm::detail {

class Scheduler;
namespace io {
class Backend;
}

enum class Pending : std::uint8_t {
  None,
  Park,          // the actor parks: publish it as parked (or requeue it if notified)
  RequeueBack,   // the actor yielded: it goes to the back of the local queue
  RequeueFront,  // the actor started a child first: it resumes right after the child
  Preempted,     // the allocator hook switched it out: pinned to this worker (preempt.hpp)
  Exit,          // the actor ended: free its stack and slot
};

// Counter is a statistic written by its worker only and read by anyone: a relaxed load
// and store, never a read-modify-write.
struct Counter {
  std::atomic<std::uint64_t> v{0};
  void add(std::uint64_t n = 1) noexcept {
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::uint64_t get() const noexcept { return v.load(std::memory_order_relaxed); }
};

class Worker {
 public:
  Worker(Scheduler& sched, unsigned index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // run_loop is the scheduler context: it runs until the scheduler stops. It sets up its
  // thread (name, preemption clock, signal stack, I/O ring), then arrives at `started`
  // and waits there until every runtime thread has: no actor runs while run() is still
  // creating threads (see Scheduler::run).
  void run_loop(std::latch& started);

  // Called by the running actor `self` on this worker. Each returns when self runs
  // again, possibly on another worker: callers must re-read current_worker() afterwards.
  void park_current(Actor* self);
  void yield_current(Actor* self);
  // preempt_current switches the actor out for the others of this worker and pins it
  // here: it is not stealable until it next parks, so an OS-level lock it holds is
  // released by the thread that took it. Returns at once if nothing else is runnable.
  void preempt_current(Actor* self);
  void start_child_first(Actor* parent, Actor* child);
  [[noreturn]] void exit_current(Actor* self);

  // finish_switch does the pending action left by the context that switched to us.
  void finish_switch() noexcept;

  // make_runnable queues a just-unparked actor here and wakes a sleeping worker if the
  // runtime has more than one.
  void make_runnable(Actor* a) noexcept;
  // give(a) queues a never-run actor in `fresh` (spawn placement on a busy worker: here,
  // or from another worker) and wakes this worker if it sleeps, or else an idle one.
  void give(Actor* a) noexcept;

  // load() is what a spawn weighs when it places a child elsewhere: queued actors (woken
  // and fresh), pinned (preempted) ones, and the one running. Relaxed reads of another
  // worker: a hint.
  std::size_t load() const noexcept {
    return queue.size() + fresh.size() + pinned_count_.load(std::memory_order_relaxed) +
           (current.load(std::memory_order_relaxed) ? 1 : 0);
  }
  bool has_pinned() const noexcept { return pinned_count_.load(std::memory_order_relaxed) != 0; }
  // queue_children says whether a spawn here queues its never-run child (in a fresh queue)
  // and lets the parent go on, rather than running the child first: when this worker is
  // busy with pinned actors and the last child started first used up its whole first
  // slice. Running CPU-bound children first makes a spawn loop wait a slice per spawn,
  // then a turn behind the pinned actors (10,000 took 6-10 s to start in W7c); children
  // that park or end at once (skynet, TL1M) keep the depth-first order and its warm
  // stacks. One spawn in kChildFirstProbe still runs its child first, to look again.
  bool queue_children() noexcept {
    if (!has_pinned() || !children_cpu_bound_.load(std::memory_order_relaxed)) return false;
    const std::uint32_t n = spawn_probe_.load(std::memory_order_relaxed) + 1;
    spawn_probe_.store(n, std::memory_order_relaxed);
    return n % kChildFirstProbe != 0;
  }
  static constexpr std::uint32_t kChildFirstProbe = 64;

  // Stack pool (worker-confined; see SMARM_NO_TSAN).
  Stack take_pooled_stack() noexcept;
  bool pool_stack(Stack& s) noexcept;  // false: the pool is full

  WorkerStats snapshot() const noexcept;

  Scheduler& sched;
  const unsigned index;
  RunQueue queue;  // woken, yielding and requeued actors: the first class
  // Never-run actors that spawn placed here because some worker was busy with pinned
  // actors. They run with the preempted ones, as the second class (before them: they
  // have used no slice), not before woken actors: a spawn storm that filled `queue` with
  // them made a 1 ms sleeper queued behind 200 of them wait 300 ms. Stealable at once,
  // like `queue`.
  RunQueue fresh;
  TimerWheel timers;                     // deadlines of actors that waited on this worker
  std::atomic<Actor*> current{nullptr};  // relaxed: worker-confined, read across fibers
  std::atomic<Pending> pending{Pending::None};
  std::atomic<Actor*> pending_actor{nullptr};
  Context sched_ctx;
  // 0 while awake; kSleepFutex while asleep in the futex; kSleepIo while asleep in the
  // I/O backend's wait (a worker some actor waits on for I/O sleeps there, so that the
  // kernel can wake it). Wakers use wake_from_sleep().
  std::atomic<std::uint32_t> sleep_word{0};
  static constexpr std::uint32_t kSleepFutex = 1;
  static constexpr std::uint32_t kSleepIo = 2;
  // wake_from_sleep wakes this worker if it sleeps (either way); false if it was awake.
  bool wake_from_sleep() noexcept;
  // The worker's I/O backend (src/io/backend.hpp); created by Scheduler::run().
  std::unique_ptr<io::Backend> io;
  std::thread thread;  // not used by worker 0 (the run() caller)

  // Slot cache of the slot table (worker-confined).
  static constexpr std::uint32_t kSlotCache = 256;
  std::uint32_t slot_cache[kSlotCache];
  std::uint32_t slot_cache_size = 0;

  Counter spawned, exited, switches, parks, steals, idle_sleeps, idle_wakeups;
  Counter idle_ns;  // time spent in idle(): spinning for work or asleep
  // Written by the hand-off monitor (its only writer): samples in which it found this
  // worker blocked and served its timers, queue and I/O.
  Counter handoffs;
  Counter channel_locks, channel_bias_revocations;  // see BiasedLock
  Counter preemptions;
  // Times the running actor reached a scheduling point (a yield, an expired timeslice)
  // and kept the worker because nothing else was runnable here. With `switches` it is the
  // heartbeat the stall detector watches.
  Counter kept_running;
  // The worker's OS thread, for the stall detector's backtrace and CPU-time probes. Set
  // by run_loop() before the first actor runs; 0 before and after.
  std::atomic<pid_t> os_tid{0};
  std::atomic<pthread_t> os_thread{};
#if defined(SMARM_TRACING)
  TraceRing trace;  // this worker's events, written by this thread only (core/trace.hpp)
#endif

 private:
  friend class Scheduler;
  Actor* next_runnable() noexcept;        // local queue, with the inject queue checked at times
  Actor* next_of_two_classes() noexcept;  // next_runnable() when the second class is not empty
  // fire_due_timers fires this worker's expired timers. Every scheduling decision calls
  // it first (next_runnable(), and preempt_current() before it steals), so that a busy
  // worker still does: its timers fire nowhere else.
  void fire_due_timers() noexcept;
  // find_work: next_runnable, then steal. A patient thief (a spinning idle worker) leaves
  // a lone queued actor to a victim that is making progress; the last look before
  // sleeping is not patient, so nothing is ever left behind by a sleeping worker.
  Actor* find_work(bool patient = false) noexcept;
  // Always inlined (defined in worker.cpp, its only user): out of line, the call cost
  // W2's ping-pong ~5% when next_runnable() grew.
  [[gnu::always_inline]] inline void switch_to(Context& from, Actor* to,
                                               bool from_exiting) noexcept;
  void switch_to_scheduler(Context& from, bool from_exiting) noexcept;
  Actor* idle() noexcept;       // spins, then sleeps; returns work found on the way
  Actor* idle_look() noexcept;  // idle() without the accounting of its time
  int others_running(bool self_spinning) const noexcept;  // see idle()
  void release_actor(Actor* a) noexcept;

  EhState* thread_eh_ = nullptr;              // this worker thread's C++ exception globals
  std::vector<std::uint64_t> seen_switches_;  // per victim: its switch count at our last look
  bool skipped_lone_ = false;                 // find_work left a lone actor to its owner
  // Preempted actors pinned to this worker, linked through Actor::next (they are on no
  // run queue). Worker-confined. With `fresh`, they are the second class: actors woken
  // (and yielding, and never run children started or requeued here) in `queue` and the
  // inject queue run first, FIFO, but the second class gets a turn at least once every
  // two timeslices (pinned_since_ is when its last turn began, in preemption-clock ticks),
  // so neither class starves. Fresh actors go before pinned ones. Within the
  // class, actors are kept in FIFO levels by whole slices used (Actor::slices_used,
  // modulo kPinnedLevels), and the level of the fewest slices runs first: see pin().
  // Relaxed atomics only for TSan: every fiber of this worker touches them, and TSan is
  // told switches do not synchronise (the same reason as `current`); pinned_count_ is
  // also read by other workers (load()).
  static constexpr std::uint8_t kPinnedLevels = 8;
  static constexpr std::uint8_t kCatchUp = 2;  // see pin()
  // A level passed over kPassedLimit times (turns given to lower levels) gets the next
  // turn: a stream of new CPU-bound actors cannot hold the long-running ones back for
  // ever. Released together, 1,000 actors pass a level ~250 times per worker (W10).
  static constexpr std::uint32_t kPassedLimit = 1024;
  struct PinnedLevel {
    std::atomic<Actor*> head{nullptr};
    std::atomic<Actor*> tail{nullptr};
    std::atomic<std::uint32_t> passed{0};
  };
  std::array<PinnedLevel, kPinnedLevels> pinned_;
  std::atomic<std::uint8_t> pinned_low_{0};   // slices used by the lowest level's actors
  std::atomic<std::uint8_t> pinned_high_{0};  // and by the highest's
  std::atomic<std::size_t> pinned_count_{0};
  std::atomic<std::uint64_t> pinned_since_{0};
  std::uint64_t pinned_overdue_ticks_ = 0;  // two timeslices (set by run_loop)
  void pin(Actor* a) noexcept;              // a preempted actor joins the pinned list (see pin())
  Actor* take_pinned() noexcept;
  // take_second_class takes the next of the second class: a fresh actor, or a pinned one
  // (see next_runnable()); null if both are empty (a thief may have taken the last fresh).
  Actor* take_second_class() noexcept;
  bool has_second_class() const noexcept { return has_pinned() || !fresh.empty(); }
  // A fresh actor is owed a turn: the pinned class had one since the last fresh one.
  std::atomic<bool> fresh_owed_{false};
  // The last child started first until its first run ends, and what that run said (see
  // queue_children()). Worker-confined; relaxed atomics for TSan, as `current`.
  std::atomic<Actor*> probe_child_{nullptr};
  std::atomic<bool> children_cpu_bound_{false};
  std::atomic<std::uint32_t> spawn_probe_{0};
  bool pinned_overdue() const noexcept;
  // woken_ran_: an actor of the queue or the inject queue was chosen since the second
  // class's last turn; inject_turn_: the inject queue is looked at first next time (see
  // next_of_two_classes(), which alone keeps them: they matter only while the second
  // class holds someone). woken() notes both and hands the actor on.
  std::atomic<bool> woken_ran_{false};
  std::atomic<bool> inject_turn_{false};
  Actor* woken(Actor* a, bool from_local_queue) noexcept {
    woken_ran_.store(true, std::memory_order_relaxed);
    inject_turn_.store(from_local_queue, std::memory_order_relaxed);
    return a;
  }
  // steal_from_busier takes a queued actor of a worker with more load() than this one
  // (at a preemption point), or null.
  Actor* steal_from_busier() noexcept;
  // steal_from takes the newest of victim's queue (if queue_too) or else of its fresh
  // actors, counting and tracing the steal; v is the victim's index.
  Actor* steal_from(Worker& victim, std::size_t v, bool queue_too) noexcept;
  std::unique_ptr<Stack[]> pool_;
  std::size_t pool_size_ = 0;
  std::size_t pool_cap_ = 0;
  std::atomic<std::size_t> pooled_{0};  // mirror of pool_size_ for stats()
  std::atomic<std::uint32_t> tick_{0};
  // poll_io_if_due polls the backend without blocking if an actor waits on it and the
  // last poll is older than io_poll_interval_ns_: a busy worker still sees its I/O.
  void poll_io_if_due() noexcept;
  std::int64_t io_poll_interval_ns_ = 0;
  std::atomic<std::int64_t> io_last_poll_ns_{0};  // relaxed: worker-confined (TSan)
};

// run_task_body runs the task on the calling actor, catching whatever it throws and
// recording it as a panic (actor.cpp).
TaskBase::Status run_task_body(TaskBase& task) noexcept;
// publish_completion makes the task's end visible to join() and wakes the joiner.
void publish_completion(TaskBase& task, TaskBase::Status status) noexcept;

// futex_wake wakes one thread sleeping on word.
void futex_wake(std::atomic<std::uint32_t>* word) noexcept;
// futex_wait sleeps while *word == expected, until woken or the timeout (null: none).
void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                const timespec* timeout) noexcept;

// current_worker() is this thread's worker, or null: the thread running *now*. An actor
// may resume on another thread after any context switch, so the compiler must never keep
// the thread-local's address (or its value) across one. One volatile asm computes the
// address from %fs and loads, every time; the "memory" clobber keeps it from drifting
// across a call that may switch. (It used to be an opaque out-of-line function: a call
// per channel operation, ~6% of a pipeline's time.)
inline Worker* current_worker() noexcept {
  void* w;
  asm volatile(
      "movq smarm_tls_worker@gottpoff(%%rip), %0\n\t"
      "movq %%fs:(%0), %0"
      : "=r"(w)
      :
      : "memory");
  return static_cast<Worker*>(w);
}
void set_current_worker(Worker* w) noexcept;

}  // namespace smarm::detail
