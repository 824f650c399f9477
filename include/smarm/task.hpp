// SPDX-License-Identifier: Apache-2.0
// task.hpp — smarm::task<T>: C++20 coroutines that run on green threads (the coroutine
// facade over the stackful core).
//
//   smarm::task<int> next_doubled(smarm::Receiver<int>& rx) {
//     auto v = co_await rx.recv();        // parks this green thread until a value comes
//     if (!v) co_return -1;               // Closed, Cancelled, ...: the Result, as ever
//     co_await smarm::sleep_for(1ms);
//     co_return 2 * *v + co_await one();  // runs the task one() inline, on this thread
//   }
//
//   smarm::Result<int> r = next_doubled(rx).get();            // inside an actor: run here
//   smarm::JoinHandle<int> h = smarm::spawn(next_doubled(rx)); // on an actor of its own
//
// The model. A task's body only ever runs on a green thread: get() refuses to start it
// outside an actor, spawn() gives it an actor, and co_await can only be written inside
// another task. On a green thread, blocking is cheap and correct — only that green thread
// parks — so co_await in a task does not suspend the coroutine and return to an event
// loop, as it does in Asio: it performs the blocking call, and the whole stack of awaiting
// tasks waits on the actor's stack. There is no function colouring: a task may call any
// blocking function without co_await, and any stackful code may run a task with get().
//
// What co_await accepts in a task (the promise's await_transform; anything else is a
// compile error that says why):
// - The Result of a smarm call, e.g. co_await rx.recv(), tx.send(v), smarm::sleep_for(d),
//   m.lock(t), smarm::io::read(fd, buf, d), listener.accept(d), h.join(), yield_now().
//   The call has already run, parking this green thread while it waited; co_await hands
//   its Result over unchanged, errors included. `co_await rx.recv()` and `rx.recv()` do
//   the same thing inside a task: write whichever reads better. Other facade results opt
//   in with enable_co_await_value (below).
// - A task<U> rvalue: co_await child() runs child to completion inline, on this green
//   thread (no new actor), and yields its U. An exception it throws propagates out of the
//   co_await. Awaiting an empty task (moved from, or already run) throws BadResultAccess
//   (InvalidArgument): co_await t behaves as t.get().value() minus the Result wrapper.
// - Rejected: foreign awaitables (Asio's, std::suspend_always, ...), which would suspend
//   the task for real with nothing to resume it; and lvalues (co_await std::move(t):
//   awaiting consumes a task).
//
// Lifetime. A task is lazy and move-only: calling a task function allocates its frame and
// runs nothing until get(), co_await or spawn(). A task that is never run is destroyed
// with its frame (its parameters' destructors run; its body never does). Like every lazy
// coroutine, a task keeps references, not copies, of reference parameters and of a
// coroutine lambda's captures: take parameters by value, or keep what they refer to
// alive until the task has run (for a spawned task: until it is joined).
//
// Errors. get() returns NotInActor outside an actor, leaving the task untouched (run it
// later, from an actor), and InvalidArgument on an empty task. An exception thrown by the
// body propagates out of get() and out of co_await; a spawned task that throws ends its
// actor with a panic, which join() reports as Panicked ("<type>: <what()>") like any
// actor's. Cancellation is the actor's: once its actor is cancelled, the blocking calls
// a task makes return Cancelled, as they would anywhere.
#pragma once

#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include <smarm/detail/core.hpp>
#include <smarm/error.hpp>
#include <smarm/select.hpp>
#include <smarm/spawn.hpp>

