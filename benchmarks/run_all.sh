#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# run_all.sh — one run of every workload, smarm and Asio, in one invocation, with the
# machine it ran on: the source of the results table in benchmarks/README.md (report.sh
# turns its output into that table).
#   benchmarks/run_all.sh [build-dir]      (default build/release)
#   WITH_W6=1 benchmarks/run_all.sh        also W6 echo (w6.sh: four servers, one client)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build/release}"
echo "# date: $(date -u +%Y-%m-%dT%H:%MZ); commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "# kernel: $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# compiler: $(g++ --version | head -1)"
"$build/benchmarks/smarm-bench" all
if [ -x "$build/benchmarks/asio-bench" ]; then "$build/benchmarks/asio-bench" all; fi
if [ "${WITH_W6:-0}" = 1 ]; then benchmarks/w6.sh; fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
