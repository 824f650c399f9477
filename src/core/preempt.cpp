// SPDX-License-Identifier: Apache-2.0
// preempt.cpp — the replaced global operator new/delete and the preemption decision.
//
// Hot path (every allocation, on any thread): decrement a thread-local countdown and
// branch. Every `alloc_interval` allocations on a worker, preempt_tick() reads the clock
// and may switch the running actor out (Worker::preempt_current). Threads that are not
// workers get a countdown so large that they practically never reach the slow path, and
// when they do it only resets it.
//
// The thread-locals are `constinit` and initial-exec: the hook must not pay for
// __tls_get_addr or a TLS wrapper call. The functions that touch them are SMARM_NO_TSAN:
// every actor fiber of a worker reads and writes them, and TSan is told fiber switches
// do not synchronise (the same rule as the rest of the worker-confined state). They are read only
// within one call of the hook, which never spans a context switch before it has read them.
//
// Also here: the preemption clock. With constant_tsc and nonstop_tsc in /proc/cpuinfo the
// cycle counter is calibrated once per process against CLOCK_MONOTONIC (5 ms); without
// them the clock is CLOCK_MONOTONIC itself (ticks are nanoseconds), and
// debug::preempt_clock() says which.
#include "core/preempt.hpp"

#include <x86intrin.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <new>
#include <string>

#include <smarm/debug.hpp>
#include <smarm/preempt.hpp>

#include "core/actor.hpp"
#include "core/sanitizer.hpp"
#include "core/scheduler.hpp"
#include "core/worker.hpp"

// The runtime locks this thread holds (SpinLock, BiasedLock, RuntimeMutex), counted by
// runtime_locks_add() (detail/spinlock.hpp) and read here by the hook.
extern "C" {
SMARM_ASM_VISIBLE __thread unsigned smarm_tls_runtime_locks
    __attribute__((tls_model("initial-exec"))) = 0;
}

namespace smarm::detail {
namespace {

// Far enough that a non-worker thread reaches the slow path once per ~2^31 allocations.
constexpr std::int32_t kIdleCountdown = INT32_MAX;

constinit thread_local std::int32_t tls_countdown __attribute__((tls_model("initial-exec"))) =
    kIdleCountdown;
constinit thread_local std::int32_t tls_interval __attribute__((tls_model("initial-exec"))) =
    kIdleCountdown;
constinit thread_local bool tls_enabled __attribute__((tls_model("initial-exec"))) = false;
constinit thread_local bool tls_use_tsc __attribute__((tls_model("initial-exec"))) = true;
constinit thread_local std::uint64_t tls_slice __attribute__((tls_model("initial-exec"))) = 0;
constinit thread_local std::uint64_t tls_slice_start __attribute__((tls_model("initial-exec"))) = 0;
constinit thread_local std::uint64_t tls_slice_switches __attribute__((tls_model("initial-exec"))) =
    ~std::uint64_t{0};
constinit thread_local std::uint64_t tls_hook_calls __attribute__((tls_model("initial-exec"))) = 0;

struct ClockInfo {
  bool tsc = false;
  double ticks_per_us = 1000.0;  // CLOCK_MONOTONIC: nanoseconds
  std::string description;
};

std::uint64_t monotonic_ns() noexcept {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

bool cpu_has_reliable_tsc() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("flags", 0) != 0) continue;
    auto has = [&](const char* flag) {
      const std::string f = std::string(" ") + flag;
      const auto pos = line.find(f);
      return pos != std::string::npos &&
             (pos + f.size() == line.size() || line[pos + f.size()] == ' ');
    };
    return has("constant_tsc") && has("nonstop_tsc");
  }
  return false;
}

