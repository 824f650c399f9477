// SPDX-License-Identifier: Apache-2.0
// stall_detector.cpp — see stall_detector.hpp.
#include "core/stall_detector.hpp"

#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include <smarm/pid.hpp>

#include "core/actor.hpp"
#include "core/preempt.hpp"
#include "core/scheduler.hpp"
#include "core/thread_backtrace.hpp"
#include "core/trace.hpp"
#include "core/worker.hpp"

namespace smarm::detail {

namespace {

std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// thread_cpu_ns is the CPU time thread t has used, or -1 if it cannot be read.
std::int64_t thread_cpu_ns(pthread_t t) noexcept {
  clockid_t clock;
  if (pthread_getcpuclockid(t, &clock) != 0) return -1;
  timespec ts;
  if (clock_gettime(clock, &ts) != 0) return -1;
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::uint64_t heartbeat_of(const Worker& w) noexcept {
  return w.switches.get() + w.kept_running.get();
}

// How long the watchdog waits for a stalled worker to answer the backtrace signal.
constexpr std::chrono::milliseconds kBacktraceTimeout{200};

}  // namespace

std::chrono::nanoseconds stall_threshold_of(const Config& config) noexcept {
  double slice_us = static_cast<double>(config.timeslice_us());
  if (config.timeslice_cycles() != 0)
    slice_us = static_cast<double>(config.timeslice_cycles()) / ticks_per_us();
  // Never below kMinStallThreshold: a tiny timeslice (tests use one cycle) must not turn
  // every scheduling hiccup into a report.
  return std::max<std::chrono::nanoseconds>(std::chrono::nanoseconds(static_cast<std::int64_t>(
                                                slice_us * 1000.0 * config.stall_threshold())),
                                            kMinStallThreshold);
}

StallDetector::StallDetector(Scheduler& s)
    : sched_(s),
      threshold_(stall_threshold_of(s.config())),
      // Sampling a quarter of the threshold bounds how late (and how short) a report can
      // be; the floor keeps a tiny threshold from turning the watchdog into a busy loop.
      period_(std::max<std::chrono::nanoseconds>(threshold_ / 4, std::chrono::milliseconds(1))),
      watches_(s.workers.size()) {
  prepare_thread_backtraces();
  thread_ = std::thread([this] { loop(); });
}

StallDetector::~StallDetector() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StallDetector::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (cv_.wait_for(lock, period_, [this] { return stop_; })) return;
    lock.unlock();
    const std::int64_t now = steady_ns();
    for (std::size_t i = 0; i < sched_.workers.size(); ++i)
      check(*sched_.workers[i], watches_[i], now);
    lock.lock();
  }
}

void StallDetector::check(Worker& w, Watch& watch, std::int64_t now) {
  const std::uint64_t beat = heartbeat_of(w);
  const bool running = w.current.load(std::memory_order_relaxed) != nullptr &&
                       w.os_tid.load(std::memory_order_acquire) != 0;
  if (beat != watch.heartbeat || !running) {
    // Progress (or nothing running): a new period of observation starts now.
    watch.heartbeat = running ? beat : ~std::uint64_t{0};
    watch.since_ns = now;
    watch.cpu_since_ns = running ? thread_cpu_ns(w.os_thread.load(std::memory_order_relaxed)) : -1;
    watch.reported = false;
    return;
  }
  const std::int64_t held = now - watch.since_ns;
  if (watch.reported || held < threshold_.count()) return;
  watch.reported = true;
  std::int64_t cpu = -1;
  if (watch.cpu_since_ns >= 0) {
    const std::int64_t cpu_now = thread_cpu_ns(w.os_thread.load(std::memory_order_relaxed));
    if (cpu_now >= 0) cpu = cpu_now - watch.cpu_since_ns;
  }
  report(w, beat, held, cpu);
}

void StallDetector::report(Worker& w, std::uint64_t beat, std::int64_t held_ns,
                           std::int64_t cpu_ns) {
  // Actor objects are type-stable (actor.hpp): reading one that has just been switched
  // out is safe; the heartbeat re-check below tells whether what was read belongs to the
  // stall.
  const Actor* a = w.current.load(std::memory_order_relaxed);
  if (!a) return;
  const Pid pid{sched_.id(), a->index, a->generation()};
  std::string name;
  {
    std::lock_guard lock(sched_.names_mu);
    if (a->has_name) name = a->name.load(std::memory_order_relaxed);
  }
  if (heartbeat_of(w) != beat) return;  // it moved on while we looked: no stall to report
  stalls_.fetch_add(1, std::memory_order_relaxed);
  trace_stall(sched_, w.index, (std::uint64_t{a->index} << 32) | pid.generation, held_ns);

  const pid_t tid = w.os_tid.load(std::memory_order_acquire);
  ThreadBacktrace bt;
  if (tid != 0)
    bt = capture_thread_backtrace(tid, kBacktraceTimeout);
  else
    bt.unavailable = "the worker has stopped";
  const bool ended_meanwhile = heartbeat_of(w) != beat;

  const long long held_ms = held_ns / 1'000'000;
  const long long threshold_ms = threshold_.count() / 1'000'000;
  std::string text = "smarm: stall: actor " + to_string(pid);
  if (!name.empty()) text += " '" + name + "'";
  text += " has held worker " + std::to_string(w.index) + " for " + std::to_string(held_ms) +
          " ms so far without reaching a scheduling point (threshold " +
          std::to_string(threshold_ms) + " ms)";
  if (cpu_ns >= 0) {
    const long long cpu_ms = cpu_ns / 1'000'000;
    text += "; " + std::to_string(cpu_ms) + " ms of it on the CPU";
    text += 2 * cpu_ns >= held_ns ? " (a loop that neither allocates nor calls SMARM_CHECK()?)"
                                  : " (blocked in a system call, or the machine is overloaded?)";
  }
  text += "\n";
  if (bt.frames.empty()) {
    text += "smarm: stall: no backtrace: " + bt.unavailable + "\n";
  } else {
    text +=
        "smarm: stall: backtrace of worker " + std::to_string(w.index) +
        (ended_meanwhile ? " (the stall ended while it was taken: it may show later code)" : "") +
        ", innermost first:\n";
    for (std::size_t i = 0; i < bt.frames.size(); ++i)
      text += "  #" + std::to_string(i) + " " + bt.frames[i] + "\n";
  }
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

}  // namespace smarm::detail
