#!/usr/bin/env bash
# run_all.sh — one run of every workload, smarm and Asio, in one invocation, with the
# machine it ran on: the source of the results table in benchmarks/README.md.
#   benchmarks/run_all.sh [build-dir]      (default build/release)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build="${1:-build/release}"
echo "# date: $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores"
echo "# kernel: $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# compiler: $(g++ --version | head -1)"
"$build/benchmarks/smarm-bench" all
if [ -x "$build/benchmarks/asio-bench" ]; then "$build/benchmarks/asio-bench" all; fi
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
