// SPDX-License-Identifier: Apache-2.0
// mutex_bench.cpp — Mutex<T>: the uncontended fast path and a contended counter.
//
// BM_MutexUncontended    one lock(1s) + increment + unlock by the root actor, nobody else
//                        around: the one-CAS lock and one-CAS unlock paths (the clock is
//                        not read: the deadline is computed only when the lock must wait).
// BM_MutexTryLock        the same with try_lock().
// BM_CasPair            floor: the same two compare-and-swaps on a bare atomic word.
// BM_MutexContended      `actors` actors on T workers each take the mutex kLocksPerActor
//                        times (lock_until(Deadline::max()), increment, unlock), all
//                        starting queued behind the root. One iteration is one such batch
//                        (spawn, run, join); `per_lock` is the time per lock/unlock pair.
//                        Strict FIFO hand-off: every unlock hands the mutex to a parked
//                        actor and the unlocker's next lock queues behind the others, so
//                        this measures hand-offs (park + unpark + switch), not barging —
//                        even at T=1.
// BM_StdMutexContended   baseline: `threads` plain std::threads increment under a
//                        std::mutex (which lets the unlocker barge back in, and spins),
//                        kLocksPerThread each per iteration.
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include <smarm/smarm.hpp>

#include "micro_config.hpp"

namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kLocksPerActor = 1000;
// Plain threads cost tens of microseconds to start: a longer batch keeps that out.
constexpr std::int64_t kLocksPerThread = 100'000;

void report_failure(benchmark::State& state, const std::string& failure) {
  state.SkipWithError(failure.c_str());
}

void BM_MutexUncontended(benchmark::State& state) {
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(1)).run([&] {
    smarm::Mutex<std::uint64_t> m(0u);
    for (auto _ : state) {
      auto g = m.lock(1s);
      if (!g) {
        failure = "lock: " + g.error().message();
        break;
      }
      benchmark::DoNotOptimize(++**g);
    }
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) report_failure(state, failure);
}
BENCHMARK(BM_MutexUncontended)->UseRealTime();

void BM_MutexTryLock(benchmark::State& state) {
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(1)).run([&] {
    smarm::Mutex<std::uint64_t> m(0u);
    for (auto _ : state) {
      auto g = m.try_lock();
      if (!g) {
        failure = "try_lock failed on a free mutex";
        break;
      }
      benchmark::DoNotOptimize(++**g);
    }
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) report_failure(state, failure);
}
BENCHMARK(BM_MutexTryLock)->UseRealTime();

void BM_CasPair(benchmark::State& state) {
  std::atomic<std::uintptr_t> word{0};
  std::uint64_t count = 0;
  for (auto _ : state) {
    std::uintptr_t expected = 0;
    if (!word.compare_exchange_strong(expected, 1, std::memory_order_acquire)) break;
    benchmark::DoNotOptimize(++count);
    expected = 1;
    if (!word.compare_exchange_strong(expected, 0, std::memory_order_release)) break;
  }
}
BENCHMARK(BM_CasPair)->UseRealTime();

void BM_MutexContended(benchmark::State& state) {
  const auto threads = static_cast<std::size_t>(state.range(0));
  const auto actors = static_cast<int>(state.range(1));
  std::string failure;
  auto r = smarm::runtime::init(smarm::bench::micro_config(threads)).run([&] {
    smarm::Mutex<std::uint64_t> m(0u);
    std::uint64_t expected = 0;
    for (auto _ : state) {
      // The root holds the mutex while it spawns, so every actor starts queued behind it
      // and the batch is contended from its first lock (a child run first would
      // otherwise finish its whole batch before the next one exists).
      auto gate = m.try_lock();
      if (!gate) {
        failure = "the mutex was not free between batches";
        break;
      }
      std::vector<smarm::JoinHandle<bool>> hs;
      hs.reserve(static_cast<std::size_t>(actors));
      for (int a = 0; a < actors; ++a)
        hs.push_back(smarm::spawn([&m] {
          for (std::int64_t i = 0; i < kLocksPerActor; ++i) {
            auto g = m.lock_until(smarm::Deadline::max());
            if (!g) return false;
            ++**g;
          }
          return true;
        }));
      gate->unlock();
      for (auto& h : hs)
        if (!h.join().value_or(false)) failure = "a lock failed";
      expected += static_cast<std::uint64_t>(actors * kLocksPerActor);
      if (!failure.empty()) break;
    }
    auto g = m.try_lock();
    if (failure.empty() && (!g || **g != expected)) failure = "count mismatch or mutex left held";
  });
  if (!r) failure = "runtime: " + r.error().message();
  if (!failure.empty()) {
    report_failure(state, failure);
    return;
  }
  state.counters["per_lock"] = benchmark::Counter(
      static_cast<double>(actors * kLocksPerActor),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_MutexContended)
    ->ArgNames({"threads", "actors"})
    ->Args({1, 8})
    ->Args({2, 2})
    ->Args({2, 8})
    ->Args({2, 64})
    ->UseRealTime();

void BM_StdMutexContended(benchmark::State& state) {
  const auto threads = static_cast<int>(state.range(0));
  std::mutex mu;
  std::uint64_t count = 0;
  for (auto _ : state) {
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&] {
        for (std::int64_t i = 0; i < kLocksPerThread; ++i) {
          std::lock_guard lock(mu);
          ++count;
        }
      });
    for (auto& t : ts) t.join();
  }
  benchmark::DoNotOptimize(count);
  state.counters["per_lock"] = benchmark::Counter(
      static_cast<double>(threads * kLocksPerThread),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_StdMutexContended)->ArgName("threads")->Arg(2)->UseRealTime();

}  // namespace
