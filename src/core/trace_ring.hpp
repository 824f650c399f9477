// SPDX-License-Identifier: Apache-2.0
// trace_ring.hpp — where the tracer keeps its events (SMARM_TRACING builds only).
//
// TraceRing is a fixed-size ring of 32-byte events written by one thread only: each
// worker owns one (Worker::trace) and is the only thread that ever writes it, from
// whichever of its actors is running, so a record is a handful of plain stores — no lock,
// no atomic read-modify-write. When the ring is full the oldest events are overwritten.
// It is read once, at shutdown, after every worker thread has been joined.
//
// TraceState is the per-runtime part (Scheduler::trace): the clock calibration, the
// output path, the names of named actors (their own strings die with them), and one
// locked ring for events that happen on threads that are not this runtime's workers.
//
// See LOOM.md, "Tracing", for the design and trace.hpp for the hooks that fill the rings.
#pragma once

#if defined(SMARM_TRACING)

#include <x86intrin.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <smarm/trace.hpp>

#include "core/sanitizer.hpp"

namespace smarm::detail {

// TraceEvent is one recorded event. `subject` is the packed pid (slot index in the high
// 32 bits, generation in the low ones; 0 = none) of the actor the event is about, except
// for User events, where it is the name (a string literal's address).
//
//   kind     subject           arg                        aux
//   Switch   actor now running -                          -     (0: the scheduler loop)
//   Spawn    the child         the parent (packed pid)    -
//   Exit     the actor         -                          1 if it panicked
//   Park     the actor         -                          WaitKind
//   Unpark   the woken actor   1 if it was parked then    -
//   Steal    the stolen actor  the victim worker's index  -
//   Preempt  the actor         reason (caller-defined)    -
//   Stall    the actor         how long it held, ns       the worker's index (255: >= 255)
//   IoWait   the actor         the file descriptor        readiness wanted (caller-defined)
//   User     name pointer      the value                  -
//
// ts is a raw clock reading (TSC ticks or steady_clock ns, see TraceState), or 0 for an
// event that is always followed at once by a Switch on the same worker (spawn, exit,
// park, steal): the writer gives it the time of the next timed event of its ring, which
// is at most a scheduling decision later, and the record skips a clock read.
struct TraceEvent {
  std::uint64_t ts;
  std::uint64_t subject;
  std::uint64_t arg;
  trace::EventKind kind;
  std::uint8_t aux;
  std::uint8_t pad[6];
};
static_assert(sizeof(TraceEvent) == 32);

// trace_clock reads the tracer's clock: the TSC where it is invariant (a few ns, no
// syscall, no vDSO page), steady_clock nanoseconds elsewhere.
inline std::uint64_t trace_clock(bool tsc) noexcept {
  if (tsc) return __rdtsc();
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

class TraceRing {
 public:
  TraceRing() = default;
  TraceRing(const TraceRing&) = delete;
  TraceRing& operator=(const TraceRing&) = delete;

  // init gives the ring room for `capacity` events (a power of two). The memory is not
  // touched here: a page costs only when the first event lands on it.
  void init(std::size_t capacity, bool tsc) {
    events_ = std::make_unique_for_overwrite<TraceEvent[]>(capacity);
    mask_ = capacity - 1;
    tsc_ = tsc;
  }

  // record appends one event. Only the owning thread calls it, from several of its
  // fibers: worker-confined bookkeeping that TSan, told fibers do not synchronise, would
  // otherwise report (see SMARM_NO_TSAN).
  SMARM_NO_TSAN void record(trace::EventKind kind, std::uint64_t subject, std::uint64_t arg,
                            std::uint8_t aux, bool timed) noexcept {
    TraceEvent& e = events_[next_ & mask_];
    e.ts = timed ? trace_clock(tsc_) : 0;
    e.subject = subject;
    e.arg = arg;
    e.kind = kind;
    e.aux = aux;
    ++next_;
  }

  // snapshot copies the events still held, oldest first. Only once nobody records.
  SMARM_NO_TSAN std::vector<TraceEvent> snapshot() const {
    const std::uint64_t n = next_ < mask_ + 1 ? next_ : mask_ + 1;
    std::vector<TraceEvent> out;
    out.reserve(n);
    for (std::uint64_t i = next_ - n; i != next_; ++i) out.push_back(events_[i & mask_]);
    return out;
  }

  // recorded is how many events were ever recorded (those beyond the capacity are lost).
  SMARM_NO_TSAN std::uint64_t recorded() const noexcept { return next_; }

 private:
  std::unique_ptr<TraceEvent[]> events_;
  std::uint64_t mask_ = 0;
  std::uint64_t next_ = 0;  // events ever recorded; the next goes to next_ & mask_
  bool tsc_ = false;
};

struct TraceState {
  // Clock calibration: readings taken together at start-up, and again when writing, map
  // TSC ticks to steady_clock nanoseconds linearly.
  bool tsc = false;
  std::uint64_t clock0 = 0;
  std::int64_t ns0 = 0;
  std::size_t capacity = 0;  // events per worker ring
  std::string path;          // SMARM_TRACE_FILE at start-up; empty: write nothing

  // Guards external and names. Nothing allocates or frees memory while holding it (a
  // record is plain stores; a name's map node is made before and inserted without
  // allocating), so an allocator-driven preemption can never switch an actor out while
  // it holds the lock, and no other actor of its worker can then block on it.
  std::mutex mu;
  // Events from threads that are not this runtime's workers (a wake-up from a plain
  // thread or from another runtime's worker). Rare, so a lock is fine.
  TraceRing external;
  // Packed pid -> name. A std::map, not an unordered one: inserting a ready node never
  // allocates (no rehash).
  std::map<std::uint64_t, std::string> names;
};

}  // namespace smarm::detail

#endif  // SMARM_TRACING
