// SPDX-License-Identifier: Apache-2.0
// handoff_monitor.cpp — see handoff_monitor.hpp.
#include "core/handoff_monitor.hpp"

#include <pthread.h>

#include <algorithm>
#include <ctime>

#include "core/preempt.hpp"
#include "core/scheduler.hpp"
#include "core/timer_wheel.hpp"
#include "core/worker.hpp"
#include "io/backend.hpp"

namespace smarm::detail {

namespace {
constexpr std::int64_t kSampleNs = 1'000'000;  // 1 ms between looks
constexpr int kBlockedAfterSlices = 3;
}  // namespace

void HandoffMonitor::start(std::latch& started) {
  stop_.store(false, std::memory_order_relaxed);
  thread_ = std::thread([this, &started] { loop(started); });
}

void HandoffMonitor::stop() noexcept {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_seq_cst);
  asleep_.store(0, std::memory_order_seq_cst);
  futex_wake(&asleep_);
  thread_.join();
}

void HandoffMonitor::worker_awake() noexcept {
  if (asleep_.load(std::memory_order_seq_cst) == 0) return;
  if (asleep_.exchange(0, std::memory_order_seq_cst) == 1) futex_wake(&asleep_);
}

bool HandoffMonitor::sleep_while_all_idle() {
  const int n = static_cast<int>(sched_.workers.size());
  while (!stop_.load(std::memory_order_relaxed) &&
         sched_.sleepers.load(std::memory_order_seq_cst) == n) {
    // Announce, re-check (a worker that woke in between saw asleep_ == 0 and did not
    // wake us: it is the re-check that sees it), then sleep until a worker wakes us.
    asleep_.store(1, std::memory_order_seq_cst);
    if (sched_.sleepers.load(std::memory_order_seq_cst) != n || stop_.load()) {
      asleep_.store(0, std::memory_order_relaxed);
      break;
    }
    futex_wait(&asleep_, 1, nullptr);
  }
  asleep_.store(0, std::memory_order_relaxed);
  return !stop_.load(std::memory_order_relaxed);
}

void HandoffMonitor::loop(std::latch& started) {
  pthread_setname_np(pthread_self(), "smarm-monitor");
  started.arrive_and_wait();
  const Config& config = sched_.config();
  const double slice_ns = config.timeslice_us() != 0
                              ? static_cast<double>(config.timeslice_us()) * 1000.0
                              : static_cast<double>(config.timeslice_cycles()) /
                                    std::max(ticks_per_us(), 1e-9) * 1000.0;
  const auto blocked_after_ns = static_cast<std::int64_t>(kBlockedAfterSlices * slice_ns);
  struct Seen {
    std::uint64_t beat = 0;
    std::int64_t since = 0;
  };
  std::vector<Seen> seen(sched_.workers.size());
  while (sleep_while_all_idle()) {
    timespec ts{0, kSampleNs};
    nanosleep(&ts, nullptr);
    const std::int64_t now = now_ns();
    for (std::size_t i = 0; i < sched_.workers.size(); ++i) {
      Worker& w = *sched_.workers[i];
      // The heartbeat: every switch, and every scheduling point where the running actor
      // kept the worker. A worker asleep or between actors is not blocked.
      const std::uint64_t beat = w.switches.get() + w.kept_running.get();
      const bool running = w.current.load(std::memory_order_relaxed) != nullptr &&
                           w.sleep_word.load(std::memory_order_relaxed) == 0;
      if (beat != seen[i].beat || !running) {
        seen[i] = {beat, now};
        continue;
      }
      if (now - seen[i].since < blocked_after_ns) continue;
      // Blocked: serve what is parked on it. Whatever is woken goes to the inject queue
      // (this thread is no worker), which wakes a sleeping worker to take it.
      w.handoffs.add();
      if (w.timers.earliest() <= now) w.timers.fire_expired(now);
      while (Actor* a = w.queue.steal_front()) sched_.inject(a);
      // Never-run actors stay never-run actors elsewhere (the second class): in the inject
      // queue, a woken one would wait behind them all. (A worker the OS deschedules for
      // three slices looks blocked too: under load this runs often.)
      if (Worker* to = sched_.least_loaded_other(&w))
        while (Actor* a = w.fresh.steal_front()) to->give(a);
      if (w.io && w.io->busy()) (void)w.io->poll_for_blocked_owner();
    }
  }
}

}  // namespace smarm::detail
