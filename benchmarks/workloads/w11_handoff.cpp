// SPDX-License-Identifier: Apache-2.0
// w11_handoff.cpp — W11, a worker blocked in a system call (BENCHMARKS.md "Under load").
//
// A 1 ms periodic sleeper and a pipe reader (fed a byte every 1 ms by a plain thread) are
// parked on one worker: the root spawns them and then the blocker, and a spawned child
// runs first on its parent's worker, so all three start on it. The blocker then holds
// that worker's OS thread for 500 ms (std::this_thread::sleep_for, as a blocking library
// call would). Metric: the longest gap either victim sees during the block, in ms —
// the median over 5 blocks; extra max= (the longest of the 5), floor_p99= (a plain
// thread's 1 ms sleep in the same run). Without hand-off the victims wait the whole
// 500 ms. result is 1 when every block ran and both victims woke after it. Target (issue
// 15, T=2, epoll, quiet machine): <= 20 ms. Smoke: one 50 ms block.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <smarm/smarm.hpp>

#include "sleep_floor.hpp"
#include "workloads.hpp"

namespace smarm::bench {
namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

// longest_gap is the longest time between consecutive wake-ups (and from the block's
// start to the first, and from the last to the block's end) within [from, to].
double longest_gap_ms(const std::vector<std::int64_t>& wakes, std::int64_t from, std::int64_t to) {
  std::int64_t prev = from, longest = 0;
  for (std::int64_t t : wakes) {
    if (t < from) continue;
    if (t > to) {
      longest = std::max(longest, t - prev);
      return static_cast<double>(longest) / 1e6;
    }
    longest = std::max(longest, t - prev);
    prev = t;
  }
  return static_cast<double>(std::max(longest, to - prev)) / 1e6;
}

// one_block runs the scenario once and returns the longest gap (ms), or a negative value
// with `failure` set.
double one_block(std::size_t threads, std::chrono::milliseconds block, std::string& failure) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
    failure = "pipe2 failed";
    return -1;
  }
  std::vector<std::int64_t> sleeper_wakes, reader_wakes;
  sleeper_wakes.reserve(4096);
  reader_wakes.reserve(4096);
  std::atomic<std::int64_t> block_from{0}, block_to{0};
  std::atomic<bool> stop{false};
  std::thread feeder([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const char b = 'x';
      ssize_t ignored = ::write(fds[1], &b, 1);
      (void)ignored;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto r = runtime::init(bench_config(threads)).run([&] {
    auto sleeper = spawn([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        if (!sleep_for(std::chrono::milliseconds(1))) return;
        sleeper_wakes.push_back(now_ns());
      }
    });
    auto reader = spawn([&] {
      std::byte buf[256];
      while (!stop.load(std::memory_order_relaxed)) {
        auto n = io::read(fds[0], buf, Clock::now() + std::chrono::milliseconds(100));
        if (n) reader_wakes.push_back(now_ns());
      }
    });
    auto blocker = spawn([&] {
      block_from.store(now_ns(), std::memory_order_relaxed);
      std::this_thread::sleep_for(block);  // the OS thread, not the actor: a blocking call
      block_to.store(now_ns(), std::memory_order_relaxed);
    });
    (void)blocker.join();
    (void)sleep_for(std::chrono::milliseconds(20));  // both victims wake after the block
    stop.store(true, std::memory_order_relaxed);
    (void)sleeper.join();
    (void)reader.join();
  });
  stop.store(true, std::memory_order_relaxed);
  feeder.join();
  ::close(fds[0]);
  ::close(fds[1]);
  if (!r) {
    failure = "run: " + r.error().message();
    return -1;
  }
  const std::int64_t from = block_from.load(), to = block_to.load();
  auto woke_after = [to](const std::vector<std::int64_t>& w) {
    return !w.empty() && w.back() > to;
  };
  if (from == 0 || !woke_after(sleeper_wakes) || !woke_after(reader_wakes)) {
    failure = "a victim never woke after the block";
    return -1;
  }
  return std::max(longest_gap_ms(sleeper_wakes, from, to), longest_gap_ms(reader_wakes, from, to));
}

Sample run_once(std::size_t threads, int blocks, std::chrono::milliseconds block) {
  Sample s;
  SleepFloor floor;
  std::vector<double> gaps;
  for (int i = 0; i < blocks; ++i) {
    std::string failure;
    const double g = one_block(threads, block, failure);
    if (g < 0) {
      s.failure = failure;
      return s;
    }
    gaps.push_back(g);
  }
  floor.stop();
  s.result = 1;
  s.metric = percentile(gaps, 0.5);
  s.extra.push_back({"max", percentile(gaps, 1.0), 2});
  s.extra.push_back({"floor_p99", floor.p99_ms(), 3});
  return s;
}

}  // namespace

void run_w11_handoff(Reporter& rep, std::size_t threads) {
  const bool smoke = rep.smoke();
  const int blocks = smoke ? 1 : 5;
  const std::chrono::milliseconds block(smoke ? 50 : 500);
  const std::vector<Case> cases{{"W11", "smarm", threads, "ms", 1, [threads, blocks, block] {
                                   return run_once(threads, blocks, block);
                                 }}};
  for (const Summary& line : rep.measure(cases)) rep.print(line);
}

}  // namespace smarm::bench
