// SPDX-License-Identifier: Apache-2.0
// actor.cpp — the park/unpark state machine, cancellation, spawn and join: the runtime
// entry points that detail/core.hpp declares for the public templates.
//
// Park/unpark (the lost-wake-up protocol). The low bits of Actor::state are
//   Running  — on a CPU or in a run queue,
//   Parked   — off its stack, on no queue: only an unpark makes it runnable again,
//   Notified — running, but an unpark arrived: its next park returns at once.
// 1. An actor about to wait registers itself where a waker will find it (under that
//    object's lock), releases the lock and calls park().
// 2. park() switches away *without* changing the state; the incoming side then moves it
//    Running -> Parked in finish_switch(), once its registers are saved.
// 3. unpark() moves Parked -> Running and queues the actor, or Running -> Notified.
// If the unpark of 3 lands between 1 and the end of 2, it finds Running and leaves
// Notified; the CAS of 2 then fails, sees Notified, and requeues the actor instead of
// parking it. No wake-up is lost, and no worker can resume an actor whose registers are
// still being saved. Every CAS carries the generation, so an unpark or cancel aimed at
// an actor that has exited cannot touch the slot's next occupant.
#include "core/actor.hpp"

#include <cxxabi.h>

#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <typeinfo>

#include <smarm/debug.hpp>
#include <smarm/runtime.hpp>
#include <smarm/spawn.hpp>
#include <smarm/stats.hpp>

#include "core/fork.hpp"
#include "core/scheduler.hpp"
#include "core/supervision.hpp"
#include "core/trace.hpp"
#include "core/worker.hpp"