namespace smarm {

template <class T = void>
class task;

// enable_co_await_value<V> says whether co_await in a task accepts a V (an rvalue) and
// yields it unchanged: the value is the outcome of a call that has already run. True for
// every Result; a facade type that is not a Result opts in by specialising it.
template <class V>
inline constexpr bool enable_co_await_value = false;
template <class T, class E>
inline constexpr bool enable_co_await_value<Result<T, E>> = true;
// select() has run by the time co_await sees its outcome, like any other smarm call.
template <class... Cases>
inline constexpr bool enable_co_await_value<Selected<Cases...>> = true;

namespace detail {

template <class>
inline constexpr bool kDependentFalse = false;

// ReadyValue<V> is the awaiter for a value co_await yields unchanged. It refers to the
// operand, a temporary that lives until the end of the co_await's full-expression.
template <class V>
struct ReadyValue {
  V&& value;
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  V await_resume() { return std::move(value); }
};

template <class U>
class TaskInline;

// TaskAccess lets the awaiter and the spawn body run a task without making run_inline()
// public (it has no actor check: callers guarantee they are on a green thread).
struct TaskAccess {
  template <class U>
  static U run(task<U>& t) {
    return t.run_inline();
  }
};

// task_stranded reports a task that suspended without finishing. await_transform only
// admits awaiters that never suspend, so this is a bug in smarm, not a user error.
[[noreturn]] inline void task_stranded() noexcept {
  std::fputs("smarm: a task suspended before it finished (an awaiter escaped await_transform)\n",
             stderr);
  std::abort();
}

// TaskPromiseBase holds what every task's promise shares: the lazy start, the final
// suspension, the exception, and the rules for co_await.
class TaskPromiseBase {
 public:
  // Lazy: the body starts when get(), co_await or spawn() first resumes it.
  std::suspend_always initial_suspend() const noexcept { return {}; }
  // Suspend at the end so that the owner can read the result before it frees the frame.
  std::suspend_always final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  // co_await <Result of a call>: the call has run; yield its Result unchanged.
  template <class V>
  requires enable_co_await_value<std::remove_cvref_t<V>> &&(!std::is_lvalue_reference_v<V>)
      ReadyValue<std::remove_cvref_t<V>> await_transform(V&& v) noexcept {
    return {std::move(v)};
  }

  // co_await <task>: run it inline on this green thread.
  template <class U>
  TaskInline<U> await_transform(task<U>&& t) noexcept {
    return TaskInline<U>(std::move(t));
  }

  // Everything else: say what co_await accepts here, and why not this.
  template <class A>
  void await_transform(A&&) {
    static_assert(kDependentFalse<A>,
                  "smarm::task: co_await accepts the Result of a smarm call (co_await "
                  "rx.recv()) or another task (co_await child()), as an rvalue (co_await "
                  "std::move(x) for a variable). Other awaitables could suspend the task "
                  "with nothing to resume it: call blocking functions directly instead "
                  "(the green thread parks).");
  }

  void rethrow_if_failed() const {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::exception_ptr exception_;
};

template <class T>
class TaskPromise final : public TaskPromiseBase {
 public:
  task<T> get_return_object() noexcept {
    return task<T>(std::coroutine_handle<TaskPromise>::from_promise(*this));
  }
  // U = T by default, so that `co_return {a, b};` builds a T.
  template <class U = T>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(v));
  }
  T take_value() { return std::move(*value_); }

 private:
  std::optional<T> value_;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
 public:
  task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take_value() const noexcept {}
};

// TaskInline<U> is what co_await on a task<U> becomes: it owns the task and runs it to
// completion when the awaiting coroutine asks for the value. It never suspends the
// awaiting coroutine: the child runs nested, as a function call would. (Not symmetric
// transfer: GCC emits the transfer as a tail call only when optimising without ASan, so
// at -O0 every co_await in a loop would leave a stack frame behind and a long loop would
// overflow the green thread's stack. A nested call costs one frame per *level* of
// awaiting, released when the child returns — the cost model of the stackful core.)
template <class U>
class TaskInline {
 public:
  explicit TaskInline(task<U>&& t) noexcept : task_(std::move(t)) {}
  bool await_ready() const noexcept { return true; }
  void await_suspend(std::coroutine_handle<>) const noexcept {}
  U await_resume() { return TaskAccess::run(task_); }

 private:
  task<U> task_;
};

// TaskActorBody<T> is the body of an actor spawned from a task.
template <class T>
class TaskActorBody {
 public:
  explicit TaskActorBody(task<T>&& t) noexcept : task_(std::move(t)) {}
  T operator()() { return TaskAccess::run(task_); }

 private:
  task<T> task_;
};

}  // namespace detail

