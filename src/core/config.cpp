// SPDX-License-Identifier: Apache-2.0
// config.cpp — Config defaults and validation; Pid formatting.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <optional>

#include <smarm/config.hpp>
#include <smarm/pid.hpp>

#include "core/cpu_quota.hpp"

namespace smarm {

namespace {

// The default worker count and where it came from, read once per process (the affinity
// mask and the cgroup files; a process that changes either later keeps the first answer).
struct DefaultWorkers {
  std::size_t n;
  WorkersSource source;
};
const DefaultWorkers& default_workers() {
  static const DefaultWorkers kDefault = [] {
    const std::size_t affinity = detail::cpus_in_affinity_mask();
    const std::size_t n = detail::workers_for(affinity, detail::cgroup_cpu_limit());
    return DefaultWorkers{n, n < affinity ? WorkersSource::Cgroup : WorkersSource::Affinity};
  }();
  return kDefault;
}

// parse_workers reads SMARM_WORKERS: a whole number from 1 to Config::kMaxWorkers.
std::optional<std::size_t> parse_workers(const char* text) {
  std::size_t n = 0;
  const char* p = text;
  for (; *p >= '0' && *p <= '9'; ++p) {
    n = n * 10 + static_cast<std::size_t>(*p - '0');
    if (n > Config::kMaxWorkers) return std::nullopt;
  }
  if (p == text || *p != '\0' || n == 0) return std::nullopt;
  return n;
}

}  // namespace

const char* workers_source_name(WorkersSource s) noexcept {
  switch (s) {
    case WorkersSource::Affinity:
      return "affinity";
    case WorkersSource::Cgroup:
      return "cgroup";
    case WorkersSource::Environment:
      return "SMARM_WORKERS";
    case WorkersSource::Config:
      return "Config";
  }
  return "unknown";
}

Config::Config() {
  const DefaultWorkers& d = default_workers();
  workers_ = d.n;
  workers_source_ = d.source;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): read when a Config is made; smarm never writes env
  if (const char* env = std::getenv("SMARM_WORKERS"); env && *env) {
    if (auto n = parse_workers(env)) {
      workers_ = *n;
      workers_source_ = WorkersSource::Environment;
    } else {
      bad_workers_env_ = env;
    }
  }
}

Result<void> Config::validate() const {
  // Messages are formatted with snprintf: GCC 12 at -O3 -flto reports a false -Wrestrict
  // inside std::string's operator+ chains.
  auto bad = [](const char* field, const char* rule, unsigned long long got) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "Config::%s: %s (got %llu)", field, rule, got);
    return Error(Errc::InvalidConfig, buf);
  };
  if (workers_source_ != WorkersSource::Config && !bad_workers_env_.empty()) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "SMARM_WORKERS: must be a whole number from 1 to 1024 (got \"%.64s\")",
                  bad_workers_env_.c_str());
    return Error(Errc::InvalidConfig, buf);
  }
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
