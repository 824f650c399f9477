// SPDX-License-Identifier: Apache-2.0
// worker.cpp — Worker: the run loop, the switch paths and the idle path.
#include "core/worker.hpp"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>

#include "core/context.hpp"
#include "core/fork.hpp"
#include "core/overflow.hpp"
#include "core/preempt.hpp"
#include "core/sanitizer.hpp"
#include "core/scheduler.hpp"
#include "core/supervision.hpp"
#include "core/switch.hpp"
#include "core/trace.hpp"
#include "io/backend.hpp"

// This thread's worker (current_worker() in worker.hpp reads it with one asm). extern "C"
// so that the asm can name it; initial-exec: no __tls_get_addr on the hot path.
extern "C" {
SMARM_ASM_VISIBLE __thread void* smarm_tls_worker __attribute__((tls_model("initial-exec"))) =
    nullptr;
}

namespace smarm::detail {

namespace {

// How long an idle worker keeps looking for work before it sleeps. Waking a sleeping
// thread costs a syscall on both sides; a short spin catches the common case of work
// arriving microseconds later (a ping-pong across workers). Bounded by time, not by a
// count of PAUSE instructions: PAUSE costs ~10 ns on one machine and ~85 ns on another
// (a hypervisor intercepting it), so 2048 of them were 20 us here and 175 us there, CPU
// taken from whatever else runs on the core (an echo client, the other worker's I/O).
constexpr std::int64_t kIdleSpinNs = 20'000;
// PAUSEs between two looks while spinning: a look reads other workers' queue heads, so
// looking back to back would keep their cache lines bouncing.
constexpr int kIdleSpinPauses = 4;
// How often (in scheduling decisions) the local queue yields to the inject queue, so
// that work from outside the workers cannot starve behind a busy local queue.
constexpr std::uint32_t kInjectCheckInterval = 61;
// How long an idle worker sleeps when it left a lone actor to a busy victim before it
// looks again (and steals it if the victim has not switched since): the bound on how
// long such an actor can wait behind a victim stuck in a long-running actor.
constexpr long kLoneRecheckNs = 200'000;

}  // namespace

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                const timespec* timeout) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, timeout,
          nullptr, 0);
}

