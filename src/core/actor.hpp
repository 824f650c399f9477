// SPDX-License-Identifier: Apache-2.0
// actor.hpp — Context (one suspended or running execution) and Actor (its control block).
//
// Actor objects are type-stable: they live in the slot table's chunks for the whole life
// of the runtime and are reused by successive actors, told apart by the generation in
// `state`. So a pointer to an Actor is always safe to dereference while the runtime runs,
// and every operation that may reach an exited actor (unpark, cancel) checks the
// generation inside the same compare-and-swap that acts, never touching a new occupant.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <smarm/detail/core.hpp>
#include <smarm/pid.hpp>

#include "core/stack.hpp"

namespace smarm::detail {

class Scheduler;

// EhState is libstdc++'s per-thread exception bookkeeping (__cxa_eh_globals: the stack of
// caught exceptions and the uncaught count). It is per *actor*: saved and restored on
// every switch, so `throw;` and std::uncaught_exceptions() never see another actor's.
struct EhState {
  void* caught = nullptr;
  unsigned int uncaught = 0;
};

// Context is everything a switch needs about one side: the saved stack pointer and the
// per-context state the sanitizers and the C++ runtime keep.
struct Context {
  void* sp = nullptr;                  // valid while suspended
  EhState eh;                          // valid while suspended
  void* asan_fake_stack = nullptr;     // ASan's fake-stack handle while suspended
  void* tsan_fiber = nullptr;          // TSan's fiber for this context
  const void* stack_bottom = nullptr;  // lowest usable address (for ASan)
  std::size_t stack_size = 0;
};

// The state word: generation in the high 32 bits, flags in the low ones.
namespace state {
inline constexpr std::uint64_t kRunning = 0;   // on a CPU or in a run queue
inline constexpr std::uint64_t kParked = 1;    // suspended in park(); only unpark revives it
inline constexpr std::uint64_t kNotified = 2;  // running, and its next park() returns at once
inline constexpr std::uint64_t kParkMask = 3;
inline constexpr std::uint64_t kCancel = 4;    // cancellation requested
inline constexpr std::uint64_t kLive = 8;      // the slot holds a live actor
inline constexpr std::uint64_t kExiting = 16;  // the body has ended; the slot frees soon
// kWatched: the actor has a supervision record (Actor::super: a watcher, a deadline, its
// own signal channel or monitors). Set only while alive, so the exit path, which reads
// the word as it sets kExiting, takes the supervision slow path exactly when needed.
inline constexpr std::uint64_t kWatched = 32;
// kTimedOut: the actor's SpawnOptions::deadline cancelled it (set with kCancel, in the
// same CAS); its watchers get Signal::Timeout.
inline constexpr std::uint64_t kTimedOut = 64;

// alive: the slot holds an actor whose body has not yet ended.
constexpr bool alive(std::uint64_t s) noexcept { return (s & kLive) && !(s & kExiting); }
constexpr std::uint32_t generation(std::uint64_t s) noexcept {
  return static_cast<std::uint32_t>(s >> 32);
}
constexpr std::uint64_t make(std::uint32_t gen, std::uint64_t flags) noexcept {
  return (std::uint64_t{gen} << 32) | flags;
}
}  // namespace state

struct SuperRecord;

class Actor {
 public:
  Context ctx;  // first: the switch path touches it on every switch
  Stack stack;
  std::atomic<std::uint64_t> state{state::make(1, 0)};

  // Run-queue links; guarded by the lock of the queue the actor is on. Relaxed atomics
  // only for TSan's sake: a stolen actor's links were last written under another
  // worker's lock, and that ordering reaches the new worker through fibers TSan is told
  // do not synchronise. Relaxed atomic access compiles to plain moves.
  std::atomic<Actor*> next{nullptr};
  std::atomic<Actor*> prev{nullptr};

  Scheduler* sched = nullptr;
  TaskBase* task = nullptr;  // owned reference while live
  std::uint32_t index = 0;   // slot number (fixed for the object's life)
  std::uint32_t free_next = 0;
  bool is_root = false;
  bool has_name = false;  // written under Scheduler::names_mu
  // SpawnOptions::migrate_on_preempt. Atomic (relaxed) for the reason next and prev are:
  // the worker that reads it is ordered after the spawn only through fiber switches.
  std::atomic<bool> migrate_on_preempt{false};
  // NoPreemptScope depth (preempt.hpp): written by the actor itself, read by the hook on
  // the same thread; travels with the actor across switches and workers.
  std::uint16_t no_preempt_depth = 0;

  // What a parked actor waits for (relaxed: written by the actor, read by dump_actors).
  std::atomic<WaitKind> wait_kind{WaitKind::None};
  // Whole timeslices used (preemptions), modulo 256 and clamped where a worker's pinned
  // list orders by it (Worker::pin). One byte: it fills padding (W8 counts every byte of
  // an actor). Relaxed atomic, as migrate_on_preempt.
  std::atomic<std::uint8_t> slices_used{0};
  // It spawned a child into a fresh queue (a busy worker's spawn) since it was last
  // pinned: Worker::pin puts it first in line, so that a spawn loop is not held back by
  // its own children. Padding too; relaxed, as slices_used.
  std::atomic<bool> spawned_since_pinned{false};
  std::atomic<const void*> wait_object{nullptr};
  std::atomic<std::int64_t> wait_until{kNoDeadline};  // steady_clock ns

  // The actor's name, owned by Scheduler::names (a side table: most actors have none, and
  // a std::string here would cost every parked actor 32 bytes). Null when unnamed. An
  // atomic pointer so that the overflow handler can read it without taking a lock.
  std::atomic<const char*> name{nullptr};

  // The actor's supervision record (supervision.hpp), or null: most actors are neither
  // watched nor watching, so the signal channel and the watcher lists live on the side
  // and cost every other actor one pointer. Written under the actor's supervision stripe
  // lock; non-null exactly while state has kWatched (until the exit path takes it).
  std::atomic<SuperRecord*> super{nullptr};

  std::uint32_t generation() const noexcept {
    return state::generation(state.load(std::memory_order_acquire));
  }
  Pid pid() const noexcept;
};

class Worker;

// actor_entry is the first function every actor runs (on its own stack, worker.cpp).
[[noreturn]] void actor_entry(void* actor);

// wake_actor makes a parked actor runnable: on `here` if it is a worker of the actor's
// runtime, else through the runtime's inject queue (actor.cpp).
void wake_actor(Actor* a, Worker* here) noexcept;

// cancel_actor sets the cancel flag (plus `extra`, e.g. kTimedOut) of the actor whose
// generation is `generation` and wakes it if parked. False if that actor has already
// ended (actor.cpp).
bool cancel_actor(Actor* a, std::uint32_t generation, Worker* here,
                  std::uint64_t extra = 0) noexcept;

}  // namespace smarm::detail
