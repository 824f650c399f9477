// SPDX-License-Identifier: Apache-2.0
// block_on_io.hpp — running blocking work (a library call that blocks, a DNS lookup, a
// slow disk) from an actor without blocking its worker.
//
//   auto addr = smarm::io::block_on_io([&] { return resolve(host); });   // Result<R>
//
// f runs on one of the runtime's blocking threads (started on demand, at most
// Config::blocking_threads; jobs queue in FIFO order beyond that), while the calling
// actor is parked. Its value comes back in the Result; an exception it throws is rethrown
// in the caller. f may use the caller's stack (capture by reference): once f has started,
// the caller waits until it has returned, even if it is cancelled meanwhile — the work
// cannot be abandoned halfway — and then gets f's result (a cancelled caller's next
// blocking call reports the cancellation). A caller cancelled while f is still queued
// (every blocking thread busy) takes it out of the queue: f never runs, and the call
// returns Cancelled at once. Shutdown cancels every actor, so run() waits only for jobs
// already running. Errors: NotInActor, Cancelled (f did not and will not run),
// ResourceExhausted (no blocking thread could be started).
//
// f runs on a plain thread, not an actor: it may use smarm only as any non-actor thread
// may (send on channels, cancel pids); a blocking smarm call there returns NotInActor.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <type_traits>
#include <utility>

#include <smarm/error.hpp>

namespace smarm::detail {
// run_blocking runs fn(arg) on the calling actor's runtime's blocking pool and parks the
// caller until it returned (src/io/blocking_pool.cpp).
Result<void> run_blocking(void (*fn)(void*) noexcept, void* arg) noexcept;
}  // namespace smarm::detail

namespace smarm::io {

template <class F>
auto block_on_io(F&& f) -> Result<std::invoke_result_t<std::decay_t<F>&>> {
  using R = std::invoke_result_t<std::decay_t<F>&>;
  struct Ctx {
    std::decay_t<F>& f;
    std::conditional_t<std::is_void_v<R>, bool, std::optional<R>> value{};
    std::exception_ptr error;
  };
  std::decay_t<F> fn(std::forward<F>(f));
  Ctx ctx{fn, {}, nullptr};
  auto r = detail::run_blocking(
      [](void* p) noexcept {
        auto& c = *static_cast<Ctx*>(p);
        try {
          if constexpr (std::is_void_v<R>) {
            std::invoke(c.f);
            c.value = true;
          } else {
            c.value.emplace(std::invoke(c.f));
          }
        } catch (...) {
          c.error = std::current_exception();
        }
      },
      &ctx);
  if (!r) return r.error();
  if (ctx.error) std::rethrow_exception(ctx.error);
  if constexpr (std::is_void_v<R>) {
    return {};
  } else {
    return Result<R>(std::move(*ctx.value));
  }
}

}  // namespace smarm::io
