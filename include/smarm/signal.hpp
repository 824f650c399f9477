// SPDX-License-Identifier: Apache-2.0
// signal.hpp — supervision: hearing that another actor has ended.
//
//   auto h = smarm::spawn_linked([] { work(); });     // or: smarm::monitor(pid)
//   smarm::Signal s = smarm::signals().recv().value(); // parks until a watched actor ends
//   if (auto* p = std::get_if<smarm::Signal::Panic>(&s.event)) log(p->type, p->what);
//
// Opt-in: an actor hears about another's end only if it asked, by spawning it with
// spawn_linked() or by monitor(pid). Each end then reaches every watcher as one Signal on
// the watcher's own signal channel, signals(): Exit (the body returned), Panic (it threw:
// the exception's type and what()), or Timeout (its SpawnOptions::deadline passed and
// cancelled it, whatever it did after). Actors that never ask get nothing, and an actor
// that never calls signals() or monitor() owns no channel at all.
//
// Ordering: a watched actor's signals are queued after its pid has gone stale
// (is_alive() is false) and before its JoinHandle::join() returns. A signal to a watcher
// that has ended is dropped, and a watcher's end removes its monitors from their targets,
// so nothing piles up. Links are one-way: unlike Erlang's links, an actor's end never
// cancels the actors linked to it (a Supervisor does that explicitly).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include <smarm/channel.hpp>
#include <smarm/error.hpp>
#include <smarm/pid.hpp>
#include <smarm/spawn.hpp>

namespace smarm {

// Signal is the end of a watched actor, as told to one of its watchers.
struct Signal {
  struct Exit {  // the body returned (a cancelled actor that returned says Exit too)
    Pid pid;
  };
  struct Panic {  // the body threw; type is demangled ("std::runtime_error")
    Pid pid;
    std::string type, what;
  };
  struct Timeout {  // SpawnOptions::deadline passed and cancelled it
    Pid pid;
  };
  std::variant<Exit, Panic, Timeout> event;

  // pid() is the ended actor, whichever the event.
  // NOLINTNEXTLINE(bugprone-exception-escape): only a valueless event throws; smarm makes none
  Pid pid() const noexcept {
    return std::visit([](const auto& e) { return e.pid; }, event);
  }
};

// MonitorRef names one monitor(), for demonitor().
struct MonitorRef {
  Pid target;
  std::uint64_t id = 0;  // unique in its runtime; 0: no monitor
  bool valid() const noexcept { return id != 0; }
  friend bool operator==(const MonitorRef&, const MonitorRef&) = default;
};

// signals() is the calling actor's signal channel: where the ends of the actors it
// watches arrive. Made on first use (an actor that never watches anything pays nothing).
// Receive with recv() / recv_for() / try_recv(); recv() never reports Closed while the
// actor lives (Cancelled, like every blocking call, once it is cancelled). Do not move
// from it: signals arrive in the actor's own receiver, and a moved-from one stays empty.
// Outside an actor it returns an empty receiver of the calling thread: recv() reports
// NotInActor and try_recv() Closed.
Receiver<Signal>& signals();

// monitor(pid) makes the calling actor a watcher of pid: when pid ends, one Signal
// arrives on signals(). Each call is one monitor (two calls, two signals).
// Errors: StalePid when pid has already ended — then no signal comes: a monitor either
// succeeds and its signal will come, or fails with StalePid, never both and never
// neither (unlike Erlang's monitor of a dead process, which delivers 'noproc' at once);
// InvalidArgument for the caller's own pid, an invalid pid, or a pid of another runtime
// that is still running (StalePid once that runtime has ended); NotInActor outside an
// actor. Never parks.
Result<MonitorRef> monitor(const Pid& pid);

// demonitor(ref) removes a monitor made by the calling actor. Ok: removed before its
// target ended, so no signal will come from it. StalePid: the target had already ended
// and its signal is queued (or about to be) on signals(); it is not withdrawn.
// InvalidArgument: ref is not a live monitor of the caller (already removed, or made by
// another actor). NotInActor outside an actor. Never parks.
Result<void> demonitor(const MonitorRef& ref);

// try_spawn_linked(options, f) is try_spawn() that also makes the caller a watcher of
// the child, before the child first runs: whatever the child does, even ending at once,
// its end reaches signals(). Errors: those of try_spawn().
template <class F>
auto try_spawn_linked(const SpawnOptions& options, F&& f)
    -> Result<JoinHandle<std::invoke_result_t<std::decay_t<F>>>> {
  return detail::spawn_handle(options, std::forward<F>(f), detail::SpawnLink::Linked);
}
template <class F>
auto try_spawn_linked(F&& f) -> Result<JoinHandle<std::invoke_result_t<std::decay_t<F>>>> {
  return try_spawn_linked(SpawnOptions{}, std::forward<F>(f));
}

// spawn_linked(options, f) is try_spawn_linked whose failure is reported by join() (and
// then no signal comes).
template <class F>
auto spawn_linked(const SpawnOptions& options, F&& f)
    -> JoinHandle<std::invoke_result_t<std::decay_t<F>>> {
  using R = std::invoke_result_t<std::decay_t<F>>;
  auto r = try_spawn_linked(options, std::forward<F>(f));
  if (!r) return detail::HandleAccess::make<R>(std::move(r).error());
  return std::move(*r);
}
template <class F>
auto spawn_linked(F&& f) -> JoinHandle<std::invoke_result_t<std::decay_t<F>>> {
  return spawn_linked(SpawnOptions{}, std::forward<F>(f));
}

}  // namespace smarm
