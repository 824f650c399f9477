// SPDX-License-Identifier: Apache-2.0
// handoff_monitor.hpp (private) — HandoffMonitor: serves a worker that is blocked outside
// the runtime.
//
// An actor that makes a blocking system call (a sleep, a blocking read, a library call
// that waits) holds its worker's OS thread. What is parked on that worker — its timers,
// the I/O registered with its epoll instance, the actors queued on it — used to wait the
// whole time, while another worker idled. Go's sysmon hands such a P to another thread;
// here a monitor thread watches the workers' heartbeats (their switch and kept-running
// counters) every millisecond, and when a worker that runs an actor has not reached a
// scheduling point for three timeslices, it fires that worker's expired timers, polls its
// epoll instance and moves its queued actors to the inject queue, where the other workers
// take them — every sample, until the worker moves again. Only locked structures are
// touched (the timer wheel, the run queue, the epoll backend's descriptor table): the
// blocked worker's pinned actors, counters, trace ring and stack pool stay its own.
// On io_uring, I/O parked on a blocked worker waits for it (Backend::
// poll_for_blocked_owner: a SINGLE_ISSUER ring accepts only its owner).
//
// Independent of Config::stall_detector (which only reports). It costs nothing when the
// runtime is idle: once every worker sleeps, the monitor sleeps too until one wakes.
#pragma once

#include <atomic>
#include <cstdint>
#include <latch>
#include <thread>
#include <vector>

namespace smarm::detail {

class Scheduler;

class HandoffMonitor {
 public:
  explicit HandoffMonitor(Scheduler& sched) noexcept : sched_(sched) {}
  ~HandoffMonitor() { stop(); }
  HandoffMonitor(const HandoffMonitor&) = delete;
  HandoffMonitor& operator=(const HandoffMonitor&) = delete;

  // start runs the monitor thread (once the workers exist); it names itself, then arrives
  // at `started` with the workers (Scheduler::run). stop ends and joins it.
  void start(std::latch& started);
  void stop() noexcept;
  // worker_awake is called by a worker that leaves its idle sleep: it wakes the monitor
  // if the monitor sleeps because every worker did. One relaxed load otherwise.
  void worker_awake() noexcept;

 private:
  void loop(std::latch& started);
  // sleep_while_all_idle parks the monitor while every worker sleeps; false when stopping.
  bool sleep_while_all_idle();

  Scheduler& sched_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  // 1 while the monitor sleeps because every worker does (a futex word).
  std::atomic<std::uint32_t> asleep_{0};
};

}  // namespace smarm::detail
