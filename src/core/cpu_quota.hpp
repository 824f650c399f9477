// SPDX-License-Identifier: Apache-2.0
// cpu_quota.hpp (private) — how many CPUs the process may use: its affinity mask, and the
// CPU quota of the container it runs in.
//
// A container limited to 2 CPUs on a 64-core host still sees 64 CPUs in its affinity
// mask; the limit is a cgroup quota (runtime per period) that the kernel enforces by
// throttling. One worker per CPU of the mask would run 64 workers that are stopped and
// started in turns. Go (1.25), the JVM and .NET read the quota; so does Config{}.
//
// cgroup v2: the process's cgroup is the "0::<path>" line of /proc/self/cgroup, the
// hierarchy is mounted where /proc/self/mountinfo says (fstype cgroup2), and each level
// has cpu.max ("max <period>" or "<quota> <period>"). cgroup v1: the line whose
// controllers include "cpu", the mount whose super options include "cpu", and the files
// cpu.cfs_quota_us (-1: none) and cpu.cfs_period_us. The limit is the smallest
// quota/period along the cgroup and its ancestors (a parent's quota binds its children).
// v2 is preferred when its cpu.max files exist; a hybrid host (v2 mounted without the cpu
// controller, as on this machine) falls back to v1. Anything unreadable means "no limit".
#pragma once

#include <cstddef>
#include <optional>
#include <string>

namespace smarm::detail {

// cgroup_cpu_limit reads the quota under `root` (prefixed to every path: "" for the real
// /proc and /sys, a fixture directory in tests) and returns it in CPUs (quota / period,
// e.g. 1.5), or nullopt when there is none.
std::optional<double> cgroup_cpu_limit(const std::string& root = "");

// cpus_in_affinity_mask is CPU_COUNT of the process's affinity mask (at least 1).
std::size_t cpus_in_affinity_mask() noexcept;

// workers_for(affinity, limit) is the default worker count: one per CPU of the mask,
// capped by the quota rounded up (1.5 CPUs: 2) but never below 2 because of it (a 0.5-CPU
// container still gets 2 workers when it has 2 CPUs: one blocked worker must not stop
// everything); never above the mask.
std::size_t workers_for(std::size_t affinity, std::optional<double> limit) noexcept;

}  // namespace smarm::detail
