// SPDX-License-Identifier: Apache-2.0
// w8_memory.cpp — W8 / W8b memory per parked actor, BENCHMARKS.md.
//
// Spawn N actors (W8: 100,000; W8b: 1,000,000) that each block receiving from their own
// channel, on the DEFAULT config (default stack size, every stack guarded). Metric:
// (RSS with all N parked - RSS before) / N, in bytes per actor. Then the root sends each
// one message, joins all, drops its senders, and checks that RSS came back near its
// start. The result is the number of actors that received their message (expected N).
//
// What is counted: everything the runtime and the workload allocate per actor (stack
// pages, control block, task object, channel state). What is not: the root's own arrays
// of N senders and N join handles, which are sized and touched before "RSS before", and
// malloc's cache of memory freed by earlier runs, trimmed (malloc_trim) before it.
// With T=1 and every actor parking right after it counts itself, "N counted" means
// "N parked" (an actor leaves the CPU only by parking; the root runs only when none of
// them does).
//
// Extra fields: pte= is the growth of VmPTE (page-table memory, not part of RSS) per
// parked actor, in bytes; rss_after= is RSS after all joined minus RSS before, in bytes
// (the check fails when it exceeds max(25% of the parked growth, 2 MiB); it includes what
// malloc keeps cached of the freed task and channel objects); return_ms= is how long the
// runtime's background thread took to give the exited stacks' pages back (Stats::
// stacks_held_exited under 256; the wait gives up after 2 s), before rss_after is read.
// RSS is read
// from /proc/self/statm, VmPTE from /proc/self/status. Smoke: N = 1,000 and 5,000.
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include <smarm/smarm.hpp>

#include "workloads.hpp"

namespace smarm::bench {
namespace {

// rss_bytes is the resident set size now (statm field 2, in pages); -1 if unreadable.
std::int64_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return -1;
  long long size = 0;
  long long resident = 0;
  const int got = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (got != 2) return -1;
  return static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

// vm_pte_bytes is VmPTE (page tables) from /proc/self/status; -1 if unreadable.
std::int64_t vm_pte_bytes() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  std::int64_t kib = -1;
  while (std::fgets(line, sizeof line, f)) {
    long long v = 0;
    if (std::sscanf(line, "VmPTE: %lld kB", &v) == 1) {
      kib = v;
      break;
    }
  }
  std::fclose(f);
  return kib < 0 ? -1 : kib * 1024;
}

Sample run_once(std::size_t n) {
  Sample s;
  std::int64_t rss_before = 0;
  std::int64_t rss_parked = 0;
  std::int64_t rss_after = 0;
  std::int64_t pte_before = 0;
  std::int64_t pte_parked = 0;
  double return_ms = 0;
  std::string failure;
  auto r = runtime::init(Config::exact(1)).run([&]() -> std::int64_t {
    // The harness's own arrays, sized and touched before the baseline.
    std::vector<Sender<std::int64_t>> senders(n);
    std::vector<JoinHandle<void>> handles(n);
    std::atomic<std::size_t> started{0};
    std::atomic<std::size_t> received{0};

    // Hand memory freed by earlier runs back to the kernel first: otherwise malloc would
    // serve this run's task and channel objects from pages already resident, and they
    // would not show in the growth. (rss_after is read without trimming.)
    malloc_trim(0);
    rss_before = rss_bytes();
    pte_before = vm_pte_bytes();
    for (std::size_t i = 0; i < n; ++i) {
      auto [tx, rx] = channel<std::int64_t>();
      senders[i] = std::move(tx);
      auto h = try_spawn([rx = std::move(rx), i, &started, &received]() mutable {
        started.fetch_add(1, std::memory_order_relaxed);  // T=1: no ordering needed
        auto v = rx.recv();
        if (v && *v == static_cast<std::int64_t>(i))
          received.fetch_add(1, std::memory_order_relaxed);
      });
      if (!h) {
        failure = "spawn " + std::to_string(i) + " of " + std::to_string(n) +
                  " failed: " + h.error().message();
        return 0;
      }
      handles[i] = std::move(*h);
    }
    // Let every actor reach its recv() (child-runs-first makes this a no-op).
    for (int spins = 0; started.load(std::memory_order_relaxed) < n; ++spins) {
      if (spins == 1'000'000) {
        failure = "only " + std::to_string(started.load()) + " of " + std::to_string(n) +
                  " actors ever ran";
        return 0;
      }
      yield_now().value();
    }
    rss_parked = rss_bytes();
    pte_parked = vm_pte_bytes();

    for (std::size_t i = 0; i < n; ++i) senders[i].send(static_cast<std::int64_t>(i)).value();
    for (auto& h : handles) h.join().value();
    for (auto& tx : senders) tx.close();
    // Exited stacks give their pages back from a background thread (LOOM, "Stacks"):
    // wait until only the batch kept warm (under 256) holds pages, up to 2 s.
    const auto t0 = std::chrono::steady_clock::now();
    while (stats().stacks_held_exited >= 256 &&
           std::chrono::steady_clock::now() - t0 < std::chrono::seconds(2))
      sleep_for(std::chrono::milliseconds(1)).value();
    return_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    rss_after = rss_bytes();
    return static_cast<std::int64_t>(received.load(std::memory_order_relaxed));
  });
  if (!r) {
    s.failure = "run: " + r.error().message();
    return s;
  }
  s.result = *r;
  if (!failure.empty()) {
    s.failure = failure;
    return s;
  }
  if (rss_before < 0 || rss_parked < 0 || rss_after < 0 || pte_before < 0 || pte_parked < 0) {
    s.failure = "cannot read /proc/self/statm or VmPTE in /proc/self/status";
    return s;
  }
  const auto count = static_cast<double>(n);
  const std::int64_t growth = rss_parked - rss_before;
  const std::int64_t left = rss_after - rss_before;
  const std::int64_t tolerance = std::max<std::int64_t>(growth / 4, 2 << 20);
  s.metric = static_cast<double>(growth) / count;
  s.extra.push_back({"pte", static_cast<double>(pte_parked - pte_before) / count, 1});
  s.extra.push_back({"rss_after", static_cast<double>(left), 0});
  s.extra.push_back({"return_ms", return_ms, 1});
  if (left > tolerance)
    s.failure = "RSS did not come back: " + std::to_string(left) + " bytes above the start after " +
                "all joined (parked growth " + std::to_string(growth) + ", tolerance " +
                std::to_string(tolerance) + ")";
  return s;
}

void run_w8(Reporter& rep, const char* name, std::size_t n) {
  const std::vector<Case> cases{
      {name, "smarm", 1, "B/actor", static_cast<std::int64_t>(n), [n] { return run_once(n); }}};
  for (const Summary& s : rep.measure(cases)) rep.print(s);
}

}  // namespace

// W8 and W8b are T=1 workloads; an explicit --threads other than 1 is reported and
// ignored, since the "all N parked" argument above needs a single worker.
void run_w8_memory(Reporter& rep, std::size_t threads) {
  if (threads != 1) std::fprintf(stderr, "W8 runs at T=1 only; --threads %zu ignored\n", threads);
  run_w8(rep, "W8", rep.smoke() ? 1'000 : 100'000);
}

void run_w8b_memory(Reporter& rep, std::size_t threads) {
  if (threads != 1) std::fprintf(stderr, "W8b runs at T=1 only; --threads %zu ignored\n", threads);
  run_w8(rep, "W8b", rep.smoke() ? 5'000 : 1'000'000);
}

}  // namespace smarm::bench
