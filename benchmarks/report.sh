#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# report.sh — the one-table benchmark report: every workload of BENCHMARKS.md, smarm and the
# Asio comparisons, T=1 and T=2, from one invocation on one machine.
#
#   benchmarks/report.sh [RAW_FILE]      (default: build/release/benchmark-report.txt)
#
# Runs benchmarks/run_all.sh (smarm-bench all, asio-bench all, then W6 through w6.sh),
# keeps its raw output — the BENCHMARKS.md lines plus the machine header — in RAW_FILE, and
# prints on stdout a Markdown table with one row per workload and thread count: each
# runtime's median and unit side by side, and the extra fields smarm printed. Paste the
# table into benchmarks/README.md ("Results") together with the header lines.
#
# SMARM_REPORT_ONLY=1 renders the table again from an existing RAW_FILE (no runs).
# Needs the release preset built (and release-uring for W6's smarm-uring server; w6.sh
# skips a server whose binary is missing and says so on stderr).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
raw="${1:-build/release/benchmark-report.txt}"

# SMARM_REPORT_ONLY=1: only render the table from an existing RAW_FILE.
if [ "${SMARM_REPORT_ONLY:-0}" != 1 ]; then WITH_W6=1 benchmarks/run_all.sh | tee "$raw" >&2; fi

# Lines look like: workload=W2 runtime=smarm T=1 metric=87.4 unit=ns/rtt result=1000000 k=v...
grep '^#' "$raw" | awk '!seen[$0]++' | sed 's/^# /- /'
echo
awk '
  /^workload=/ {
    delete f
    extra = ""
    for (i = 1; i <= NF; ++i) {
      eq = index($i, "=")
      k = substr($i, 1, eq - 1)
      v = substr($i, eq + 1)
      f[k] = v
      if (k != "workload" && k != "runtime" && k != "T" && k != "metric" && k != "unit" &&
          k != "result")
        extra = extra (extra == "" ? "" : " ") k "=" v
    }
    key = f["workload"] SUBSEP f["T"]
    # A baseline both programs print (W4 serial/threads) is shown once, as smarm-bench printed it,
    # measured in the same process as smarm.
    if ((key SUBSEP f["runtime"]) in had) next
    had[key SUBSEP f["runtime"]] = 1
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    cell = f["runtime"] ": " f["metric"] " " f["unit"]
    # smarm lines in one column; Asio and the plain baselines (threads, serial, bare)
    # in the other.
    if (f["runtime"] ~ /^smarm/) {
      mine[key] = mine[key] (mine[key] == "" ? "" : "<br>") cell
      if (extra != "") extras[key] = extras[key] (extras[key] == "" ? "" : "<br>") f["runtime"] ": " extra
    } else {
      peers[key] = peers[key] (peers[key] == "" ? "" : "<br>") cell
    }
  }
  END {
    print "| Workload | T | smarm | comparison | extra fields (smarm) |"
    print "|---|---|---|---|---|"
    for (i = 1; i <= n; ++i) {
      split(order[i], p, SUBSEP)
      printf "| %s | %s | %s | %s | %s |\n", p[1], p[2], mine[order[i]],
             (order[i] in peers) ? peers[order[i]] : "—", extras[order[i]]
    }
  }
' "$raw"
