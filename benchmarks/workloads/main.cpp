// main.cpp — smarm-bench, the workload runner (BENCHMARKS.md W1-W4, W8, W8b, W9).
//
//   smarm-bench W1 --threads 2      one workload at T=2
//   smarm-bench W2 W3 --runs 9      several workloads, 9 timed runs each
//   smarm-bench all                 every workload, default thread counts
//   smarm-bench smoke               every workload once at a small size (ctest)
//
// Options: --runs N (timed runs per case, default 5, after 1 warm-up run), --threads
// LIST (comma-separated, e.g. 1,2; default: T=1, plus T=2 for workloads marked mt),
// --no-warmup, --verbose (every run's figure on stderr), --list, --help.
// `smoke` means: small sizes, 1 run, no warm-up, every workload at its default thread
// counts (so T=2 is exercised too); results are checked as always.
//
// Output: one BENCHMARKS.md line per case on stdout; diagnostics on stderr. Exit status:
// 0 when every result was right, 1 when any case failed, 2 on a usage error.
#include <cctype>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "workloads.hpp"

namespace {

using smarm::bench::Options;
using smarm::bench::Reporter;

struct Workload {
  const char* name;
  bool mt;  // also run at T=2 by default
  void (*run)(Reporter&, std::size_t);
  const char* what;
};

constexpr Workload kWorkloads[] = {
    {"W1", true, smarm::bench::run_w1_skynet, "skynet: 1,111,111 actors spawned and joined"},
    {"W2", false, smarm::bench::run_w2_ping_pong, "ping-pong: 1,000,000 round trips"},
    {"W3", true, smarm::bench::run_w3_ring, "ring: 1,000 actors, 1,000,000 hops"},
    {"W4", true, smarm::bench::run_w4_primes, "primes below 2,000,000 in 200 actors"},
    {"W8", false, smarm::bench::run_w8_memory, "memory per parked actor, N=100,000"},
    {"W8b", false, smarm::bench::run_w8b_memory, "memory per parked actor, N=1,000,000"},
    {"W9", false, smarm::bench::run_w9_switch, "yield_now switch, 10,000,000 switches"},
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: smarm-bench (all | smoke | WORKLOAD...) [--runs N] [--threads LIST]\n"
               "                   [--no-warmup] [--verbose] [--list]\n"
               "  --runs N        timed runs per case (default 5), after 1 warm-up run\n"
               "  --threads LIST  scheduler threads, comma-separated (default: 1, and 2 for mt)\n"
               "workloads:\n");
  for (const auto& w : kWorkloads)
    std::fprintf(out, "  %-4s %-3s %s\n", w.name, w.mt ? "mt" : "", w.what);
}

bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// parse_count parses a positive decimal integer; 0 on error.
std::size_t parse_count(const char* s) {
  char* end = nullptr;
  const unsigned long long v = std::strtoull(s, &end, 10);
  if (end == s || *end != '\0' || v == 0 || v > 1'000'000) return 0;
  return static_cast<std::size_t>(v);
}

// parse_threads parses "1,2"; empty on error.
std::vector<std::size_t> parse_threads(const char* s) {
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

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::vector<const Workload*> selected;
  std::vector<std::size_t> threads;  // empty: each workload's default
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      const std::size_t n = parse_count(argv[++i]);
      if (n == 0) {
        std::fprintf(stderr, "smarm-bench: --runs needs a positive number\n");
        return 2;
      }
      options.runs = static_cast<int>(n);
    } else if (arg == "--threads" && i + 1 < argc) {
      threads = parse_threads(argv[++i]);
      if (threads.empty()) {
        std::fprintf(stderr, "smarm-bench: --threads needs e.g. 2 or 1,2\n");
        return 2;
      }
    } else if (arg == "--no-warmup") {
      options.warmup = false;
    } else if (arg == "--verbose") {
      options.verbose = true;
    } else if (arg == "--list" || arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else if (arg == "all" || arg == "smoke") {
      if (arg == "smoke") {
        options.smoke = true;
        options.runs = 1;
        options.warmup = false;
      }
      for (const auto& w : kWorkloads) selected.push_back(&w);
    } else {
      const Workload* found = nullptr;
      for (const auto& w : kWorkloads)
        if (same_name(arg, w.name)) found = &w;
      if (!found) {
        std::fprintf(stderr, "smarm-bench: unknown argument '%s'\n", argv[i]);
        usage(stderr);
        return 2;
      }
      selected.push_back(found);
    }
  }
  if (selected.empty()) {
    usage(stderr);
    return 2;
  }

  Reporter rep(options);
  for (const Workload* w : selected) {
    std::vector<std::size_t> ts = threads;
    if (ts.empty()) {
      ts.push_back(1);
      if (w->mt) ts.push_back(2);
    }
    for (std::size_t t : ts) w->run(rep, t);
  }
  return rep.failed() ? 1 : 0;
}
