// SPDX-License-Identifier: Apache-2.0
// supervision.hpp — the runtime side of signal.hpp: who watches whom, and the exit path
// that tells them.
//
// Every actor that takes part in supervision (it is watched, watches, has a deadline or
// asked for signals()) has one SuperRecord, allocated on first need and pointed to by
// Actor::super; the actor's state word then has kWatched. Everyone else pays one null
// pointer. The record is freed by its actor's exit path.
//
// Locking: a record's `watchers` list, and the creation of a record for an actor, are
// guarded by that actor's *stripe lock* (one of 64 spin locks per runtime, by slot index).
// The exit path sets kExiting first and then takes the stripe lock to take the record;
// monitor() takes the same lock and checks, under it, that the target is still alive.
// So a monitor racing with its target's end has exactly one outcome: either it is
// registered before the exit path takes the list (and its signal is sent), or it sees
// the target ended (StalePid). Nobody holds two stripe locks at once.
//
// The rest of a record (its signal channel and the list of actors it watches) is touched
// only by its own actor — or by its spawner before the actor first runs — and needs no lock.
// Watcher entries (and a target's record) are allocated before a stripe lock is taken;
// only the timer heap may grow under one, when a deadline is armed. Signals are sent
// after the lock is released: sending allocates (a Panic's strings, the channel's ring).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <smarm/detail/spinlock.hpp>
#include <smarm/signal.hpp>

#include "core/actor.hpp"
#include "core/timer_wheel.hpp"

namespace smarm::detail {

class Worker;

// WatchEntry is one watcher of the record's actor: where its signal goes. Intrusive, so
// that linking one under the stripe lock allocates nothing.
struct WatchEntry {
  WatchEntry* next = nullptr;
  std::uint64_t ref = 0;  // the MonitorRef id (spawn_linked makes one too)
  Sender<Signal> to;      // the watcher's signal channel; a send fails once it has ended
};

// WatchLink is one actor the record's actor watches (to unlink at its end, or demonitor).
struct WatchLink {
  Actor* target = nullptr;
  std::uint32_t generation = 0;
  std::uint64_t ref = 0;
};

struct SuperRecord {
  // Guarded by the owner's stripe lock: the actors to tell when the owner ends.
  WatchEntry* watchers = nullptr;
  // The owner's SpawnOptions::deadline (reason Cancel), armed iff deadline.owner is set;
  // written by the spawner under the stripe lock before the owner first runs.
  TimerEntry deadline;
  // Owner-only: its signal channel (made on first need) and the actors it watches. The
  // Sender stays here so that recv() on signals() never sees Closed while the owner lives.
  bool has_channel = false;
  Sender<Signal> tx;
  Receiver<Signal> rx;
  std::vector<WatchLink> watching;
  std::size_t prune_at = 16;  // watching.size() that triggers dropping ended targets
};

// Supervision is one runtime's share of it: the stripe locks, the monitor-ref counter and
// the record count (Stats::supervision_records).
class Supervision {
 public:
  static constexpr std::size_t kStripes = 64;

  SpinLock& stripe(const Actor* a) noexcept { return stripes_[a->index % kStripes].lock; }
  std::uint64_t next_ref() noexcept {
    return refs_.fetch_add(1, std::memory_order_relaxed) + 1;  // uniqueness only
  }
  std::uint64_t records() const noexcept { return records_.load(std::memory_order_relaxed); }
  void record_made() noexcept { records_.fetch_add(1, std::memory_order_relaxed); }
  void record_freed() noexcept { records_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  struct alignas(64) Stripe {  // one line each: exits on two workers do not share a line
    SpinLock lock;
  };
  Stripe stripes_[kStripes];
  std::atomic<std::uint64_t> refs_{0};
  std::atomic<std::uint64_t> records_{0};
};

// SpawnSupervision is what spawn_task prepares before it creates a child that is linked
// or has a deadline: everything that may allocate or fail, done before the child exists,
// so that attaching it afterwards cannot fail.
struct SpawnSupervision {
  bool linked = false;
  std::int64_t deadline_ns = kNoDeadline;  // kNoDeadline: none
  SuperRecord* record = nullptr;           // the child's record, if it needs a fresh one
  WatchEntry* entry = nullptr;             // the parent's watch entry (linked)
  SpawnSupervision() = default;
  SpawnSupervision(const SpawnSupervision&) = delete;
  SpawnSupervision& operator=(const SpawnSupervision&) = delete;
  ~SpawnSupervision();  // frees whatever attach_spawn did not use
};

// prepare_spawn fills `prep` for a child of `parent` spawned with `deadline` (Deadline{}
// or max: none) and `link`. Throws only std::bad_alloc. Returns false when the child
// needs no supervision at all (the common case: nothing allocated).
bool prepare_spawn(Actor* parent, Deadline deadline, SpawnLink link, SpawnSupervision& prep);
// attach_spawn links the freshly created (not yet running) child: record, watcher entry,
// deadline timer on w's heap. Never fails.
void attach_spawn(Actor* parent, Actor* child, Worker* w, SpawnSupervision& prep) noexcept;

// supervision_exit is the exit path of an actor whose state had kWatched when it set
// kExiting (`was`): takes its record, removes its deadline, sends its signal to every
// watcher, removes its own monitors from their targets and frees the record. Runs on the
// exiting actor's stack, before its completion is published (worker.cpp).
void supervision_exit(Actor* self, TaskBase& task, TaskBase::Status status,
                      std::uint64_t was) noexcept;

}  // namespace smarm::detail
