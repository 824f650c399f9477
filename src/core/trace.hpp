// SPDX-License-Identifier: Apache-2.0
// trace.hpp — the tracer's hooks: one call at each place the runtime does something a
// timeline should show (LOOM.md, "Tracing").
//
// With SMARM_TRACING they record an event in the calling worker's ring (trace_ring.hpp);
// without it every hook is an empty inline function and compiles to nothing. Hence the
// rule for call sites: pass only values already at hand (no atomic load, no call such as
// current_worker() in an argument — those would survive in a build without tracing).
// Whatever a hook needs beyond that it reads itself.
//
// Allocator-driven preemption calls trace_preempt() when it switches an actor out, the
// stall detector trace_stall(); the I/O layer (not built yet) will call trace_io_wait()
// before it parks an actor on a file descriptor.
#pragma once

#include <cstdint>

#include "core/actor.hpp"
#include "core/scheduler.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

#if defined(SMARM_TRACING)

// trace_pid packs an actor's pid for an event (0: no actor). Reads a->state: call it while
// the actor cannot have been freed (it is running, or being switched to by this thread).
inline std::uint64_t trace_pid(const Actor* a) noexcept {
  return a ? (std::uint64_t{a->index} << 32) | a->generation() : 0;
}

// trace_runtime_start sizes the rings and calibrates the clock (Scheduler constructor);
// trace_runtime_end writes SMARM_TRACE_FILE once every worker has stopped (end of run()).
void trace_runtime_start(Scheduler& s);
void trace_runtime_end(Scheduler& s) noexcept;

// trace_switch: w is about to switch from whatever runs now to `to` (null: to the
// scheduler loop). One event per switch; the writer turns consecutive ones into slices.
inline void trace_switch(Worker* w, const Actor* to) noexcept {
  w->trace.record(trace::EventKind::Switch, trace_pid(to), 0, 0, true);
}

// trace_spawn: `parent` (null for the root) created `child` on w. Copies a named child's
// name, which is freed when the child exits, long before the trace is written.
void trace_spawn(Worker* w, const Actor* child, const Actor* parent) noexcept;

// trace_exit: the running actor's body ended (actor_entry, before the slot can be reused).
void trace_exit(const Actor* self, TaskBase::Status status) noexcept;

// trace_park: self is about to switch away to park (after a pending wake-up was ruled out).
inline void trace_park(Worker* w, const Actor* self) noexcept {
  w->trace.record(trace::EventKind::Park, trace_pid(self), 0,
                  static_cast<std::uint8_t>(self->wait_kind.load(std::memory_order_relaxed)),
                  false);
}

// trace_unpark: unpark() was called for a (generation: the waker's WaiterId). Called on
// entry, while a is as safe to touch as unpark() itself assumes: once unpark() has made a
// runnable, a may end (and its runtime with it) at any moment, so nothing may be read
// after. No event for a stale id; the event says whether a was parked at that moment.
// Recorded on the caller's worker if it belongs to a's runtime, else on a's runtime's
// shared, locked ring.
void trace_unpark(const Actor* a, std::uint32_t generation) noexcept;

// trace_steal: w took a from worker `victim`'s queue.
inline void trace_steal(Worker* w, const Actor* a, std::size_t victim) noexcept {
  w->trace.record(trace::EventKind::Steal, trace_pid(a), victim, 0, false);
}

// For future callers (see the file comment). `reason`, `events`: caller-defined codes,
// shown as numbers.
inline void trace_preempt(Worker* w, const Actor* a, std::uint64_t reason) noexcept {
  w->trace.record(trace::EventKind::Preempt, trace_pid(a), reason, 0, true);
}
// trace_stall: the stall detector's watchdog (not a worker) saw worker `worker` held by
// the actor `pid` (packed as by trace_pid) for held_ns. Recorded on the runtime's shared
// ring (the "other threads" track), with the worker's index in the event.
void trace_stall(Scheduler& s, std::size_t worker, std::uint64_t pid,
                 std::int64_t held_ns) noexcept;
inline void trace_io_wait(Worker* w, const Actor* a, int fd, std::uint8_t events) noexcept {
  w->trace.record(trace::EventKind::IoWait, trace_pid(a), static_cast<std::uint64_t>(fd), events,
                  true);
}

#else  // !SMARM_TRACING: every hook is empty.

inline void trace_runtime_start(Scheduler&) noexcept {}
inline void trace_runtime_end(Scheduler&) noexcept {}
inline void trace_switch(Worker*, const Actor*) noexcept {}
inline void trace_spawn(Worker*, const Actor*, const Actor*) noexcept {}
inline void trace_exit(const Actor*, TaskBase::Status) noexcept {}
inline void trace_park(Worker*, const Actor*) noexcept {}
inline void trace_unpark(const Actor*, std::uint32_t) noexcept {}
inline void trace_steal(Worker*, const Actor*, std::size_t) noexcept {}
inline void trace_preempt(Worker*, const Actor*, std::uint64_t) noexcept {}
inline void trace_stall(Scheduler&, std::size_t, std::uint64_t, std::int64_t) noexcept {}
inline void trace_io_wait(Worker*, const Actor*, int, std::uint8_t) noexcept {}

#endif

}  // namespace smarm::detail
