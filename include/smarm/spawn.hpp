// SPDX-License-Identifier: Apache-2.0
// spawn.hpp — creating actors and waiting for them.
//
//   auto h = smarm::spawn([] { return 6 * 7; });   // runs on its own green thread
//   int v = h.join().value();                      // parks the caller until it ends
//
// spawn() never throws and never blocks: if the actor cannot be created, the handle's
// join() reports why (ResourceExhausted, NotInActor). try_spawn() reports it at once.
// A spawned child runs first (the parent resumes as soon as the child parks or ends),
// which keeps fan-out trees depth-first and their stacks hot.
#pragma once

#include <cstddef>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include <smarm/detail/core.hpp>
#include <smarm/error.hpp>
#include <smarm/pid.hpp>
#include <smarm/timer.hpp>

namespace smarm {

// SpawnOptions are per-actor settings. Zero means "the runtime's default".
struct SpawnOptions {
  // stack_size: the usable stack of this actor, rounded up to whole pages. Above
  // Config::kMaxStackSize (4 GiB) the spawn fails with InvalidArgument.
  std::size_t stack_size = 0;
  std::string name;  // shown in debug::dump_actors() and in crash reports
  // deadline: when it passes the runtime cancels the actor (cancel(pid)), and a watcher
  // (spawn_linked, monitor) gets Signal::Timeout instead of Exit or Panic. Deadline{} and
  // Deadline::max() mean none; a deadline already passed cancels the actor before it
  // first runs. Example: `.deadline = smarm::Clock::now() + 50ms`.
  Deadline deadline{};
  // migrate_on_preempt: when its timeslice ends, this actor may resume on another worker
  // (it is queued like a woken actor, where idle workers steal), instead of staying
  // pinned to its thread until it parks or yields. Only for code whose author vouches
  // that nothing thread-bound is held across an allocation (the preemption point): no
  // OS mutex held, no thread_local or errno address kept in a variable. Off by default.
  bool migrate_on_preempt = false;
};

template <class R>
class JoinHandle;

namespace detail {
// HandleAccess builds and joins handles for the runtime's own templates (spawn,
// spawn_linked, the supervisor); not for users.
struct HandleAccess {
  template <class R>
  static JoinHandle<R> make(TaskBase* task, Pid pid) {
    return JoinHandle<R>(task, pid);
  }
  template <class R>
  static JoinHandle<R> make(Error e) {
    return JoinHandle<R>(std::move(e));
  }
  template <class R>
  static Result<R> join(JoinHandle<R>& h, JoinMode mode) {
    return h.join_impl(mode);
  }
};
}  // namespace detail

namespace detail {
// ResultSlot<R> is a task with room for its result R (nothing for void).
template <class R>
class ResultSlot : public TaskBase {
 public:
  // take() moves the result out; only after status() == Done.
  Result<R> take() {
    if constexpr (std::is_void_v<R>) {
      return {};
    } else {
      return Result<R>(std::move(*result_));
    }
  }

 protected:
  std::conditional_t<std::is_void_v<R>, char, std::optional<R>> result_{};
};

// JoinState<F, R> adds the body F. The body is destroyed as soon as it has run, on the
// actor's own stack — not when the handle goes — so whatever it captured (a Sender, a
// lock guard) is released when the actor ends.
template <class F, class R>
class JoinState final : public ResultSlot<R> {
 public:
  explicit JoinState(F&& f) { f_.emplace(std::move(f)); }
  explicit JoinState(const F& f) { f_.emplace(f); }
  void run() override {
    struct Destroy {
      std::optional<F>& f;
      ~Destroy() { f.reset(); }
    } destroy{f_};
    if constexpr (std::is_void_v<R>) {
      std::invoke(std::move(*f_));
    } else {
      this->result_.emplace(std::invoke(std::move(*f_)));
    }
  }

 private:
  std::optional<F> f_;
};
}  // namespace detail

// JoinHandle<R> refers to a spawned actor and, once it ends, to its result. Move-only.
// Destroying a handle that was neither joined nor detached detaches the actor.
template <class R>
class JoinHandle {
 public:
  JoinHandle() = default;
  JoinHandle(JoinHandle&& o) noexcept
      : task_(std::exchange(o.task_, nullptr)), pid_(o.pid_), error_(std::move(o.error_)) {}
  JoinHandle& operator=(JoinHandle&& o) noexcept {
    if (this != &o) {
      reset();
      task_ = std::exchange(o.task_, nullptr);
      pid_ = o.pid_;
      error_ = std::move(o.error_);
    }
    return *this;
  }
  JoinHandle(const JoinHandle&) = delete;
  JoinHandle& operator=(const JoinHandle&) = delete;
  ~JoinHandle() { reset(); }

  // join() parks until the actor ends and returns its value, or Panicked (message
  // "<type>: <what()>"), or the spawn failure. A second join() is AlreadyJoined. If the
  // caller is cancelled while waiting, join() returns Cancelled and the handle stays
  // joinable. Outside an actor: NotInActor.
  Result<R> join() { return join_impl(detail::JoinMode::Cancellable); }

