// SPDX-License-Identifier: Apache-2.0
// config.hpp — Config, the settings of one runtime.
//
// Every knob is a chainable setter returning Config&. Setters never fail: values are
// validated when the runtime starts (Runtime::run), which reports the first bad field as
// Errc::InvalidConfig naming it, so a Config can be built in any order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include <smarm/error.hpp>

namespace smarm {

// WorkersSource says where Config::workers() came from (dump_actors prints it).
enum class WorkersSource : std::uint8_t {
  Affinity,     // one worker per CPU of the process's affinity mask
  Cgroup,       // fewer: the container's CPU quota (cgroup cpu.max / cfs_quota_us), rounded up
  Environment,  // SMARM_WORKERS=N
  Config,       // workers(n), exact(n), or run(f) (which is exact(1))
};
// workers_source_name gives "affinity", "cgroup", "SMARM_WORKERS" or "Config".
const char* workers_source_name(WorkersSource s) noexcept;

// GuardMode says how the guard region below each actor stack is made inaccessible.
enum class GuardMode : std::uint8_t {
  Auto,          // MADV_GUARD_INSTALL where the kernel has it, else mprotect
  GuardInstall,  // madvise(MADV_GUARD_INSTALL): no extra mapping per stack (Linux >= 6.13)
  Mprotect,      // mprotect(PROT_NONE): splits the mapping; ~32k stacks per vm.max_map_count
};

class Config {
 public:
  // Config() runs one worker per CPU in the process's affinity mask — fewer in a
  // container with a CPU quota (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us): the quota
  // rounded up, but at least 2 (Go, the JVM and .NET do the same). Both are read once per
  // process. SMARM_WORKERS=N in the environment (1..1024) replaces that default, like Go's
  // GOMAXPROCS; a value that is not such a number makes run() return InvalidConfig naming
  // it. workers(n) and exact(n) win over all of these. workers_source() says which one
  // gave the count.
  Config();
  // exact(n) runs exactly n workers (n >= 1; 0 is reported by run() as InvalidConfig).
  static Config exact(std::size_t n) { return Config().workers(n); }

  Config& workers(std::size_t n) {
    workers_ = n;
    workers_source_ = WorkersSource::Config;
    return *this;
  }
  // stack_size is the usable size of each actor stack, rounded up to whole pages.
  // Pages are committed lazily: a parked actor that used little stack costs one page.
  Config& stack_size(std::size_t bytes) {
    stack_size_ = bytes;
    return *this;
  }
  // guard_size is the inaccessible region below each stack (rounded up to pages). With
  // GuardInstall it costs neither memory nor a mapping; with Mprotect it costs a mapping.
  // It costs no memory either way. 0 (the default) means kDefaultGuardSize (64 KiB) in
  // both modes. A frame larger than the guard is caught only in code compiled with
  // -fstack-clash-protection, which smarm::smarm passes to its users (README).
  Config& guard_size(std::size_t bytes) {
    guard_size_ = bytes;
    return *this;
  }
  Config& guard_mode(GuardMode m) {
    guard_mode_ = m;
    return *this;
  }
  // stack_pool_size is how many freed stacks each worker keeps hot for reuse.
  Config& stack_pool_size(std::size_t n) {
    stack_pool_size_ = n;
    return *this;
  }
  // Resource limits. spawn() (and everything built on it) past either one fails with
  // Errc::ResourceExhausted; the actors already running are unaffected, and an actor's
  // share is released when it ends (before a join() on it returns).
  //
  // max_actors bounds the actors alive at once, the root included. The default is the
  // actor table's own size, kMaxActors (33554432).
  Config& max_actors(std::size_t n) {
    max_actors_ = n;
    return *this;
  }
  // max_stack_memory bounds the stack bytes reserved by the actors alive at once: each
  // counts its usable stack size (stack_size, or its SpawnOptions::stack_size), rounded
  // up to pages, whether or not its pages were touched yet; guards are not counted. It
  // must allow at least one stack of stack_size. The default, kNoStackMemoryLimit, sets
  // no bound beyond what mmap grants.
  Config& max_stack_memory(std::size_t bytes) {
    max_stack_memory_ = bytes;
    return *this;
  }
  // shutdown_grace is how long run() waits, after its function returned, for the
  // cancelled actors to end before it aborts the process naming the ones still running.
  Config& shutdown_grace(std::chrono::milliseconds d) {
    shutdown_grace_ = d;
    return *this;
  }

  // Preemption (preempt.hpp). Every `alloc_interval` allocations made on a worker, the
  // allocator hook looks at the clock; an actor that has run longer than its timeslice
  // then yields to the other actors of its worker. SMARM_CHECK() makes the same check in
  // loops that never allocate. timeslice() converts microseconds with the calibrated
  // cycle counter (see debug::preempt_clock()); timeslice_cycles() sets it directly.
  Config& preemption(bool on) {
    preemption_ = on;
    return *this;
  }
  Config& alloc_interval(std::uint32_t n) {
    alloc_interval_ = n;
    return *this;
  }
  Config& timeslice_cycles(std::uint64_t c) {
    timeslice_cycles_ = c;
    timeslice_us_ = 0;
    return *this;
  }
  Config& timeslice(std::chrono::microseconds t) {
    timeslice_us_ = t.count() < 0 ? 0 : static_cast<std::uint64_t>(t.count());
    timeslice_cycles_ = 0;
    return *this;
  }

