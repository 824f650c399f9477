// SPDX-License-Identifier: Apache-2.0
// trace.hpp — timeline tracing: user events (SMARM_TRACE) and the kinds of event recorded.
//
// Tracing exists only in a build configured with -DSMARM_TRACING=ON, which adds the
// compile definition SMARM_TRACING=1 to smarm::smarm and to everything that links it
// (so the library and its users always agree). Then every worker records what it does —
// which actor ran when, spawns, exits, parks, wake-ups, steals — in a fixed-size ring of
// its own (the oldest events are overwritten), and a runtime started with
// SMARM_TRACE_FILE=<path> in the environment writes the rings at shutdown as Chrome
// trace-event JSON: one track per worker, one slice per actor run, an instant per event.
// Open the file in https://ui.perfetto.dev or chrome://tracing. The first runtime of a
// process writes <path>, later ones (with the same path) <path>.1, <path>.2, ...
// SMARM_TRACE_EVENTS=<n> sets the ring size (events per worker, default 65536).
//
//   SMARM_TRACE("cache miss");          // an instant event named "cache miss"
//   SMARM_TRACE("queue depth", depth);  // the same, with an integer value in its args
//
// The name must be a string literal (the ring keeps only the pointer; it is read when the
// runtime shuts down). The value is converted to std::int64_t. An event is recorded on the
// track of the worker running the caller, inside the slice of the calling actor; called
// from a thread that is no worker of a runtime, it is dropped.
//
// Without SMARM_TRACING, SMARM_TRACE(...) expands to ((void)0): its arguments are not
// evaluated (any side effect in them does not happen) and not even type-checked, exactly
// like assert() under NDEBUG. Keep side effects out of them.
#pragma once

#include <cstddef>
#include <cstdint>

namespace smarm::trace {

// enabled says whether this build records events.
// NOLINTBEGIN(readability-identifier-naming): public API, a trait-like std-style name
#if defined(SMARM_TRACING)
inline constexpr bool enabled = true;
#else
inline constexpr bool enabled = false;
#endif
// NOLINTEND(readability-identifier-naming)

// EventKind is what one recorded event says. Preempt, Stall and IoWait are recorded by
// the parts of the runtime that produce them (allocator-driven preemption, the stall
// watchdog, the I/O layer); the others by the scheduler.
enum class EventKind : std::uint8_t {
  Switch,   // a worker switched to an actor (or to its scheduler loop): slice boundaries
  Spawn,    // an actor was created (by its parent, or the root by run())
  Exit,     // an actor's body ended (normally or by a panic)
  Park,     // an actor suspended itself to wait (recv, join, sleep, lock, ...)
  Unpark,   // an actor was woken (or told that its next park returns at once)
  Steal,    // a worker took an actor from another worker's queue
  Preempt,  // an actor was preempted (it ran past its timeslice)
  Stall,    // an actor ran long without reaching a scheduling point
  IoWait,   // an actor started waiting for a file descriptor
  User,     // SMARM_TRACE()
};

// event_name(k) is the name the JSON writer gives events of kind k.
constexpr const char* event_name(EventKind k) noexcept {
  switch (k) {
    case EventKind::Switch:
      return "switch";
    case EventKind::Spawn:
      return "spawn";
    case EventKind::Exit:
      return "exit";
    case EventKind::Park:
      return "park";
    case EventKind::Unpark:
      return "unpark";
    case EventKind::Steal:
      return "steal";
    case EventKind::Preempt:
      return "preempt";
    case EventKind::Stall:
      return "stall";
    case EventKind::IoWait:
      return "io wait";
    case EventKind::User:
      return "user";
  }
  return "unknown";
}

}  // namespace smarm::trace

#if defined(SMARM_TRACING)

namespace smarm::detail {
// trace_user_event records a User event on the calling worker's ring (src/core/trace.cpp).
void trace_user_event(const char* name, std::int64_t value) noexcept;

// A reference to an array, so that a `const char*` (which may point at a temporary
// string) does not compile: the name is read long after the call.
template <std::size_t N>
inline void trace_user(const char (&name)[N], std::int64_t value = 0) noexcept {
  trace_user_event(name, value);
}
}  // namespace smarm::detail

#define SMARM_TRACE(...) ::smarm::detail::trace_user(__VA_ARGS__)

#else

#define SMARM_TRACE(...) ((void)0)

#endif
