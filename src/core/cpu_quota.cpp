// SPDX-License-Identifier: Apache-2.0
// cpu_quota.cpp — see cpu_quota.hpp.
#include "core/cpu_quota.hpp"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string_view>
#include <vector>

namespace smarm::detail {

namespace {

// cat({a, b, ...}) is a + b + ..., built with append: GCC 12 at -O3 reports a false
// -Wrestrict inside std::string's operator+ and assignment chains.
std::string cat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (std::string_view p : parts) n += p.size();
  std::string out;
  out.reserve(n);
  for (std::string_view p : parts) out.append(p);
  return out;
}

// read_file returns the whole file, or nullopt if it cannot be opened.
std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t at = s.find(sep, start);
    out.emplace_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

bool has_item(const std::string& list, std::string_view item) {
  for (const auto& x : split(list, ','))
    if (x == item) return true;
  return false;
}

// A cgroup hierarchy: where it is mounted and which cgroup path its mount root is.
struct Mount {
  std::string point;
  std::string root;
};

// find_mount scans mountinfo for a cgroup2 mount (v2) or the cgroup mount carrying the
// cpu controller (v1).
std::optional<Mount> find_mount(const std::string& mountinfo, bool v2) {
  std::istringstream lines(mountinfo);
  for (std::string line; std::getline(lines, line);) {
    // "<id> <parent> <maj:min> <root> <point> <opts> [optional...] - <fstype> <src> <super>"
    const std::size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream head(line.substr(0, dash));
    std::string id, parent, dev, root, point;
    if (!(head >> id >> parent >> dev >> root >> point)) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype, source, super;
    if (!(tail >> fstype >> source >> super)) continue;
    if (v2 ? fstype == "cgroup2" : (fstype == "cgroup" && has_item(super, "cpu")))
      return Mount{point, root};
  }
  return std::nullopt;
}

// cgroup_path finds the process's cgroup in /proc/self/cgroup: the "0::" line (v2) or the
// line whose controllers include "cpu" (v1).
std::optional<std::string> cgroup_path(const std::string& proc_cgroup, bool v2) {
  std::istringstream lines(proc_cgroup);
  for (std::string line; std::getline(lines, line);) {
    const std::size_t a = line.find(':');
    const std::size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1);
    if (v2 ? (id == "0" && controllers.empty()) : has_item(controllers, "cpu"))
      return line.substr(b + 1);
  }
  return std::nullopt;
}

// parse_number reads a whole non-negative decimal (with optional trailing newline).
std::optional<double> parse_number(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  if (s.empty() || s.size() > 18) return std::nullopt;
  double v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// level_limit reads one directory's quota in CPUs, if it has one.
std::optional<double> level_limit(const std::string& dir, bool v2) {
  if (v2) {
    auto max = read_file(cat({dir, "/cpu.max"}));
    if (!max) return std::nullopt;
    std::istringstream in(*max);
    std::string quota, period;
    if (!(in >> quota >> period) || quota == "max") return std::nullopt;
    auto q = parse_number(quota), p = parse_number(period);
    if (!q || !p || *p <= 0 || *q <= 0) return std::nullopt;
    return *q / *p;
  }
  auto quota = read_file(cat({dir, "/cpu.cfs_quota_us"}));
  auto period = read_file(cat({dir, "/cpu.cfs_period_us"}));
  if (!quota || !period) return std::nullopt;
  auto q = parse_number(*quota), p = parse_number(*period);  // "-1" does not parse: none
  if (!q || !p || *p <= 0 || *q <= 0) return std::nullopt;
  return *q / *p;
}

// hierarchy_limit walks from the process's cgroup up to the mount's root and returns the
// smallest limit found; `found_files` says whether the controller's files exist at all.
std::optional<double> hierarchy_limit(const std::string& root, const Mount& m,
                                      std::string_view path, bool v2, bool* found_files) {
  // The cgroup path is relative to the hierarchy's root; the mount shows the part of the
  // hierarchy below m.root (a container usually sees its own cgroup as "/").
  if (m.root != "/" && path.starts_with(m.root) &&
      (path.size() == m.root.size() || path[m.root.size()] == '/'))
    path.remove_prefix(m.root.size());
  while (path.ends_with('/')) path.remove_suffix(1);  // "/" is the top: ""
  std::optional<double> best;
  *found_files = false;
  for (;;) {
    // path is "" (the mount's root) or "/a/b" (or "a/b": a separator is added).
    const std::string dir =
        cat({root, m.point, !path.empty() && path.front() != '/' ? "/" : "", path});
    if (read_file(cat({dir, v2 ? "/cpu.max" : "/cpu.cfs_period_us"}))) *found_files = true;
    if (auto l = level_limit(dir, v2); l && (!best || *l < *best)) best = l;
    if (path.empty()) return best;
    const std::size_t up = path.rfind('/');
    path = up == std::string_view::npos ? std::string_view() : path.substr(0, up);
  }
}

}  // namespace

std::optional<double> cgroup_cpu_limit(const std::string& root) {
  const auto proc_cgroup = read_file(cat({root, "/proc/self/cgroup"}));
  const auto mountinfo = read_file(cat({root, "/proc/self/mountinfo"}));
  if (!proc_cgroup || !mountinfo) return std::nullopt;
  for (bool v2 : {true, false}) {
    const auto path = cgroup_path(*proc_cgroup, v2);
    const auto mount = find_mount(*mountinfo, v2);
    if (!path || !mount) continue;
    bool found_files = false;
    auto limit = hierarchy_limit(root, *mount, *path, v2, &found_files);
    if (found_files) return limit;  // this version has the cpu controller: its answer
  }
  return std::nullopt;
}

std::size_t cpus_in_affinity_mask() noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  return 1;
}

std::size_t workers_for(std::size_t affinity, std::optional<double> limit) noexcept {
  if (!limit) return affinity;
  const double rounded = std::ceil(*limit - 1e-9);  // 2.0000000001 from float noise is 2
  const auto quota = rounded >= 1024 ? std::size_t{1024} : static_cast<std::size_t>(rounded);
  return std::min(affinity, std::max<std::size_t>(2, quota));
}

}  // namespace smarm::detail
