// SPDX-License-Identifier: Apache-2.0
// preempt.hpp — allocator-driven preemption: SMARM_CHECK() and NoPreemptScope.
//
// smarm replaces the global operator new/delete. Each allocation made on a worker counts
// down a per-worker counter; every Config::alloc_interval allocations the hook reads the
// cycle counter, and if the running actor has had the worker for longer than its
// timeslice (Config::timeslice, 1 ms by default) it yields to the other actors of that
// worker. A loop that never allocates can call SMARM_CHECK() to make the same check.
//
// Where it never switches: outside a runtime, on a worker's own stack, while the runtime
// holds one of its locks or runs its own bookkeeping, in an actor that is ending, and
// inside a NoPreemptScope.
//
// What you must wrap in a NoPreemptScope: code that holds an OS-level lock across an
// allocation *and* that another actor of the same worker may also need — a std::mutex or
// spin lock shared between actors, or the first call of a function-local static whose
// initialiser allocates (the C++ runtime's guard is per thread: a second actor on the same
// worker reaching it would be taken for recursive initialisation). A preempted actor
// resumes on the same worker — it is not stealable until it next parks — so a lock held
// across the switch is still released by the thread that took it; but the other actors
// of that worker run in between and must not block on it. Prefer smarm::Mutex<T>, which
// parks instead of blocking the worker.
#pragma once

#include <cstdint>

namespace smarm {

namespace detail {
// preempt_check() is the hook's check: count down, and every interval look at the clock.
void preempt_check() noexcept;
void no_preempt_enter() noexcept;  // per-actor depth, travels with the actor
void no_preempt_leave() noexcept;
}  // namespace detail

// preempt_hook() is the allocator hook itself, for programs that link
// smarm::smarm_no_alloc_hook because they bring their own global operator new (jemalloc,
// mimalloc, a pool): call it once at the top of that operator new (every form) and
// allocation-driven preemption works as with smarm's own. It is the same check as
// SMARM_CHECK(): a thread-local countdown, and a look at the clock every
// Config::alloc_interval calls. Safe on any thread, inside or outside a runtime; it never
// allocates. Without it, such a program preempts only at SMARM_CHECK().
void preempt_hook() noexcept;

// NoPreemptScope: while one exists in an actor, the allocator hook and SMARM_CHECK() never
// switch it out. Nestable; the depth belongs to the actor. Outside actors it does nothing.
class NoPreemptScope {
 public:
  NoPreemptScope() noexcept { detail::no_preempt_enter(); }
  ~NoPreemptScope() { detail::no_preempt_leave(); }
  NoPreemptScope(const NoPreemptScope&) = delete;
  NoPreemptScope& operator=(const NoPreemptScope&) = delete;
};

}  // namespace smarm

// SMARM_CHECK() is a preemption point for loops that never allocate: as cheap as one
// allocation's hook (a call and a countdown), and a possible switch once the actor's
// timeslice is used up.
#define SMARM_CHECK() ::smarm::detail::preempt_check()
