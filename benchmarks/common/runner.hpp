// SPDX-License-Identifier: Apache-2.0
// runner.hpp — the command line of the workload runners (smarm-bench, asio-bench).
//
// Both runners take the same arguments and print the same lines, so the two can be run
// side by side; each main.cpp keeps only its table of workloads and calls run_main():
//
//   PROGRAM W1 --threads 2      one workload at T=2
//   PROGRAM W2 W3 --runs 9      several workloads, 9 timed runs each
//   PROGRAM all                 every workload, default thread counts
//   PROGRAM smoke               every workload once at a small size (ctest)
//
// Options: --runs N (timed runs per case, default 5, after 1 warm-up run), --threads
// LIST (comma-separated, e.g. 1,2; default: T=1, plus T=2 for workloads marked mt),
// --no-warmup, --verbose (every run's figure on stderr), --list, --help.
// `smoke` means: small sizes, 1 run, no warm-up, every workload at its default thread
// counts (so T=2 is exercised too); results are checked as always. Workload names are
// matched without regard to case.
//
// Output: one BENCHMARKS.md line per case on stdout; diagnostics on stderr. Exit status:
// 0 when every result was right, 1 when any case failed, 2 on a usage error.
//
// This header does not depend on smarm (asio-bench does not link it).
#pragma once

#include <cctype>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/report.hpp"

namespace smarm::bench {

// Threads::Two marks a workload whose default is T=2 only (the "under load" ones).
enum class Threads : unsigned char { Default, Two };

// Workload is one row of a runner's table: a name on the command line and what runs it.
struct Workload {
  const char* name;
  bool mt;  // also run at T=2 by default
  void (*run)(Reporter&, std::size_t);
  const char* what;
  Threads threads = Threads::Default;
};

// Program names a runner in its usage and error messages.
struct Program {
  const char* name;     // "smarm-bench"
  const char* threads;  // what --threads sets: "scheduler threads"
};

namespace runner_detail {

inline void usage(std::FILE* out, const Program& program, std::span<const Workload> workloads) {
  // The second line is indented to stand under the first line's arguments.
  const int indent = static_cast<int>(std::strlen("usage: ") + std::strlen(program.name) + 1);
  std::fprintf(out,
               "usage: %s (all | smoke | WORKLOAD...) [--runs N] [--threads LIST]\n"
               "%*s[--no-warmup] [--verbose] [--list]\n"
               "  --runs N        timed runs per case (default 5), after 1 warm-up run\n"
               "  --threads LIST  %s, comma-separated (default: 1, and 2 for mt)\n"
               "workloads:\n",
               program.name, indent, "", program.threads);
  for (const auto& w : workloads)
    std::fprintf(out, "  %-4s %-3s %s\n", w.name, w.mt ? "mt" : "", w.what);
}

inline bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// parse_count parses a positive decimal integer; 0 on error.
inline std::size_t parse_count(const char* s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0' || v == 0 || v > 1'000'000) return 0;
  return static_cast<std::size_t>(v);
}

// parse_threads parses "1,2"; empty on error.
inline std::vector<std::size_t> parse_threads(const char* s) {
  std::vector<std::size_t> out;
  std::string item;
  for (const char* p = s;; ++p) {
    if (*p == ',' || *p == '\0') {
      const std::size_t t = parse_count(item.c_str());
      if (t == 0) return {};
      out.push_back(t);
      item.clear();
      if (*p == '\0') break;
    } else {
      item += *p;
    }
  }
  return out;
}

}  // namespace runner_detail

// run_main parses the command line (see the file comment), runs the selected workloads
// and returns the exit status.
inline int run_main(int argc, char** argv, const Program& program,
                    std::span<const Workload> workloads) {
  using runner_detail::usage;
  Options options;
  std::vector<const Workload*> selected;
  std::vector<std::size_t> threads;  // empty: each workload's default
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      const std::size_t n = runner_detail::parse_count(argv[++i]);
      if (n == 0) {
        std::fprintf(stderr, "%s: --runs needs a positive number\n", program.name);
        return 2;
      }
      options.runs = static_cast<int>(n);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = runner_detail::parse_threads(argv[++i]);
      if (threads.empty()) {
        std::fprintf(stderr, "%s: --threads needs e.g. 2 or 1,2\n", program.name);
        return 2;
      }
    } else if (arg == "--no-warmup") {
      options.warmup = false;
    } else if (arg == "--verbose") {
      options.verbose = true;
    } else if (arg == "--list" || arg == "--help" || arg == "-h") {
      usage(stdout, program, workloads);
      return 0;
    } else if (arg == "all" || arg == "smoke") {
      if (arg == "smoke") {
        options.smoke = true;
        options.runs = 1;
        options.warmup = false;
      }
      for (const auto& w : workloads) selected.push_back(&w);
    } else {
      const Workload* found = nullptr;
      for (const auto& w : workloads)
        if (runner_detail::same_name(arg, w.name)) found = &w;
      if (!found) {
        std::fprintf(stderr, "%s: unknown argument '%s'\n", program.name, argv[i]);
        usage(stderr, program, workloads);
        return 2;
      }
      selected.push_back(found);
    }
  }
  if (selected.empty()) {
    usage(stderr, program, workloads);
    return 2;
  }

  Reporter rep(options);
  for (const Workload* w : selected) {
    std::vector<std::size_t> ts = threads;
    if (ts.empty()) {
      if (w->threads == Threads::Two) {
        ts.push_back(2);
      } else {
        ts.push_back(1);
        if (w->mt) ts.push_back(2);
      }
    }
    for (std::size_t t : ts) w->run(rep, t);
  }
  return rep.failed() ? 1 : 0;
}

}  // namespace smarm::bench