  // Stall detector. A watchdog thread reports an actor that has held its worker for
  // longer than `stall_threshold` timeslices without reaching a scheduling point (a park,
  // a yield, a preemption check): a loop that neither allocates nor calls SMARM_CHECK(),
  // or a blocking system call. Each stall is reported once — pid, name, how long, and a
  // backtrace of the stalled worker — to stderr, to the trace and in stats().stalls.
  // The threshold is never taken below 10 ms, however short the timeslice.
  Config& stall_detector(bool on) {
    stall_detector_ = on;
    return *this;
  }
  Config& stall_threshold(std::uint32_t timeslices) {
    stall_threshold_ = timeslices;
    return *this;
  }

  // blocking_threads bounds the threads block_on_io() (and reads of regular files on the
  // epoll backend) may start; jobs beyond it wait in FIFO order.
  Config& blocking_threads(std::size_t n) {
    blocking_threads_ = n;
    return *this;
  }

  std::size_t workers() const noexcept { return workers_; }
  WorkersSource workers_source() const noexcept { return workers_source_; }
  std::size_t stack_size() const noexcept { return stack_size_; }
  std::size_t guard_size() const noexcept { return guard_size_; }
  GuardMode guard_mode() const noexcept { return guard_mode_; }
  std::size_t stack_pool_size() const noexcept { return stack_pool_size_; }
  std::size_t max_actors() const noexcept { return max_actors_; }
  std::size_t max_stack_memory() const noexcept { return max_stack_memory_; }
  std::chrono::milliseconds shutdown_grace() const noexcept { return shutdown_grace_; }
  bool preemption() const noexcept { return preemption_; }
  std::uint32_t alloc_interval() const noexcept { return alloc_interval_; }
  // The timeslice as set: exactly one of these is non-zero unless the value was invalid.
  std::uint64_t timeslice_cycles() const noexcept { return timeslice_cycles_; }
  std::uint64_t timeslice_us() const noexcept { return timeslice_us_; }
  bool stall_detector() const noexcept { return stall_detector_; }
  std::uint32_t stall_threshold() const noexcept { return stall_threshold_; }
  std::size_t blocking_threads() const noexcept { return blocking_threads_; }

  // validate() returns InvalidConfig naming the first field out of range.
  Result<void> validate() const;

  static constexpr std::size_t kDefaultStackSize = std::size_t{256} * 1024;
  static constexpr std::size_t kDefaultGuardSize = std::size_t{64} * 1024;
  // kMaxStackSize bounds Config::stack_size and SpawnOptions::stack_size alike.
  static constexpr std::size_t kMaxStackSize = std::size_t{1} << 32;  // 4 GiB
  static constexpr std::size_t kMaxWorkers = 1024;
  static constexpr std::size_t kMaxActors = std::size_t{1} << 25;  // the actor table's size
  static constexpr std::size_t kNoStackMemoryLimit = SIZE_MAX;
  static constexpr std::uint32_t kDefaultAllocInterval = 64;
  static constexpr std::uint64_t kDefaultTimesliceUs = 1000;    // 1 ms
  static constexpr std::uint32_t kDefaultStallThreshold = 100;  // timeslices: 100 ms
  static constexpr std::uint32_t kMaxStallThreshold = 1'000'000;
  static constexpr std::size_t kDefaultBlockingThreads = 64;
  static constexpr std::size_t kMaxBlockingThreads = 4096;

 private:
  std::size_t workers_;
  WorkersSource workers_source_ = WorkersSource::Affinity;
  // SMARM_WORKERS as found when this Config was made, if it was not a valid count
  // (reported by validate() unless workers() was set).
  std::string bad_workers_env_;
  std::size_t stack_size_ = kDefaultStackSize;
  std::size_t guard_size_ = 0;
  GuardMode guard_mode_ = GuardMode::Auto;
  std::size_t stack_pool_size_ = 128;
  std::size_t max_actors_ = kMaxActors;
  std::size_t max_stack_memory_ = kNoStackMemoryLimit;
  std::chrono::milliseconds shutdown_grace_{5000};
  bool preemption_ = true;
  std::uint32_t alloc_interval_ = kDefaultAllocInterval;
  std::uint64_t timeslice_cycles_ = 0;
  std::uint64_t timeslice_us_ = kDefaultTimesliceUs;
  bool stall_detector_ = true;
  std::uint32_t stall_threshold_ = kDefaultStallThreshold;
  std::size_t blocking_threads_ = kDefaultBlockingThreads;
};

}  // namespace smarm
