// SPDX-License-Identifier: Apache-2.0
// detail/core.hpp — the few runtime entry points that public templates must call inline.
//
// Not part of the public API. Templates (spawn, JoinHandle, channels) are written against
// these declarations; their definitions live in src/core. Everything here is safe to call
// from any thread: outside an actor current_actor() is null and the blocking entry points
// report Errc::NotInActor (Errc::Forked in a forked child: not_in_actor below).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>

#include <smarm/error.hpp>
#include <smarm/pid.hpp>

namespace smarm {
struct SpawnOptions;
}

namespace smarm::detail {

class Actor;  // the runtime's control block for one green thread (src/core/actor.hpp)

// WaitKind says what a parked actor waits for (shown by debug::dump_actors()).
// kNoDeadline is "no deadline" in the timers' time base (steady_clock nanoseconds); it
// is what Deadline::max() converts to.
inline constexpr std::int64_t kNoDeadline = INT64_MAX;

enum class WaitKind : std::uint8_t { None, Recv, Send, Join, Sleep, Lock, Io, Select, Other };
const char* wait_kind_name(WaitKind k) noexcept;

// WaiterId names one actor for a later unpark: the actor plus the generation it had when
// it registered, so an unpark that arrives after the actor exited is a harmless no-op.
struct WaiterId {
  Actor* actor = nullptr;
  std::uint32_t generation = 0;
  explicit operator bool() const noexcept { return actor != nullptr; }
};

// current_actor() returns the actor running on this thread, or null. It is an opaque call
// (never cached across a context switch, which may move the caller to another thread).
Actor* current_actor() noexcept;
// current_waiter() is current_actor() plus its generation; null outside actors.
WaiterId current_waiter() noexcept;
// is_cancelled(a) says whether a has been asked to stop.
bool is_cancelled(const Actor* a) noexcept;

// park(kind, object, until) suspends the calling actor until unpark() or cancellation. It
// may return spuriously: callers re-check their condition in a loop. Must run in an
// actor. (kind, object, until) is the wait reason debug::dump_actors() shows; `until` is
// the wait's deadline in steady_clock nanoseconds, if it has one (kNoDeadline: none) — the
// caller arms its own timer, park only records it.
void park(WaitKind kind, const void* object, std::int64_t until = kNoDeadline) noexcept;
// not_in_actor(what) is the error of a call that needs an actor, made outside one:
// NotInActor with `what` as its message — or Forked, in a child forked from a process
// running a runtime, where no thread is an actor any more (src/core/fork.hpp).
// not_in_actor_code() is its code alone.
Error not_in_actor(const std::string& what);
Errc not_in_actor_code() noexcept;

// describe_current_exception() gives "<type>: <what()>" for the exception being handled
// (call it inside a catch block), the text of every Panicked error; *type_len, if given,
// receives the length of the "<type>" part.
std::string describe_current_exception(std::uint32_t* type_len = nullptr);

// unpark(w) makes w runnable if it is parked, or makes its next park() return at once if
// it is running. Callable from any thread; a stale w is ignored.
void unpark(WaiterId w) noexcept;

// TaskBase is the heap object a spawned actor shares with its JoinHandle: the type-erased
// body, its completion state and (in the derived JoinState<R>) its result. It is reference
// counted: one reference for the running actor, one for the handle.
class TaskBase {
 public:
  enum class Status : std::uint8_t { Running, Done, Panicked };

  TaskBase() = default;
  TaskBase(const TaskBase&) = delete;
  TaskBase& operator=(const TaskBase&) = delete;
  virtual ~TaskBase() = default;

  // run() executes the body on the actor's stack and stores its return value. Exceptions
  // propagate to the runtime's trampoline, which records them as a panic.
  virtual void run() = 0;

  void add_ref() noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() noexcept {
    // acq_rel: the last owner must see every write the others made before deleting.
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }

  Status status() const noexcept { return status_.load(std::memory_order_acquire); }
  const std::string& panic_message() const noexcept { return panic_message_; }
  // panic_exception() is the exception the body ended with (null unless Panicked).
  const std::exception_ptr& panic_exception() const noexcept { return panic_exception_; }
  Pid pid() const noexcept { return pid_; }

  // Fields below are written by the runtime (src/core/actor.cpp).
  // NOLINTBEGIN(readability-identifier-naming): public for the runtime, suffixed as private
  std::atomic<int> refs_{1};
  std::atomic<Status> status_{Status::Running};
  // The actor parked in join(), if any (WaiterId packed; see join_wait()).
  std::atomic<Actor*> joiner_{nullptr};
  std::atomic<std::uint32_t> joiner_generation_{0};
  // Length of the "<type>" part of panic_message_ ("<type>: <what()>"), so that
  // Signal::Panic can carry type and what() apart without parsing the message. Placed in
  // the padding after joiner_generation_: the tail padding after pid_ is where derived
  // JoinStates put their first member, and using it would grow every task by 8 bytes.
  std::uint32_t panic_type_len_ = 0;
  std::string panic_message_;
  std::exception_ptr panic_exception_;
  Pid pid_;
  // NOLINTEND(readability-identifier-naming)
};

// SpawnLink says whether spawn_task also makes the caller watch the child (spawn_linked):
// the link is in place before the child first runs, so no end of it can be missed.
enum class SpawnLink : std::uint8_t { None, Linked };

// spawn_task starts an actor running task->run(). On success the actor owns one new
// reference to task; on failure (ResourceExhausted, NotInActor) task is untouched.
Result<Pid> spawn_task(TaskBase* task, const SpawnOptions& options,
                       SpawnLink link = SpawnLink::None);

// JoinMode: a plain join gives up when the caller is cancelled (the strict rule); a
// supervisor shutting down because it was cancelled must still wait for its children.
enum class JoinMode : std::uint8_t { Cancellable, IgnoreCancel };

// join_wait parks the caller until task has finished. Returns NotInActor outside actors
// and Cancelled if the caller is cancelled first (the task keeps running), unless mode
// is IgnoreCancel.
Result<void> join_wait(TaskBase& task, JoinMode mode = JoinMode::Cancellable) noexcept;

// cancel_pid asks the actor to stop; StalePid if it has already exited.
Result<void> cancel_pid(const Pid& pid) noexcept;

}  // namespace smarm::detail