  // detach() lets the actor run on unobserved; its result is dropped.
  void detach() {
    reset();
    error_ = Error(Errc::AlreadyJoined, "join(): handle was detached");
  }

  // cancel() asks the actor to stop: its current park and every later blocking call
  // return Errc::Cancelled. Returns StalePid if it has already ended.
  Result<void> cancel() const {
    if (!task_) return Error(Errc::InvalidArgument, "cancel(): empty handle");
    return detail::cancel_pid(pid_);
  }

  // finished() says whether the actor has ended (never blocks).
  bool finished() const noexcept {
    return !task_ || task_->status() != detail::TaskBase::Status::Running;
  }
  bool joinable() const noexcept { return task_ != nullptr; }
  Pid pid() const noexcept { return pid_; }

 private:
  friend struct detail::HandleAccess;

  using State = detail::ResultSlot<R>;
  void reset() noexcept {
    if (task_) task_->release();
    task_ = nullptr;
  }

  Result<R> join_impl(detail::JoinMode mode) {
    if (!task_) return unexpected(error_);
    if (auto w = detail::join_wait(*task_, mode); !w) return unexpected(std::move(w).error());
    auto* t = task_;
    task_ = nullptr;
    error_ = Error(Errc::AlreadyJoined, "join(): handle already joined");
    struct Release {
      detail::TaskBase* t;
      ~Release() { t->release(); }
    } release{t};
    if (t->status() == detail::TaskBase::Status::Panicked)
      return unexpected(Error(Errc::Panicked, t->panic_message(), t->panic_exception()));
    return static_cast<State*>(t)->take();
  }

  JoinHandle(detail::TaskBase* task, Pid pid) : task_(task), pid_(pid) {}
  explicit JoinHandle(Error e) : error_(std::move(e)) {}

  detail::TaskBase* task_ = nullptr;
  Pid pid_{};
  // Why join() cannot wait: the spawn failure, or AlreadyJoined once joined or detached.
  // (Always constructed: a std::optional here trips GCC's -Wmaybe-uninitialized.)
  Error error_{Errc::AlreadyJoined};
};

namespace detail {
// spawn_handle is try_spawn with a choice of link (spawn_linked shares it).
template <class F>
auto spawn_handle(const SpawnOptions& options, F&& f, SpawnLink link)
    -> Result<JoinHandle<std::invoke_result_t<std::decay_t<F>>>> {
  using Fn = std::decay_t<F>;
  using R = std::invoke_result_t<Fn>;
  auto* task = new (std::nothrow) JoinState<Fn, R>(std::forward<F>(f));
  if (!task)
    return unexpected(Error(Errc::ResourceExhausted, "spawn(): out of memory for the task"));
  task->add_ref();  // one for the handle, one for the actor
  auto pid = spawn_task(task, options, link);
  if (!pid) {
    task->release();
    task->release();
    return unexpected(std::move(pid).error());
  }
  return HandleAccess::make<R>(task, *pid);
}
}  // namespace detail

// try_spawn(options, f) starts f on a new actor, or reports at once why it could not
// (ResourceExhausted, NotInActor when no runtime runs on this thread, InvalidArgument for
// a stack_size above Config::kMaxStackSize). f may be move-only.
template <class F>
auto try_spawn(const SpawnOptions& options, F&& f)
    -> Result<JoinHandle<std::invoke_result_t<std::decay_t<F>>>> {
  return detail::spawn_handle(options, std::forward<F>(f), detail::SpawnLink::None);
}
template <class F>
auto try_spawn(F&& f) -> Result<JoinHandle<std::invoke_result_t<std::decay_t<F>>>> {
  return try_spawn(SpawnOptions{}, std::forward<F>(f));
}

// spawn(options, f) is try_spawn whose failure is reported by the handle's join().
template <class F>
auto spawn(const SpawnOptions& options, F&& f)
    -> JoinHandle<std::invoke_result_t<std::decay_t<F>>> {
  using R = std::invoke_result_t<std::decay_t<F>>;
  auto r = try_spawn(options, std::forward<F>(f));
  if (!r) return detail::HandleAccess::make<R>(std::move(r).error());
  return std::move(*r);
}
template <class F>
auto spawn(F&& f) -> JoinHandle<std::invoke_result_t<std::decay_t<F>>> {
  return spawn(SpawnOptions{}, std::forward<F>(f));
}

// self() returns the calling actor's pid; an invalid Pid outside actors.
Pid self() noexcept;

// yield_now() lets other runnable actors run before the caller continues. Returns
// NotInActor outside actors and Cancelled if the caller has been cancelled.
Result<void> yield_now() noexcept;

// cancelled() says whether the calling actor has been asked to stop (false outside
// actors). Long loops that never block poll it.
bool cancelled() noexcept;

// cancel(pid) asks the actor to stop: its current park and every later blocking call
// return Errc::Cancelled. StalePid if it has already ended. Callable from any thread.
inline Result<void> cancel(const Pid& pid) noexcept { return detail::cancel_pid(pid); }

// is_alive(pid) says whether pid names an actor that has not yet ended.
bool is_alive(const Pid& pid) noexcept;

}  // namespace smarm
