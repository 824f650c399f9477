// SPDX-License-Identifier: Apache-2.0
// sleep_floor.hpp — the machine's own lateness for a 1 ms sleep, measured beside a
// latency workload (W7c, W11, TL1M) in the same run.
//
// A plain std::thread (no runtime) sleeps 1 ms in a loop while the workload runs and
// records how late each wake-up is: what the kernel and the host give any program now.
// A runtime's lateness is only meaningful next to it: on a loaded or shared machine the
// floor itself moves. Printed as floor_p99= (ms) after the workload's own figures.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace smarm::bench {

// percentile(v, p) is the p-quantile of v (nearest rank), 0 for an empty v.
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

class SleepFloor {
 public:
  SleepFloor() : thread_([this] { loop(); }) {}
  ~SleepFloor() { stop(); }
  SleepFloor(const SleepFloor&) = delete;
  SleepFloor& operator=(const SleepFloor&) = delete;

  // stop ends the thread; p99_ms() is valid afterwards.
  void stop() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
  }
  double p99_ms() const { return percentile(late_ms_, 0.99); }

 private:
  void loop() {
    using Clock = std::chrono::steady_clock;
    while (!stop_.load(std::memory_order_relaxed)) {
      const auto deadline = Clock::now() + std::chrono::milliseconds(1);
      std::this_thread::sleep_until(deadline);
      late_ms_.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - deadline).count());
    }
  }

  std::atomic<bool> stop_{false};
  std::vector<double> late_ms_;  // the thread's own until stop() joined it
  std::thread thread_;           // last: started once the rest is ready
};

}  // namespace smarm::bench