namespace smarm {

namespace detail {

namespace {

Actor* running_actor() noexcept {
  Worker* w = current_worker();
  return w ? w->current.load(std::memory_order_relaxed) : nullptr;
}

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> d(abi::__cxa_demangle(name, nullptr, nullptr, &status),
                                           std::free);
  return status == 0 && d ? std::string(d.get()) : std::string(name);
}

}  // namespace

std::string describe_current_exception(std::uint32_t* type_len) {
  std::type_info* type = abi::__cxa_current_exception_type();
  std::string name = type ? demangle(type->name()) : "unknown";
  std::uint32_t ignored = 0;
  if (!type_len) type_len = &ignored;
  try {
    throw;
  } catch (const std::exception& e) {
    name = demangle(typeid(e).name());
    *type_len = static_cast<std::uint32_t>(name.size());
    return name + ": " + e.what();
  } catch (...) {
    *type_len = static_cast<std::uint32_t>(name.size());
    return name + ": (not derived from std::exception)";
  }
}

Pid Actor::pid() const noexcept { return Pid{sched->id(), index, generation()}; }

TaskBase::Status run_task_body(TaskBase& task) noexcept {
  TaskBase::Status status = TaskBase::Status::Done;
  try {
    task.run();
  } catch (...) {
    task.panic_exception_ = std::current_exception();  // join() hands it on (Error::exception)
    try {
      task.panic_message_ = describe_current_exception(&task.panic_type_len_);
    } catch (...) {
      task.panic_message_.clear();  // out of memory while describing: keep the code only
      task.panic_type_len_ = 0;
    }
    status = TaskBase::Status::Panicked;
  }
  return status;
}

void publish_completion(TaskBase& task, TaskBase::Status status) noexcept {
  // seq_cst: pairs with join_wait() (store joiner, then load status) — Dekker style.
  task.status_.store(status, std::memory_order_seq_cst);
  if (Actor* j = task.joiner_.load(std::memory_order_seq_cst))
    unpark(WaiterId{j, task.joiner_generation_.load(std::memory_order_relaxed)});
}

void wake_actor(Actor* a, Worker* here) noexcept {
  if (here && &here->sched == a->sched)
    here->make_runnable(a);
  else
    a->sched->inject(a);
}

bool cancel_actor(Actor* a, std::uint32_t generation, Worker* here, std::uint64_t extra) noexcept {
  std::uint64_t s = a->state.load(std::memory_order_acquire);
  for (;;) {
    if (!state::alive(s) || state::generation(s) != generation) return false;
    std::uint64_t park = s & state::kParkMask;
    std::uint64_t next = s | state::kCancel | extra;
    if (park == state::kParked)
      next = (next & ~state::kParkMask) | state::kRunning;
    else if (park == state::kRunning)
      next = (next & ~state::kParkMask) | state::kNotified;
    if (next == s) return true;  // already cancelled and notified
    if (a->state.compare_exchange_weak(s, next, std::memory_order_acq_rel)) {
      if (park == state::kParked) wake_actor(a, here);
      return true;
    }
  }
}

// ---------------------------------------------------------------------------------------
// detail/core.hpp

const char* wait_kind_name(WaitKind k) noexcept {
  switch (k) {
    case WaitKind::None:
      return "nothing";
    case WaitKind::Recv:
      return "recv";
    case WaitKind::Send:
      return "send";
    case WaitKind::Join:
      return "join";
    case WaitKind::Sleep:
      return "sleep";
    case WaitKind::Lock:
      return "lock";
    case WaitKind::Io:
      return "io";
    case WaitKind::Select:
      return "select";
    case WaitKind::Other:
      return "other";
  }
  return "unknown";
}

Actor* current_actor() noexcept { return running_actor(); }

WaiterId current_waiter() noexcept {
  Actor* a = running_actor();
  return a ? WaiterId{a, a->generation()} : WaiterId{};
}

bool is_cancelled(const Actor* a) noexcept {
  return a && (a->state.load(std::memory_order_acquire) & state::kCancel);
}

void park(WaitKind kind, const void* object, std::int64_t until) noexcept {
  Worker* w = current_worker();
  Actor* self = w ? w->current.load(std::memory_order_relaxed) : nullptr;
  if (!self) return;
  self->wait_kind.store(kind, std::memory_order_relaxed);
  self->wait_object.store(object, std::memory_order_relaxed);
  self->wait_until.store(until, std::memory_order_relaxed);
  w->park_current(self);
  self->wait_kind.store(WaitKind::None, std::memory_order_relaxed);
}

void unpark(WaiterId id) noexcept {
  Actor* a = id.actor;
  if (!a) return;
  trace_unpark(a, id.generation);
  std::uint64_t s = a->state.load(std::memory_order_acquire);
  for (;;) {
    if (!state::alive(s) || state::generation(s) != id.generation) return;  // stale
    std::uint64_t park = s & state::kParkMask;
    if (park == state::kNotified) {
      // A wake-up is already pending, but it may have been left by an earlier waker: our
      // own writes (the value we hand over) must reach the actor when it consumes that
      // wake-up, or it could read stale data, park again and never hear from us. Writing
      // the state back unchanged (acq_rel) puts us in the word's modification order, so
      // the actor's acquire when it clears the notification also sees our writes.
      if (a->state.compare_exchange_weak(s, s, std::memory_order_acq_rel)) return;
      continue;
    }
    std::uint64_t next =
        (s & ~state::kParkMask) | (park == state::kParked ? state::kRunning : state::kNotified);
    // acq_rel: the waker's writes (the value it handed over) happen-before the woken
    // actor's run; pairs with the acquire loads in park_current/finish_switch.
    if (a->state.compare_exchange_weak(s, next, std::memory_order_acq_rel)) {
      if (park == state::kParked) wake_actor(a, current_worker());
      return;
    }
  }
}

Result<Pid> spawn_task(TaskBase* task, const SpawnOptions& options, SpawnLink link) {
  Actor* parent = running_actor();
  if (!parent) return smarm::detail::not_in_actor("spawn() called outside an actor");
  // Checked before anything is allocated: rounding an absurd size up to whole pages would
  // wrap around (SIZE_MAX becomes 0) and give the actor a stack of nothing.
  if (options.stack_size > Config::kMaxStackSize)
    return Error(Errc::InvalidArgument, "spawn(): SpawnOptions::stack_size " +
                                            std::to_string(options.stack_size) +
                                            " is above the 4 GiB limit");
  // Whatever supervision needs is allocated before the child exists (this may allocate,
  // and so be preempted: the worker is read after it).
  SpawnSupervision prep;
  bool supervised = false;
  try {
    supervised = prepare_spawn(parent, options.deadline, link, prep);
  } catch (const std::bad_alloc&) {
    return Error(Errc::ResourceExhausted, "spawn(): out of memory for the supervision record");
  }
  Worker* w = current_worker();
  auto child = w->sched.create_actor(*task, options, w);
  if (!child) return std::move(child).error();
  if (supervised) attach_spawn(parent, *child, w, prep);
  Pid pid = task->pid_;
  w->spawned.add();
  trace_spawn(w, *child, parent);
  // A worker busy with preempted (pinned) actors, whose children use up their slices:
  // a never-run child goes to the fresh queue of the least loaded worker if that one has
  // less to do, else to this one's, and the parent goes on (pinned actors never move, so
  // where a CPU-bound actor starts is where it stays; see Worker::queue_children()).
  // Otherwise, child first: the parent resumes as soon as the child parks or ends.
  if (w->queue_children()) {
    Worker* v = w->sched.least_loaded_other(w);
    if (!v || v->load() + 1 >= w->load()) v = w;
    v->give(*child);
    parent->spawned_since_pinned.store(true, std::memory_order_relaxed);
    return pid;
  }
  w->start_child_first(parent, *child);
  return pid;
}

Result<void> join_wait(TaskBase& task, JoinMode mode) noexcept {
  // Like every blocking call: outside an actor, or once cancelled, join() reports that
  // even if the task has already ended (the handle stays joinable; nothing is lost).
  // IgnoreCancel (a cancelled supervisor waiting for its children) just waits.
  Actor* self = running_actor();
  if (!self) return smarm::detail::not_in_actor("join() called outside an actor");
  const bool cancellable = mode == JoinMode::Cancellable;
  if (cancellable && is_cancelled(self))
    return Error(Errc::Cancelled, "join(): the caller was cancelled");
  if (task.status() != TaskBase::Status::Running) return {};
  if (task.pid_ == self->pid())
    return Error(Errc::InvalidArgument, "join(): an actor cannot join itself");
  task.joiner_generation_.store(self->generation(), std::memory_order_relaxed);
  task.joiner_.store(self, std::memory_order_seq_cst);
  for (;;) {
    if (task.status_.load(std::memory_order_seq_cst) != TaskBase::Status::Running) break;
    park(WaitKind::Join, &task);
    // Cancellation wins over a completion that raced with it (the handle stays joinable).
    if (cancellable && is_cancelled(self)) {
      task.joiner_.store(nullptr, std::memory_order_seq_cst);
      return Error(Errc::Cancelled, "join(): the caller was cancelled");
    }
  }
  task.joiner_.store(nullptr, std::memory_order_relaxed);
  return {};
}

Result<void> cancel_pid(const Pid& pid) noexcept {
  Worker* w = current_worker();
  auto stale = [&] { return Error(Errc::StalePid, "cancel(): " + to_string(pid) + " has ended"); };
  if (w && w->sched.id() == pid.runtime) {
    Actor* a = w->sched.slots.get(pid.index);
    if (a && cancel_actor(a, pid.generation, w)) return {};
    return stale();
  }
  std::lock_guard lock(scheduler_registry_mutex());
  Scheduler* s = find_scheduler_locked(pid.runtime);
  Actor* a = s ? s->slots.get(pid.index) : nullptr;
  if (a && cancel_actor(a, pid.generation, nullptr)) return {};
  return stale();
}

Result<void> run_root(const Config& config, TaskBase& task, Stats* final_stats) {
  if (auto v = config.validate(); !v) return v;
  if (in_forked_child())  // the parent's runtimes may have left locks held (fork.hpp)
    return Error(Errc::Forked,
                 "run(): this process is a child forked while a smarm runtime ran; it cannot "
                 "start runtimes (fork before starting any, or exec in the child)");
  if (current_worker())
    return Error(Errc::InvalidArgument,
                 "run() called from inside a runtime's worker; spawn an actor instead");
  auto sched = std::make_unique<Scheduler>(config);
  auto r = sched->run(task);
  if (final_stats) *final_stats = sched->stats();
  return r;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// Public free functions.

Pid self() noexcept {
  detail::Actor* a = detail::running_actor();
  return a ? a->pid() : Pid{};
}

Result<void> yield_now() noexcept {
  detail::Worker* w = detail::current_worker();
  detail::Actor* a = w ? w->current.load(std::memory_order_relaxed) : nullptr;
  if (!a) return smarm::detail::not_in_actor("yield_now() called outside an actor");
  if (detail::is_cancelled(a)) return Error(Errc::Cancelled, "yield_now(): cancelled");
  w->yield_current(a);
  return {};
}

bool cancelled() noexcept { return detail::is_cancelled(detail::running_actor()); }

bool is_alive(const Pid& pid) noexcept {
  detail::Worker* w = detail::current_worker();
  if (w && w->sched.id() == pid.runtime) return w->sched.lookup(pid) != nullptr;
  std::lock_guard lock(detail::scheduler_registry_mutex());
  detail::Scheduler* s = detail::find_scheduler_locked(pid.runtime);
  return s && s->lookup(pid) != nullptr;
}

Stats stats() {
  detail::Worker* w = detail::current_worker();
  return w ? w->sched.stats() : Stats{};
}

std::string debug::dump_actors() {
  detail::Worker* w = detail::current_worker();
  return w ? w->sched.dump_actors() : std::string();
}

}  // namespace smarm