const ClockInfo& clock_info() {
  static const ClockInfo kInfo = [] {
    ClockInfo c;
    // NOLINTNEXTLINE(concurrency-mt-unsafe): read once; smarm never writes the environment
    if (const char* env = std::getenv("SMARM_PREEMPT_CLOCK");
        env && std::strcmp(env, "monotonic") == 0) {
      c.description = "CLOCK_MONOTONIC (forced by SMARM_PREEMPT_CLOCK=monotonic)";
      return c;
    }
    if (!cpu_has_reliable_tsc()) {
      c.description = "CLOCK_MONOTONIC (the CPU lacks constant_tsc/nonstop_tsc)";
      return c;
    }
    // Calibrate: count cycles across ~5 ms of CLOCK_MONOTONIC.
    const std::uint64_t t0 = monotonic_ns();
    const std::uint64_t c0 = __rdtsc();
    std::uint64_t t1 = t0;
    while (t1 - t0 < 5'000'000) t1 = monotonic_ns();
    const std::uint64_t c1 = __rdtsc();
    c.tsc = true;
    c.ticks_per_us = static_cast<double>(c1 - c0) * 1000.0 / static_cast<double>(t1 - t0);
    char buf[96];
    std::snprintf(buf, sizeof buf, "tsc (%.3f GHz, calibrated against CLOCK_MONOTONIC)",
                  c.ticks_per_us / 1000.0);
    c.description = buf;
    return c;
  }();
  return kInfo;
}

inline std::uint64_t read_clock() noexcept { return tls_use_tsc ? __rdtsc() : monotonic_ns(); }

// preempt_tick is the hook's slow path: reset the countdown, and switch the running
// actor out if it may be and its timeslice is used up.
// Looks of the hook that found a runtime lock held (and so did not switch): evidence for
// the tests that the hook does reach runtime critical sections, and refuses there.
std::atomic<std::uint64_t> g_refused_under_runtime_lock{0};

SMARM_NO_TSAN __attribute__((noinline)) void preempt_tick() noexcept {
  tls_countdown = tls_interval;
  ++tls_hook_calls;
  if (!tls_enabled) return;
  if (smarm_tls_runtime_locks != 0) {
    g_refused_under_runtime_lock.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Worker* w = current_worker();
  if (!w) return;
  Actor* a = w->current.load(std::memory_order_relaxed);
  if (!a || a->no_preempt_depth != 0) return;
  if (a->state.load(std::memory_order_relaxed) & state::kExiting) return;
  const std::uint64_t now = read_clock();
  // A new slice starts at the first look after the worker switched: the switch path
  // itself never reads the clock.
  const std::uint64_t switches = w->switches.get();
  if (switches != tls_slice_switches) {
    tls_slice_switches = switches;
    tls_slice_start = now;
    return;
  }
  if (now - tls_slice_start < tls_slice) return;
  tls_slice_start = now;  // if nobody else is runnable, the actor starts a new slice
  w->preempt_current(a);
}

SMARM_NO_TSAN inline void hook() noexcept {
  if (--tls_countdown <= 0) [[unlikely]]
    preempt_tick();
}

[[maybe_unused]] void* allocate(std::size_t n) {
  hook();
  if (n == 0) n = 1;
  for (;;) {
    if (void* p = std::malloc(n)) return p;
    std::new_handler h = std::get_new_handler();
    if (!h) throw std::bad_alloc();
    h();
  }
}

[[maybe_unused]] void* allocate_aligned(std::size_t n, std::align_val_t al) {
  hook();
  if (n == 0) n = 1;
  std::size_t align = static_cast<std::size_t>(al);
  if (align < sizeof(void*)) align = sizeof(void*);
  for (;;) {
    void* p = nullptr;
    if (posix_memalign(&p, align, n) == 0) return p;
    std::new_handler h = std::get_new_handler();
    if (!h) throw std::bad_alloc();
    h();
  }
}

}  // namespace

SMARM_NO_TSAN void configure_preempt(const Config& config) noexcept {
  const ClockInfo& c = clock_info();
  tls_use_tsc = c.tsc;
  tls_slice = timeslice_ticks(config);
  tls_enabled = config.preemption();
  tls_interval =
      config.preemption() ? static_cast<std::int32_t>(config.alloc_interval()) : kIdleCountdown;
  tls_countdown = tls_interval;
  tls_slice_switches = ~std::uint64_t{0};
}

