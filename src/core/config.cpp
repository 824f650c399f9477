// config.cpp — Config defaults and validation; Pid formatting.
#include <sched.h>

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
  auto bad = [](const char* field, const std::string& why) {
    return Error(Errc::InvalidConfig, std::string("Config::") + field + ": " + why);
  };
  if (workers_ == 0) return bad("workers", "must be at least 1 (got 0)");
  if (workers_ > kMaxWorkers)
    return bad("workers", "at most " + std::to_string(kMaxWorkers) + " (got " +
                              std::to_string(workers_) + ")");
  if (stack_size_ < 4096)
    return bad("stack_size",
               "must be at least 4096 bytes (got " + std::to_string(stack_size_) + ")");
  if (stack_size_ > (std::size_t{1} << 32))
    return bad("stack_size", "at most 4 GiB (got " + std::to_string(stack_size_) + ")");
  if (guard_size_ > (std::size_t{1} << 30))
    return bad("guard_size", "at most 1 GiB (got " + std::to_string(guard_size_) + ")");
  if (stack_pool_size_ > (std::size_t{1} << 20))
    return bad("stack_pool_size", "at most 1048576 (got " + std::to_string(stack_pool_size_) + ")");
  if (shutdown_grace_.count() <= 0)
    return bad("shutdown_grace",
               "must be positive (got " + std::to_string(shutdown_grace_.count()) + " ms)");
  return {};
}

std::string to_string(const Pid& pid) {
  return "<" + std::to_string(pid.runtime) + "." + std::to_string(pid.index) + "." +
         std::to_string(pid.generation) + ">";
}

}  // namespace smarm