void futex_wake(std::atomic<std::uint32_t>* word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

SMARM_NO_TSAN SMARM_OPAQUE void set_current_worker(Worker* w) noexcept {
  asm volatile("" ::: "memory");
  smarm_tls_worker = w;
}

// ---------------------------------------------------------------------------------------
// The actor entry point: first code on a fresh stack.

[[noreturn]] void actor_entry(void* arg) {
  first_entry_done();
  auto* self = static_cast<Actor*>(arg);
  // acquire: pairs with the release that published the actor in create_actor().
  (void)self->state.load(std::memory_order_acquire);
  current_worker()->finish_switch();
  TaskBase& task = *self->task;
  const bool is_root = self->is_root;
  Scheduler* const sched = self->sched;
  const TaskBase::Status status = run_task_body(task);
  // In a child forked while this runtime ran, nothing below exists for real (fork.hpp).
  if (in_forked_child()) [[unlikely]]
    end_forked_actor();
  // Read before the fetch_or below hands the actor's fields on.
  const std::size_t stack_bytes = self->stack.size;
  trace_exit(self, status);
  // The actor is dead to the world from here: its pid is stale and unpark/cancel ignore
  // it, before anyone can observe its completion (a joiner must find it ended). Only its
  // stack and slot are still held, until the incoming side of the last switch frees them.
  // No field of *self is read after the fetch_or: it is what hands them to release_actor()
  // (the switch orders them too, but TSan is told switches do not synchronise).
  // release: pairs with the acquire in Worker::release_actor().
  const std::uint64_t was = self->state.fetch_or(state::kExiting, std::memory_order_acq_rel);
  current_worker()->exited.add();
  // The limits' share goes back before anyone can see the end (a join() that returns
  // lets the joiner spawn again), though the stack is only freed by the next switch.
  if (sched->limited()) sched->release_ended(stack_bytes);
  // Watchers hear of the end after the pid went stale and before join() returns. (The
  // record is not one of the fields release_actor() hands on; see supervision.hpp.)
  if (was & state::kWatched) supervision_exit(self, task, status, was);
  publish_completion(task, status);
  if (is_root) sched->begin_shutdown();
  task.release();  // the actor's reference; the handle may hold the other
  current_worker()->exit_current(self);
}

// ---------------------------------------------------------------------------------------

Worker::Worker(Scheduler& s, unsigned i) : sched(s), index(i) {
  // Half a timeslice between polls of a busy worker's backend: "at least once per slice".
  io_poll_interval_ns_ = static_cast<std::int64_t>(
      s.config().timeslice_us() != 0 ? s.config().timeslice_us() * 500 : 500'000);
  seen_switches_.assign(s.config().workers(), ~std::uint64_t{0});
  pool_cap_ = s.config().stack_pool_size();
  pool_ = std::make_unique<Stack[]>(pool_cap_ ? pool_cap_ : 1);
}

Worker::~Worker() {
  for (std::size_t i = 0; i < pool_size_; ++i) sched.stacks.release(pool_[i]);
}

SMARM_NO_TSAN Stack Worker::take_pooled_stack() noexcept {
  if (pool_size_ == 0) return {};
  Stack s = pool_[--pool_size_];
  pooled_.store(pool_size_, std::memory_order_relaxed);
  sanitizer::handoff_acquire(s.lo);
  return s;
}

SMARM_NO_TSAN bool Worker::pool_stack(Stack& s) noexcept {
  if (pool_size_ >= pool_cap_) return false;
  sanitizer::handoff_release(s.lo);
  pool_[pool_size_++] = s;
  pooled_.store(pool_size_, std::memory_order_relaxed);
  return true;
}

WorkerStats Worker::snapshot() const noexcept {
  WorkerStats w;
  w.spawned = spawned.get();
  w.exited = exited.get();
  w.context_switches = switches.get();
  w.parks = parks.get();
  w.steals = steals.get();
  w.idle_sleeps = idle_sleeps.get();
  w.idle_wakeups = idle_wakeups.get();
  w.channel_locks = channel_locks.get();
  w.channel_bias_revocations = channel_bias_revocations.get();
  w.preemptions = preemptions.get();
  w.idle_ns = idle_ns.get();
  w.handoffs = handoffs.get();
  w.stacks_pooled = pooled_.load(std::memory_order_relaxed);
  return w;
}

// ---------------------------------------------------------------------------------------
// Choosing what runs next.

void Worker::fire_due_timers() noexcept {
  // The clock is read only while this worker holds timers.
  if (const std::int64_t earliest = timers.earliest(); earliest != kNoDeadline) {
    const std::int64_t now = now_ns();
    if (earliest <= now) timers.fire_expired(now);
  }
}

Actor* Worker::next_runnable() noexcept {
  fire_due_timers();
  // tick_ is worker-confined but read by every fiber of the worker: relaxed atomic.
  std::uint32_t tick = tick_.load(std::memory_order_relaxed) + 1;
  tick_.store(tick, std::memory_order_relaxed);
  if (tick % kInjectCheckInterval == 0) {
    poll_io_if_due();
    if (Actor* a = sched.inject_queue.pop_front()) return woken(a, false);
  }
  // Only woken actors here (the common case of message passing): FIFO, nothing to weigh.
  if (!has_second_class()) [[likely]] {
    if (Actor* a = queue.pop_front()) return a;
    return sched.inject_queue.pop_front();
  }
  return next_of_two_classes();
}

Actor* Worker::next_of_two_classes() noexcept {
  // Woken first: the queue (and the inject queue) before the second class (fresh and
  // preempted actors), unless that class has waited two timeslices for its turn and a
  // woken actor has run since its last one. The clock is read only while the second
  // class holds someone, so message passing between actors that never use up a slice
  // pays nothing for this. The second condition matters when the OS takes the core away:
  // a worker descheduled in a pinned actor's slice found the class overdue at every look,
  // and woken actors waited behind one pinned slice after another (a 1 ms sleeper beside
  // 1,000 hogs woke 385 ms late with four test processes on two cores). Now the classes
  // alternate at worst.
  if ((queue.empty() && sched.inject_queue.empty()) ||
      (woken_ran_.load(std::memory_order_relaxed) && pinned_overdue())) {
    if (Actor* a = take_second_class()) return a;
  }
  // The woken class has two sources. While actors are pinned here, decisions are a
  // timeslice apart, and the inject queue holds what the hand-off monitor took from a
  // worker the OS had descheduled: the two take turns (one look at the inject queue in
  // kInjectCheckInterval slices left a woken sleeper there 150-280 ms, behind a local
  // queue that a spawn loop kept full).
  if (inject_turn_.load(std::memory_order_relaxed)) {
    if (Actor* a = sched.inject_queue.pop_front()) return woken(a, false);
  }
  if (Actor* a = queue.pop_front()) return woken(a, true);
  if (Actor* a = sched.inject_queue.pop_front()) return woken(a, false);
  return take_second_class();
}

Actor* Worker::take_second_class() noexcept {
  constexpr auto kRx = std::memory_order_relaxed;
  // Fresh and pinned actors share by time: fresh ones run until the pinned class has
  // waited two timeslices since its last turn began, then one of them runs, and then at
  // least one fresh actor before the next. Turns alone would not do: a fresh actor that
  // only arms a timer and parks took a "turn" of microseconds against a spawn loop's
  // whole slice, and a million sleepers waited for the loop to end (TL1M). Fresh ones
  // always first held a spawn loop back behind its own children instead: ten thousand
  // CPU-bound ones took 72 s to start.
  const bool pinned = has_pinned();
  if (pinned && (fresh.empty() || (!fresh_owed_.load(kRx) && pinned_overdue()))) {
    fresh_owed_.store(true, kRx);
    return take_pinned();
  }
  if (Actor* a = fresh.pop_front()) {
    fresh_owed_.store(false, kRx);
    woken_ran_.store(false, kRx);
    return a;
  }
  return pinned ? take_pinned() : nullptr;  // a thief took the last fresh one
}

bool Worker::pinned_overdue() const noexcept {
  return preempt_clock_now() - pinned_since_.load(std::memory_order_relaxed) >=
         pinned_overdue_ticks_;
}

namespace {
// behind(x, y): x < y for slice counts kept modulo 256.
bool behind(std::uint8_t x, std::uint8_t y) noexcept {
  return static_cast<std::int8_t>(static_cast<std::uint8_t>(x - y)) < 0;
}
}  // namespace

void Worker::pin(Actor* a) noexcept {
  // Released together, CPU-bound actors take their first slices from the queue while
  // the pinned class gets a turn every two slices. One FIFO list gave those turns to the
  // few preempted first, again and again: they ended with twice the iterations of the
  // last (W10, N=1000). Levels by slices used give each turn to an actor of the fewest.
  // A count far behind is raised to kCatchUp below the lowest level's (CFS's
  // min_vruntime clamp: an actor that mostly waited, then turns CPU-bound, gets a short
  // head start instead of holding its peers back until it has caught up; an actor whose
  // first slice came late, stolen by a worker whose actors had run a few, still makes
  // those up; W10's runs with and without it are in benchmarks/README), and counts stay
  // within kPinnedLevels of each other.
  constexpr auto kRx = std::memory_order_relaxed;
  auto used = static_cast<std::uint8_t>(a->slices_used.load(kRx) + 1);
  // A spawner goes to the lowest level allowed: a parent that spawned CPU-bound children
  // on a busy worker is not held back behind them (see take_second_class()).
  const bool spawner = a->spawned_since_pinned.exchange(false, kRx);
  const std::size_t count = pinned_count_.load(kRx);
  std::uint8_t low = pinned_low_.load(kRx);
  std::uint8_t high = pinned_high_.load(kRx);
  if (count == 0) {
    low = high = used;
    pinned_since_.store(preempt_clock_now(), kRx);  // the class starts waiting now
  } else {
    // Behind the lowest: a head start of up to kCatchUp slices (a late first slice is
    // made up), no more, and never so far down that the levels would span more than
    // kPinnedLevels counts.
    auto floor = static_cast<std::uint8_t>(low - kCatchUp);
    const auto span_floor = static_cast<std::uint8_t>(high - (kPinnedLevels - 1));
    if (behind(floor, span_floor)) floor = span_floor;
    if (spawner || behind(used, floor)) used = floor;
    const auto ceiling = static_cast<std::uint8_t>(low + kPinnedLevels - 1);
    if (behind(ceiling, used)) used = ceiling;
    if (behind(used, low)) low = used;
    if (behind(high, used)) high = used;
  }
  pinned_low_.store(low, kRx);
  pinned_high_.store(high, kRx);
  a->slices_used.store(used, kRx);
  PinnedLevel& level = pinned_[used % kPinnedLevels];
  if (Actor* tail = level.tail.load(kRx))
    tail->next.store(a, kRx);
  else
    level.head.store(a, kRx);
  level.tail.store(a, kRx);
  pinned_count_.store(count + 1, kRx);
}

Actor* Worker::take_pinned() noexcept {
  constexpr auto kRx = std::memory_order_relaxed;
  const std::uint8_t low = pinned_low_.load(kRx);
  // The lowest non-empty level, unless a level above it has been passed over too often.
  PinnedLevel* from = nullptr;
  for (std::uint8_t i = 0; i < kPinnedLevels; ++i) {
    PinnedLevel& l = pinned_[static_cast<std::uint8_t>(low + i) % kPinnedLevels];
    if (!l.head.load(kRx)) continue;
    if (!from) {
      from = &l;
      continue;
    }
    const std::uint32_t passed = l.passed.load(kRx) + 1;
    l.passed.store(passed, kRx);
    if (passed >= kPassedLimit) from = &l;  // the highest such level wins: waited longest
  }
  from->passed.store(0, kRx);
  woken_ran_.store(false, kRx);
  Actor* a = from->head.load(kRx);  // has_pinned(): some level holds an actor
  Actor* next = a->next.load(kRx);
  from->head.store(next, kRx);
  if (!next) from->tail.store(nullptr, kRx);
  a->next.store(nullptr, kRx);
  const std::size_t left = pinned_count_.load(kRx) - 1;
  pinned_count_.store(left, kRx);
  if (left == 0) return a;
  // The lowest level may have emptied: move up to the first non-empty one, so that
  // pin() clamps to the true minimum.
  std::uint8_t new_low = low;
  while (!pinned_[new_low % kPinnedLevels].head.load(kRx))
    new_low = static_cast<std::uint8_t>(new_low + 1);
  pinned_low_.store(new_low, kRx);
  std::uint8_t high = pinned_high_.load(kRx);
  while (!pinned_[high % kPinnedLevels].head.load(kRx)) high = static_cast<std::uint8_t>(high - 1);
  pinned_high_.store(high, kRx);
  pinned_since_.store(preempt_clock_now(), kRx);  // the next one starts waiting
  return a;
}

Actor* Worker::steal_from_busier() noexcept {
  const std::size_t n = sched.workers.size();
  const std::size_t mine = load();
  for (std::size_t k = 1; k < n; ++k) {
    const std::size_t v = (index + k) % n;
    Worker& victim = *sched.workers[v];
    if ((victim.queue.empty() && victim.fresh.empty()) || victim.load() <= mine) continue;
    if (Actor* a = steal_from(victim, v, /*queue_too=*/true)) return a;
  }
  return nullptr;
}

Actor* Worker::steal_from(Worker& victim, std::size_t v, bool queue_too) noexcept {
  Actor* a = queue_too ? victim.queue.steal_back() : nullptr;
  // Never-run actors placed there are taken at once: that is how they spread.
  if (!a) a = victim.fresh.steal_back();
  if (a) {
    steals.add();
    trace_steal(this, a, v);
  }
  return a;
}

Actor* Worker::find_work(bool patient) noexcept {
  if (Actor* a = next_runnable()) return a;
  const std::size_t n = sched.workers.size();
  for (std::size_t k = 1; k < n; ++k) {
    const std::size_t v = (index + k) % n;
    Worker& victim = *sched.workers[v];
    const std::size_t queued = victim.queue.size();
    bool leave_queue = queued == 0;
    if (patient && queued == 1) {
      // A lone runnable actor on a worker that is making progress is usually the one it
      // just woke and is about to switch to (a token passed along a chain of actors).
      // Stealing it would bounce the chain between cores on every hop; leave it unless
      // the victim has not switched since our last look (it is stuck in a long actor).
      const std::uint64_t progress = victim.switches.get();
      if (progress != seen_switches_[v]) {
        seen_switches_[v] = progress;
        skipped_lone_ = true;
        leave_queue = true;
      }
    }
    if (Actor* a = steal_from(victim, v, !leave_queue)) return a;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------
// Switch paths. Each records the pending action for the incoming side, switches, and on
// resumption (maybe on another worker) lets that worker finish whatever switched to us.

void Worker::switch_to(Context& from, Actor* to, bool from_exiting) noexcept {
  trace_switch(this, to);
  current.store(to, std::memory_order_relaxed);
  switches.add();
  switch_context(from, to->ctx, thread_eh_, from_exiting, &sched);
}

void Worker::switch_to_scheduler(Context& from, bool from_exiting) noexcept {
  trace_switch(this, nullptr);
  current.store(nullptr, std::memory_order_relaxed);
  switches.add();
  switch_context(from, sched_ctx, thread_eh_, from_exiting, &sched);
}

void Worker::park_current(Actor* self) {
  // A wake-up that already arrived is consumed without switching.
  std::uint64_t s = self->state.load(std::memory_order_acquire);
  while ((s & state::kParkMask) == state::kNotified) {
    if (self->state.compare_exchange_weak(s, (s & ~state::kParkMask) | state::kRunning,
                                          std::memory_order_acq_rel))
      return;
  }
  trace_park(this, self);
  pending_actor.store(self, std::memory_order_relaxed);
  pending.store(Pending::Park, std::memory_order_relaxed);
  if (Actor* next = next_runnable())
    switch_to(self->ctx, next, false);
  else
    switch_to_scheduler(self->ctx, false);
  current_worker()->finish_switch();
}

void Worker::yield_current(Actor* self) {
  Actor* next = next_runnable();
  if (!next) {  // nobody else is runnable here: keep running
    kept_running.add();
    return;
  }
  pending_actor.store(self, std::memory_order_relaxed);
  pending.store(Pending::RequeueBack, std::memory_order_relaxed);
  switch_to(self->ctx, next, false);
  current_worker()->finish_switch();
}

void Worker::poll_io_if_due() noexcept {
  if (!io || !io->busy()) return;
  const std::int64_t now = now_ns();
  if (now - io_last_poll_ns_.load(std::memory_order_relaxed) < io_poll_interval_ns_) return;
  io_last_poll_ns_.store(now, std::memory_order_relaxed);
  io->poll(0);
}

bool Worker::wake_from_sleep() noexcept {
  std::uint32_t s = sleep_word.load(std::memory_order_seq_cst);
  if (s == 0 || !sleep_word.compare_exchange_strong(s, 0, std::memory_order_seq_cst)) return false;
  if (s == kSleepIo)
    io->wake();
  else
    futex_wake(&sleep_word);
  return true;
}

void Worker::preempt_current(Actor* self) {
  // A slice ended: whatever I/O this worker watches gets its turn too, and its timers
  // fire before it looks for work elsewhere. (Two workers stealing from each other at
  // every preemption, a spawn loop's parent bouncing between them, never reached
  // next_runnable(): W7c's 1 ms sleeper woke up to 840 ms late.)
  poll_io_if_due();
  fire_due_timers();
  Actor* next = nullptr;
  // Nothing woken here: an actor queued on a busier worker runs here before this actor
  // or the ones pinned here take another slice. Pinned actors never move, so this is
  // what spreads CPU-bound actors that were queued on one worker when they started (the
  // stolen one was queued: it may move; the one switched out stays, pinned).
  if (sched.workers.size() > 1 && queue.empty() && sched.inject_queue.empty())
    next = steal_from_busier();
  if (!next) next = next_runnable();
  if (!next) {  // nobody else is runnable anywhere: keep running
    kept_running.add();
    return;
  }
  preemptions.add();
  trace_preempt(this, self, 0);
  pending_actor.store(self, std::memory_order_relaxed);
  pending.store(Pending::Preempted, std::memory_order_relaxed);
  switch_to(self->ctx, next, false);
  current_worker()->finish_switch();
}

void Worker::start_child_first(Actor* parent, Actor* child) {
  probe_child_.store(child, std::memory_order_relaxed);  // see queue_children()
  pending_actor.store(parent, std::memory_order_relaxed);
  pending.store(Pending::RequeueFront, std::memory_order_relaxed);
  switch_to(parent->ctx, child, false);
  current_worker()->finish_switch();
}

void Worker::exit_current(Actor* self) {
  pending_actor.store(self, std::memory_order_relaxed);
  pending.store(Pending::Exit, std::memory_order_relaxed);
  if (Actor* next = next_runnable())
    switch_to(self->ctx, next, true);
  else
    switch_to_scheduler(self->ctx, true);
  __builtin_unreachable();  // nobody ever switches back to an exited actor
}

void Worker::finish_switch() noexcept {
  // Everything this worker thread did before it started running actors (its TLS
  // initialisation above all) happens-before every actor that runs on it.
  sanitizer::handoff_acquire(this);
  Pending p = pending.load(std::memory_order_relaxed);
  if (p == Pending::None) return;
  Actor* a = pending_actor.load(std::memory_order_relaxed);
  pending.store(Pending::None, std::memory_order_relaxed);
  if (a == probe_child_.load(std::memory_order_relaxed)) {
    // The first run of the last child started first has ended: did it use its slice?
    children_cpu_bound_.store(p == Pending::Preempted, std::memory_order_relaxed);
    probe_child_.store(nullptr, std::memory_order_relaxed);
  }
  const bool multi = sched.workers.size() > 1;
  switch (p) {
    case Pending::Park: {
      std::uint64_t s = a->state.load(std::memory_order_acquire);
      for (;;) {
        if ((s & state::kParkMask) == state::kNotified) {
          // Woken (or cancelled) between deciding to park and being off its stack.
          if (a->state.compare_exchange_weak(s, (s & ~state::kParkMask) | state::kRunning,
                                             std::memory_order_acq_rel)) {
            queue.push_back(a);
            if (multi) sched.notify_work();
            return;
          }
        } else if (a->state.compare_exchange_weak(s, (s & ~state::kParkMask) | state::kParked,
                                                  std::memory_order_acq_rel)) {
          parks.add();
          return;
        }
      }
    }
    case Pending::RequeueBack:
      queue.push_back(a);
      if (multi) sched.notify_work();
      return;
    case Pending::RequeueFront:
      // The parent of a child started first resumes next (depth-first fan-out) — unless
      // actors are pinned here: then a parent spawning CPU-bound children would always be
      // at the front, and actors woken meanwhile would wait for the whole spawn loop.
      if (has_pinned())
        queue.push_back(a);
      else
        queue.push_front(a);
      if (multi) sched.notify_work();
      return;
    case Pending::Preempted: {
      // Its author vouched that it holds nothing thread-bound across a preemption point.
      if (a->migrate_on_preempt.load(std::memory_order_relaxed)) {
        queue.push_back(a);
        if (multi) sched.notify_work();
        return;
      }
      pin(a);
      return;
    }
    case Pending::Exit:
      release_actor(a);
      return;
    case Pending::None:
      return;
  }
}

void Worker::make_runnable(Actor* a) noexcept {
  queue.push_back(a);
  if (sched.workers.size() > 1) sched.notify_work();
}

void Worker::give(Actor* a) noexcept {
  fresh.push_back(a);
  if (!wake_from_sleep()) sched.notify_work();  // it may be spinning, or busy: anyone idle
}

void Worker::release_actor(Actor* a) noexcept {
  // acquire: pairs with the exiting actor's fetch_or(kExiting).
  std::uint64_t s = a->state.load(std::memory_order_acquire);
  Stack st = a->stack;
  a->stack = {};
  if (st.own_mapping || !pool_stack(st)) sched.stacks.release(st);
  if (a->has_name) {
    std::lock_guard lock(sched.names_mu);
    a->name.store(nullptr, std::memory_order_relaxed);
    sched.names.erase(a->index);
    a->has_name = false;
  }
  a->task = nullptr;  // the actor released its reference itself (actor_entry)
  a->is_root = false;
  // The generation moves on: from here every Pid and WaiterId of the old actor is stale.
  std::uint32_t gen = state::generation(s) + 1;
  if (gen == 0) gen = 1;
  a->state.store(state::make(gen, 0), std::memory_order_release);
  sched.slots.free(this, a);
  sched.on_actor_exit();
}

// ---------------------------------------------------------------------------------------
// The scheduler context.

void Worker::run_loop(std::latch& started) {
  set_current_worker(this);
  configure_preempt(sched.config());
  pinned_overdue_ticks_ = 2 * timeslice_ticks(sched.config());
  // Named for gdb, top and perf ("smarm-w0", ...). Worker 0 is the run() caller's thread:
  // it gets its own name back when run() returns.
  char old_name[16] = {};
  const bool restore_name =
      index == 0 && pthread_getname_np(pthread_self(), old_name, sizeof old_name) == 0;
  {
    char name[16];
    std::snprintf(name, sizeof name, "smarm-w%u", index);
    pthread_setname_np(pthread_self(), name);
  }
  thread_eh_ = thread_exception_state();
  sched_ctx.tsan_fiber = sanitizer::current_fiber();
  pthread_attr_t attr;
  if (pthread_getattr_np(pthread_self(), &attr) == 0) {
    void* addr = nullptr;
    std::size_t size = 0;
    pthread_attr_getstack(&attr, &addr, &size);
    sched_ctx.stack_bottom = addr;
    sched_ctx.stack_size = size;
    pthread_attr_destroy(&attr);
  }
  if (io) io->start_on_this_thread();
  os_thread.store(pthread_self(), std::memory_order_relaxed);
  os_tid.store(static_cast<pid_t>(syscall(SYS_gettid)), std::memory_order_release);
  AltStack alt = install_altstack();
  // Timer slack (50 µs by default) would make every timed futex wait that much late;
  // workers ask for 1 ns, and give the run() caller's thread its own value back after.
  const int old_slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  sanitizer::handoff_release(this);  // pairs with the acquire in finish_switch()
  started.arrive_and_wait();

  for (;;) {
    finish_switch();
    if (sched.stopping()) break;
    Actor* a = find_work();
    if (!a) a = idle();
    if (a) switch_to(sched_ctx, a, false);
  }

  if (old_slack > 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_slack), 0, 0, 0);
  os_tid.store(0, std::memory_order_release);
  if (restore_name) pthread_setname_np(pthread_self(), old_name);
  remove_altstack(alt);
  unconfigure_preempt();
  set_current_worker(nullptr);
}

// others_running counts the other workers that are neither asleep nor spinning: those
// running actors. Relaxed reads: it only decides whether spinning is worth it; no wake-up
// depends on it (the idle protocol below does not).
int Worker::others_running(bool self_spinning) const noexcept {
  const int n = static_cast<int>(sched.workers.size());
  const int spinning = sched.spinning.load(std::memory_order_relaxed) - (self_spinning ? 1 : 0);
  return n - 1 - sched.sleepers.load(std::memory_order_relaxed) - spinning;
}

Actor* Worker::idle() noexcept {
  if (sched.shutting_down() && sched.live_actors() == 0) {
    sched.on_actor_exit();  // re-check: the last exits may have raced on two workers
    return nullptr;
  }
  const std::int64_t idle_from = now_ns();
  Actor* a = idle_look();
  idle_ns.add(static_cast<std::uint64_t>(now_ns() - idle_from));
  return a;
}

Actor* Worker::idle_look() noexcept {
  // Spin only while another worker runs actors (it may hand us work any moment), and
  // with no more spinners than such workers — the rule Go's scheduler uses. When every
  // other worker is idle too, work can only come from outside (I/O, timers, other
  // threads), which wakes a sleeper anyway: spinning would just take the core from
  // whatever else runs there (in W6, the load client). It does not poll I/O while it
  // spins: non-blocking epoll_waits there cost more CPU (W6 at T=2) than they saved.
  if (sched.workers.size() > 1 &&
      others_running(/*self_spinning=*/false) > sched.spinning.load(std::memory_order_relaxed)) {
    sched.spinning.fetch_add(1, std::memory_order_seq_cst);
    const std::int64_t until = now_ns() + kIdleSpinNs;
    while (!sched.stopping()) {
      if (Actor* a = find_work(/*patient=*/true)) {
        sched.spinning.fetch_sub(1, std::memory_order_seq_cst);
        return a;
      }
      if (now_ns() >= until || others_running(/*self_spinning=*/true) <= 0) break;
      for (int k = 0; k < kIdleSpinPauses; ++k) __builtin_ia32_pause();
    }
    sched.spinning.fetch_sub(1, std::memory_order_seq_cst);
  }

  // Announce, look once more, then sleep (see the idle protocol in scheduler.hpp).
  // Sleep in the I/O backend if an actor waits on it (the kernel wakes us for its
  // events), else in the futex.
  const bool io_sleep = io && io->busy();
  sleep_word.store(io_sleep ? kSleepIo : kSleepFutex, std::memory_order_seq_cst);
  sched.sleepers.fetch_add(1, std::memory_order_seq_cst);
  // The last look is patient too (stealing the actor a busy victim is about to run
  // drags a whole chain of actors, and their cache lines, to this core), but then the
  // sleep is bounded: if the victim turns out to be stuck, the next look takes it.
  skipped_lone_ = false;
  Actor* a = sched.stopping() ? nullptr : find_work(/*patient=*/true);
  if (!a && !sched.stopping()) {
    // Sleep until woken, or until the earliest of: this worker's next timer, a re-check
    // every millisecond while shutting down, a re-check of a lone actor left to a victim.
    std::int64_t wait_ns = kNoDeadline;
    if (const std::int64_t earliest = timers.earliest(); earliest != kNoDeadline)
      wait_ns = earliest - now_ns();
    if (sched.shutting_down()) wait_ns = std::min<std::int64_t>(wait_ns, 1'000'000);
    if (skipped_lone_) wait_ns = std::min<std::int64_t>(wait_ns, kLoneRecheckNs);
    if (wait_ns > 0) {
      idle_sleeps.add();
      timespec timeout{static_cast<time_t>(wait_ns / 1'000'000'000),
                       static_cast<long>(wait_ns % 1'000'000'000)};
      if (io_sleep)
        io->poll(wait_ns);
      else
        futex_wait(&sleep_word, kSleepFutex, wait_ns == kNoDeadline ? nullptr : &timeout);
      idle_wakeups.add();
    }
  }
  sleep_word.store(0, std::memory_order_relaxed);
  sched.sleepers.fetch_sub(1, std::memory_order_seq_cst);
  sched.monitor.worker_awake();
  return a;
}

}  // namespace smarm::detail