// task<T> is a lazily started coroutine returning T (or nothing, for task<void>) that
// runs on the green thread of whoever runs it. Move-only. See the file comment.
template <class T>
class [[nodiscard]] task {
  static_assert(!std::is_reference_v<T>, "smarm::task<T>: T must not be a reference");
  static_assert(std::is_void_v<T> || std::is_move_constructible_v<T>,
                "smarm::task<T>: T must be move-constructible");

 public:
  using promise_type = detail::TaskPromise<T>;
  using value_type = T;

  // An empty task: get() reports InvalidArgument.
  task() noexcept = default;
  task(task&& o) noexcept : frame_(std::exchange(o.frame_, {})) {}
  task& operator=(task&& o) noexcept {
    if (this != &o) {
      reset();
      frame_ = std::exchange(o.frame_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  // Destroying a task that has not run frees its frame; its body never runs.
  ~task() { reset(); }

  // get() runs the task to completion on the calling actor's green thread (parking it
  // whenever the body blocks) and returns its value. The task is consumed: it is empty
  // afterwards. An exception thrown by the body propagates. Errors (the task is left
  // as it was): NotInActor outside an actor; InvalidArgument on an empty task.
  Result<T> get() {
    if (!frame_)
      return unexpected(Error(Errc::InvalidArgument,
                              "task::get(): the task is empty (moved from, or already run)"));
    if (!detail::current_actor())
      return unexpected(detail::not_in_actor("task::get() called outside an actor"));
    if constexpr (std::is_void_v<T>) {
      run_inline();
      return {};
    } else {
      return Result<T>(run_inline());
    }
  }

  // valid() says whether the task still has a body to run (not moved from, not run).
  bool valid() const noexcept { return static_cast<bool>(frame_); }

 private:
  friend promise_type;
  friend struct detail::TaskAccess;
  using Handle = std::coroutine_handle<promise_type>;

  explicit task(Handle h) noexcept : frame_(h) {}

  void reset() noexcept {
    if (auto h = std::exchange(frame_, {})) h.destroy();
  }

  // run_inline() resumes the body on the calling stack; since nothing inside a task
  // suspends except at its end, one resume() runs it to completion. The frame is freed
  // on the way out, value or exception. Precondition: on a green thread.
  T run_inline() {
    if (!frame_)
      throw BadResultAccess(Errc::InvalidArgument,
                            "co_await on an empty smarm::task (moved from, or already run)");
    struct Frame {
      Handle h;
      ~Frame() { h.destroy(); }
    } frame{std::exchange(frame_, {})};
    frame.h.resume();
    if (!frame.h.done()) detail::task_stranded();
    frame.h.promise().rethrow_if_failed();
    return frame.h.promise().take_value();
  }

  Handle frame_{};
};

inline task<void> detail::TaskPromise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<TaskPromise>::from_promise(*this));
}

// try_spawn(options, t) runs task t on a new actor (as try_spawn does a function): the
// handle's join() returns its value, or Panicked if it threw. Errors at once:
// InvalidArgument (an empty task), ResourceExhausted, NotInActor (no runtime on this
// thread). The task's frame moves to the actor and is freed when the actor ends.
template <class T>
Result<JoinHandle<T>> try_spawn(const SpawnOptions& options, task<T> t) {
  if (!t.valid())
    return unexpected(
        Error(Errc::InvalidArgument, "spawn(): the task is empty (moved from, or already run)"));
  return try_spawn(options, detail::TaskActorBody<T>(std::move(t)));
}
template <class T>
Result<JoinHandle<T>> try_spawn(task<T> t) {
  return try_spawn(SpawnOptions{}, std::move(t));
}

// spawn(options, t) is try_spawn whose failure is reported by the handle's join().
template <class T>
JoinHandle<T> spawn(const SpawnOptions& options, task<T> t) {
  auto r = try_spawn(options, std::move(t));
  if (!r) return detail::HandleAccess::make<T>(std::move(r).error());
  return std::move(*r);
}
template <class T>
JoinHandle<T> spawn(task<T> t) {
  return spawn(SpawnOptions{}, std::move(t));
}

}  // namespace smarm
