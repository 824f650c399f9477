#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# preempt_cost.sh — what allocator-driven preemption costs the workloads (issue 4).
#
# Runs `smarm-bench <workloads>` with the hook on (the default) and off
# (SMARM_BENCH_PREEMPTION=0), alternating, ROUNDS times each, so that drift on a shared
# machine affects both alike (each line prefixed with `hook=on` or `hook=off`); then the
# allocation-heavy loop, hook on against preemption(false), in smarm-hook-cost's paired
# chunks (metric = median on/off ratio; the issue-4 target is <= 1.03).
#
#   benchmarks/preempt_cost.sh                     # W1 W2 W3 W9, 3 rounds, T=1
#   ROUNDS=5 THREADS=1,2 benchmarks/preempt_cost.sh W1 W3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=${BIN:-build/release/benchmarks}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-1}
workloads=("$@")
((${#workloads[@]})) || workloads=(W1 W2 W3 W9)

[[ -x "$BIN/smarm-bench" ]] || {
  echo "preempt_cost.sh: $BIN/smarm-bench not found (cmake --preset release && cmake --build --preset release)" >&2
  exit 2
}

echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo '?') load: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= ROUNDS; ++round)); do
  "$BIN/smarm-bench" "${workloads[@]}" --threads "$THREADS" | sed "s/^/hook=on round=$round /"
  SMARM_BENCH_PREEMPTION=0 "$BIN/smarm-bench" "${workloads[@]}" --threads "$THREADS" |
    sed "s/^/hook=off round=$round /"
done
# The hook's own price: paired short chunks, hook on and off back to back (see
# hook_cost/hook_cost.cpp for why Google Benchmark's repetitions cannot show a 1-2%
# difference on this machine).
"$BIN/smarm-hook-cost" "${HOOK_PAIRS:-200}"