SMARM_NO_TSAN void unconfigure_preempt() noexcept {
  tls_enabled = false;
  tls_interval = kIdleCountdown;
  tls_countdown = kIdleCountdown;
}

double ticks_per_us() noexcept { return clock_info().ticks_per_us; }
SMARM_NO_TSAN std::uint64_t preempt_clock_now() noexcept { return read_clock(); }

std::uint64_t timeslice_ticks(const Config& config) noexcept {
  const ClockInfo& c = clock_info();
  // Cycles are the TSC's; on the CLOCK_MONOTONIC fallback they are read as nanoseconds
  // (a nominal 1 GHz) rather than pretend to know the CPU's rate.
  if (config.timeslice_cycles() != 0) return config.timeslice_cycles();
  return static_cast<std::uint64_t>(static_cast<double>(config.timeslice_us()) * c.ticks_per_us);
}

SMARM_NO_TSAN std::uint64_t preempt_hook_calls() noexcept { return tls_hook_calls; }
std::uint64_t preempt_refused_under_runtime_lock() noexcept {
  return g_refused_under_runtime_lock.load(std::memory_order_relaxed);
}

SMARM_NO_TSAN void preempt_check() noexcept { hook(); }

void no_preempt_enter() noexcept {
  if (Worker* w = current_worker())
    if (Actor* a = w->current.load(std::memory_order_relaxed)) ++a->no_preempt_depth;
}

void no_preempt_leave() noexcept {
  if (Worker* w = current_worker())
    if (Actor* a = w->current.load(std::memory_order_relaxed))
      if (a->no_preempt_depth > 0) --a->no_preempt_depth;
}

}  // namespace smarm::detail

std::string smarm::debug::preempt_clock() { return smarm::detail::clock_info().description; }

// A run-time probe, not a build flag: what counts is which operator new this program
// actually linked. One allocation through the global operator new must move this
// thread's countdown (or, if it reached zero, the count of slow-path calls). A call of
// ::operator new itself, unlike a new-expression, may not be elided.
SMARM_NO_TSAN bool smarm::debug::allocator_hook_installed() noexcept {
  const std::int32_t countdown = smarm::detail::tls_countdown;
  const std::uint64_t calls = smarm::detail::tls_hook_calls;
  void* volatile p = ::operator new(1, std::nothrow);
  ::operator delete(p);
  return smarm::detail::tls_countdown != countdown || smarm::detail::tls_hook_calls != calls;
}

void smarm::preempt_hook() noexcept { smarm::detail::preempt_check(); }

// ---------------------------------------------------------------------------------------
// The replaced global allocation functions: every form, each counted by the hook.
//
// Not under ThreadSanitizer: its runtime is linked statically and defines these same
// functions (it must see every allocation), so a second definition cannot link. TSan
// builds preempt only at SMARM_CHECK(); debug::allocator_hook_installed() says so.
// Not in smarm_no_alloc_hook either (SMARM_NO_ALLOC_HOOK, CMakeLists.txt): there the
// program's own allocator calls smarm::preempt_hook().
#if !defined(SMARM_TSAN) && !defined(SMARM_NO_ALLOC_HOOK)

void* operator new(std::size_t n) { return smarm::detail::allocate(n); }
void* operator new[](std::size_t n) { return smarm::detail::allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return smarm::detail::allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return smarm::detail::allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t al) {
  return smarm::detail::allocate_aligned(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al) {
  return smarm::detail::allocate_aligned(n, al);
}
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return smarm::detail::allocate_aligned(n, al);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  try {
    return smarm::detail::allocate_aligned(n, al);
  } catch (...) {
    return nullptr;
  }
}

void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#endif  // !SMARM_TSAN && !SMARM_NO_ALLOC_HOOK
