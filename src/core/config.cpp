// SPDX-License-Identifier: Apache-2.0
// config.cpp — Config defaults and validation; Pid formatting.
#include <sched.h>
#include <unistd.h>

#include <cstdio>

#include <smarm/config.hpp>
#include <smarm/pid.hpp>

namespace smarm {

namespace {
std::size_t cpus_in_affinity_mask() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  return 1;
}
}  // namespace

Config::Config() : workers_(cpus_in_affinity_mask()) {}

Result<void> Config::validate() const {
  // Messages are formatted with snprintf: GCC 12 at -O3 -flto reports a false -Wrestrict
  // inside std::string's operator+ chains.
  auto bad = [](const char* field, const char* rule, unsigned long long got) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "Config::%s: %s (got %llu)", field, rule, got);
    return Error(Errc::InvalidConfig, buf);
  };
  if (workers_ == 0) return bad("workers", "must be at least 1", 0);
  if (workers_ > kMaxWorkers) return bad("workers", "must be at most 1024", workers_);
  if (stack_size_ < 4096) return bad("stack_size", "must be at least 4096 bytes", stack_size_);
  if (stack_size_ > kMaxStackSize) return bad("stack_size", "must be at most 4 GiB", stack_size_);
  if (guard_size_ > (std::size_t{1} << 30))
    return bad("guard_size", "must be at most 1 GiB", guard_size_);
  if (stack_pool_size_ > (std::size_t{1} << 20))
    return bad("stack_pool_size", "must be at most 1048576", stack_pool_size_);
  if (max_actors_ == 0) return bad("max_actors", "must be at least 1 (the root is an actor)", 0);
  if (max_actors_ > kMaxActors)
    return bad("max_actors", "must be at most 33554432 (the actor table's size)", max_actors_);
  {
    // One stack of stack_size, as the allocator rounds it: the root needs it.
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t one_stack = (stack_size_ + page - 1) / page * page;
    if (max_stack_memory_ < one_stack) {
      char buf[200];
      std::snprintf(buf, sizeof buf,
                    "Config::max_stack_memory: must allow at least one stack of stack_size "
                    "(%zu bytes; got %zu)",
                    one_stack, max_stack_memory_);
      return Error(Errc::InvalidConfig, buf);
    }
  }
  if (shutdown_grace_.count() <= 0) {
    char buf[120];
    std::snprintf(buf, sizeof buf, "Config::shutdown_grace: must be positive (got %lld ms)",
                  static_cast<long long>(shutdown_grace_.count()));
    return Error(Errc::InvalidConfig, buf);
  }
  if (alloc_interval_ == 0) return bad("alloc_interval", "must be at least 1", 0);
  if (alloc_interval_ > (1u << 30))
    return bad("alloc_interval", "must be at most 1073741824", alloc_interval_);
  if (timeslice_cycles_ == 0 && timeslice_us_ == 0)
    return bad("timeslice", "must be positive (timeslice() or timeslice_cycles())", 0);
  if (timeslice_us_ > 60'000'000ull)
    return bad("timeslice", "must be at most 60 s (in microseconds)", timeslice_us_);
  if (stall_threshold_ == 0) return bad("stall_threshold", "must be at least 1 timeslice", 0);
  if (stall_threshold_ > kMaxStallThreshold)
    return bad("stall_threshold", "must be at most 1000000 timeslices", stall_threshold_);
  if (blocking_threads_ == 0) return bad("blocking_threads", "must be at least 1", 0);
  if (blocking_threads_ > kMaxBlockingThreads)
    return bad("blocking_threads", "must be at most 4096", blocking_threads_);
  return {};
}

std::string to_string(const Pid& pid) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "<%u.%u.%u>", pid.runtime, pid.index, pid.generation);
  return buf;
}

}  // namespace smarm
