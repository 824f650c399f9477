// SPDX-License-Identifier: Apache-2.0
// report.hpp — measuring, checking and printing one workload case (BENCHMARKS.md format).
//
// A Case is one line of output: a workload run by one implementation at one thread count.
// Its run() does the work once and returns a Sample: the metric it measured, the result
// value it computed and, optionally, extra figures. Reporter::measure() runs every case
// of a workload once as warm-up and then `runs` times, interleaved (case A, B, C, A, B,
// C, ...) so that drift on a shared machine hits every case alike; it checks the result
// of every run, warm-up included, and keeps the median metric. Reporter::print() writes
//
//     workload=W2 runtime=smarm T=1 metric=123.4 unit=ns/rtt result=1000000
//
// followed by the extra key=value fields. A run with a wrong result (or an error) makes
// the line print metric=FAIL with the wrong value as result, explains it on stderr, and
// makes Reporter::failed() true, which main() turns into a non-zero exit status.
//
// Nothing here prints a number that was not measured in this process. This header does
// not depend on smarm, so a comparison runner can print the same lines with it.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace smarm::bench {

using Clock = std::chrono::steady_clock;

// seconds_since(t0) is the wall time elapsed since t0, in seconds.
inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Extra is one named figure after `result=`; `precision` digits after the point.
struct Extra {
  std::string key;
  double value = 0;
  int precision = 1;
};

// Sample is what one run of one case produced.
struct Sample {
  double metric = 0;         // in the case's unit
  std::int64_t result = 0;   // checked against Case::expected
  std::string failure;       // non-empty: the run failed even if result is right
  std::vector<Extra> extra;  // printed as medians over the runs, in this order
};

// Case is one output line: the work of one implementation at one thread count.
struct Case {
  std::string workload;  // "W1"
  std::string runtime;   // "smarm", "threads", "serial"
  std::size_t threads = 1;
  std::string unit;  // "ms", "ns/rtt", ...
  std::int64_t expected = 0;
  std::function<Sample()> run;
};

// Summary is a measured case: medians, or the first failure.
struct Summary {
  const Case* c = nullptr;
  bool ok = true;
  double metric = 0;            // median of the timed runs
  std::int64_t result = 0;      // the checked value (the wrong one if !ok)
  std::vector<Extra> extra;     // medians of the samples' extras, then added fields
  std::vector<double> metrics;  // every timed run, in order
};

// median(v) is the middle value (the mean of the two middle ones for even sizes).
inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Options are the runner's command-line settings.
struct Options {
  int runs = 5;          // timed runs per case
  bool warmup = true;    // one untimed run of every case first
  bool smoke = false;    // small sizes, for ctest
  bool verbose = false;  // every run's metric on stderr
};

class Reporter {
 public:
  explicit Reporter(Options options) : options_(options) {}

  const Options& options() const noexcept { return options_; }
  bool smoke() const noexcept { return options_.smoke; }
  // failed() says whether any printed case failed.
  bool failed() const noexcept { return failed_; }

  // measure(cases) runs and checks every case (see the file comment). The returned
  // summaries point into `cases`, which must outlive them.
  std::vector<Summary> measure(const std::vector<Case>& cases) {
    std::vector<Summary> out(cases.size());
    std::vector<std::vector<Sample>> samples(cases.size());
    for (std::size_t i = 0; i < cases.size(); ++i) out[i].c = &cases[i];
    const int total = options_.runs + (options_.warmup ? 1 : 0);
    for (int run = 0; run < total; ++run) {
      const bool timed = !options_.warmup || run > 0;
      for (std::size_t i = 0; i < cases.size(); ++i) {
        Summary& s = out[i];
        if (!s.ok) continue;  // a failed case is not run again
        Sample sample = cases[i].run();
        if (!sample.failure.empty() || sample.result != cases[i].expected) {
          s.ok = false;
          s.result = sample.result;
          std::fprintf(stderr, "FAIL: workload=%s runtime=%s T=%zu %s run %d: %s\n",
                       cases[i].workload.c_str(), cases[i].runtime.c_str(), cases[i].threads,
                       timed ? "timed" : "warm-up", run,
                       describe_failure(cases[i], sample).c_str());
          continue;
        }
        if (options_.verbose)
          std::fprintf(stderr, "  workload=%s runtime=%s T=%zu %s metric=%.3f %s\n",
                       cases[i].workload.c_str(), cases[i].runtime.c_str(), cases[i].threads,
                       timed ? "run" : "warm-up", sample.metric, cases[i].unit.c_str());
        if (timed) samples[i].push_back(std::move(sample));
      }
    }
    for (std::size_t i = 0; i < cases.size(); ++i) {
      Summary& s = out[i];
      if (!s.ok) continue;
      s.result = cases[i].expected;
      for (const Sample& x : samples[i]) s.metrics.push_back(x.metric);
      s.metric = median(s.metrics);
      if (samples[i].empty()) continue;
      for (std::size_t k = 0; k < samples[i].front().extra.size(); ++k) {
        std::vector<double> values;
        for (const Sample& x : samples[i])
          if (k < x.extra.size()) values.push_back(x.extra[k].value);
        const Extra& first = samples[i].front().extra[k];
        s.extra.push_back(Extra{first.key, median(values), first.precision});
      }
    }
    return out;
  }

  // print(s) writes the case's line to stdout (flushed at once) and records a failure.
  void print(const Summary& s) {
    std::string line = "workload=" + s.c->workload + " runtime=" + s.c->runtime +
                       " T=" + std::to_string(s.c->threads) + " metric=";
    line += s.ok ? format(s.metric, s.metric < 10 ? 2 : 1) : "FAIL";
    line += " unit=" + s.c->unit + " result=" + std::to_string(s.result);
    if (s.ok)
      for (const Extra& e : s.extra) line += " " + e.key + "=" + format(e.value, e.precision);
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
    if (!s.ok) failed_ = true;
  }

  // fail(workload, why) reports a failure that belongs to no case line.
  void fail(const std::string& workload, const std::string& why) {
    std::fprintf(stderr, "FAIL: workload=%s: %s\n", workload.c_str(), why.c_str());
    failed_ = true;
  }

  // format(v, precision) is v in fixed notation.
  static std::string format(double v, int precision) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", precision, v);
    return buf;
  }

 private:
  static std::string describe_failure(const Case& c, const Sample& s) {
    std::string why =
        "expected result " + std::to_string(c.expected) + ", got " + std::to_string(s.result);
    if (!s.failure.empty()) why = s.failure + " (" + why + ")";
    return why;
  }

  Options options_;
  bool failed_ = false;
};

}  // namespace smarm::bench
