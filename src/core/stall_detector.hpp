// SPDX-License-Identifier: Apache-2.0
// stall_detector.hpp — the watchdog for what preemption cannot catch.
//
// The allocator hook and SMARM_CHECK() switch out an actor whose timeslice is used up,
// but only when the actor allocates or calls SMARM_CHECK(). A loop that does neither, or
// a blocking system call made from an actor, holds its worker until it ends, and every
// actor queued behind it waits. StallDetector is a thread per runtime that notices: each
// worker's heartbeat (its switch count plus the scheduling points where the running actor
// kept the worker) must move while an actor runs on it. When it has not moved for
// `stall_threshold` timeslices, the detector reports the stall once: the actor's pid and
// name, how long, how much of it was on the CPU (a busy loop, or a blocked system call),
// and a backtrace of the worker — to stderr, to the trace, and in stats().stalls.
//
// It costs the workers nothing: they only bump counters they keep anyway. Time is
// measured by the watchdog's own sampling, so a reported duration is a lower bound that
// may be short by one sampling period (a quarter of the threshold at most).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include <smarm/config.hpp>

namespace smarm::detail {

class Scheduler;
class Worker;

class StallDetector {
 public:
  // Starts the watchdog thread for s, whose Config says the threshold.
  explicit StallDetector(Scheduler& s);
  // Stops and joins it.
  ~StallDetector();
  StallDetector(const StallDetector&) = delete;
  StallDetector& operator=(const StallDetector&) = delete;

  std::uint64_t stalls() const noexcept { return stalls_.load(std::memory_order_relaxed); }
  std::chrono::nanoseconds threshold() const noexcept { return threshold_; }

 private:
  // What the watchdog last saw of one worker.
  struct Watch {
    std::uint64_t heartbeat = ~std::uint64_t{0};
    std::int64_t since_ns = 0;      // when that heartbeat was first seen
    std::int64_t cpu_since_ns = 0;  // the worker thread's CPU time then (-1: unknown)
    bool reported = false;          // this stall was reported already
  };

  void loop();
  void check(Worker& w, Watch& watch, std::int64_t now_ns);
  void report(Worker& w, std::uint64_t heartbeat, std::int64_t held_ns, std::int64_t cpu_ns);

  Scheduler& sched_;
  const std::chrono::nanoseconds threshold_;
  const std::chrono::nanoseconds period_;
  std::vector<Watch> watches_;
  std::atomic<std::uint64_t> stalls_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// stall_threshold_of is the Config's stall threshold as a duration, at least
// kMinStallThreshold.
inline constexpr std::chrono::milliseconds kMinStallThreshold{10};
std::chrono::nanoseconds stall_threshold_of(const Config& config) noexcept;

}  // namespace smarm::detail
