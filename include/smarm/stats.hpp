// SPDX-License-Identifier: Apache-2.0
// stats.hpp — counters a running runtime keeps, for tests, tuning and leak checks.
#pragma once

#include <cstdint>
#include <vector>

namespace smarm {

// WorkerStats are one worker thread's counters since the runtime started. Actors migrate
// between workers, so "alive" and "parked" are runtime-wide (see Stats).
struct WorkerStats {
  std::uint64_t spawned = 0;           // actors created by code running on this worker
  std::uint64_t exited = 0;            // actors that ended on this worker
  std::uint64_t context_switches = 0;  // switches made by this worker
  std::uint64_t parks = 0;             // parks that really suspended an actor
  std::uint64_t steals = 0;            // actors taken from another worker's queue
  std::uint64_t idle_sleeps = 0;       // times the worker went to sleep for lack of work
  std::uint64_t idle_wakeups = 0;      // times it was woken from that sleep
  std::uint64_t stacks_pooled = 0;     // hot stacks held in this worker's pool now
  // Channel locks taken the ordinary way (an atomic exchange) by actors on this worker; a
  // channel whose ends stay on one worker becomes biased to it and stops counting here.
  std::uint64_t channel_locks = 0;
  std::uint64_t channel_bias_revocations = 0;  // biases this worker had to take away
  std::uint64_t preemptions = 0;  // actors the allocator hook / SMARM_CHECK() switched out
  std::uint64_t idle_ns = 0;      // time spent idle (spinning for work or asleep), in ns
  // Samples in which the hand-off monitor found this worker blocked (no scheduling point
  // for three timeslices while running an actor) and served its timers, queue and I/O.
  std::uint64_t handoffs = 0;
};

struct Stats {
  std::vector<WorkerStats> workers;
  std::uint64_t actors_alive = 0;   // spawned and not yet ended
  std::uint64_t actors_parked = 0;  // suspended in park() now
  std::uint64_t stacks_in_use = 0;  // stacks held by live actors
  std::uint64_t stacks_pooled = 0;  // sum over workers
  std::uint64_t stack_slabs = 0;    // large mappings the stacks are carved from
  // Exited stacks whose pages are not given back to the system yet: up to 255 kept warm
  // for reuse, and full batches of 256 waiting for the reclaimer thread (LOOM, "Stacks").
  std::uint64_t stacks_held_exited = 0;
  std::uint64_t timers_pending = 0;    // deadlines being watched (sleeps and timed waits)
  std::uint64_t timer_memory = 0;      // bytes the timer heaps hold allocated
  std::uint64_t stalls = 0;            // stalls the stall detector reported (Config)
  std::uint64_t io_waits = 0;          // I/O operations actors wait on now (all backends)
  std::uint64_t blocking_threads = 0;  // threads block_on_io() has started
  // Supervision side records alive: actors that watch, are watched, have a deadline or
  // asked for signals() (each frees its record when it ends).
  std::uint64_t supervision_records = 0;
  // Bytes the rings of all channels in the process hold now, and the most they held at
  // once (process-wide: a channel belongs to no runtime). Values queued count here, so a
  // growing backlog shows; a drained ring gives its memory back (channel.hpp).
  std::uint64_t channel_buffer_bytes = 0;
  std::uint64_t channel_buffer_peak = 0;

  // total() sums the per-worker counters.
  WorkerStats total() const noexcept {
    WorkerStats t;
    for (const auto& w : workers) {
      t.spawned += w.spawned;
      t.exited += w.exited;
      t.context_switches += w.context_switches;
      t.parks += w.parks;
      t.steals += w.steals;
      t.idle_sleeps += w.idle_sleeps;
      t.idle_wakeups += w.idle_wakeups;
      t.stacks_pooled += w.stacks_pooled;
      t.channel_locks += w.channel_locks;
      t.channel_bias_revocations += w.channel_bias_revocations;
      t.preemptions += w.preemptions;
      t.idle_ns += w.idle_ns;
      t.handoffs += w.handoffs;
    }
    return t;
  }
};

// stats() returns the counters of the runtime the caller runs in (an empty Stats outside
// any runtime). Counters are read without stopping the workers: each is exact, the set is
// a near-simultaneous snapshot.
Stats stats();

}  // namespace smarm
