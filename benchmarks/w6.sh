#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# w6.sh — W6 echo (BENCHMARKS.md): four TCP echo servers under one load client, run
# interleaved, one BENCHMARKS.md line per server and thread count.
#
#   benchmarks/w6.sh [--verbose]
#   RUNS=9 THREADS=1 benchmarks/w6.sh --verbose
#
# For each T in THREADS: one warm-up round, then RUNS rounds; a round runs every server
# once, in the order smarm-epoll, smarm-uring, asio-epoll, asio-uring (A, B, C, D, A, B,
# ...), so that drift on a shared machine hits all four alike. Each run starts the server
# fresh (`SERVER --port 0 --threads T`), reads its port from its first line
# (`listening port=N`), runs the client (CLIENT --port N --connections 64 --messages
# 20000 --size 64), then stops the server with SIGTERM and checks that it exits 0 (the
# contract is in echo_client/echo_lib.sh). The client checks every echoed byte; a run
# fails when the client fails, when its round trips are not CONNECTIONS x MESSAGES, or
# when the server does not start or stop cleanly. A failed server is not run again at
# that T.
#
# Output (stdout), per T and server, the medians of the timed runs:
#   workload=W6 runtime=asio-epoll T=1 metric=123456.7 unit=rtt/s result=1280000 client_cpu=31.5 runs=5 vs_asio_epoll=1.000
# client_cpu: the client's own CPU use during the timed interval, % of one core (on two
# cores, what it took from the server); vs_asio_epoll: this metric over asio-epoll's at
# the same T (higher is better). A failed server prints metric=FAIL and makes the exit
# status 1. A server whose binary is missing, or which exits 77 (its backend cannot run
# here, e.g. io_uring refused by the kernel), is skipped: a `metric=SKIP ... reason=...`
# line on stderr, exit status unaffected. --verbose prints every run on stderr.
#
# Environment (defaults in brackets):
#   SMARM_EPOLL_SERVER [build/release/examples/echo_server]
#   SMARM_URING_SERVER [build/release-uring/examples/echo_server]
#   ASIO_EPOLL_SERVER  [build/release/benchmarks/asio-echo-server-epoll]
#   ASIO_URING_SERVER  [build/release/benchmarks/asio-echo-server-uring]
#   CLIENT             [build/release/benchmarks/smarm-echo-client]
#   RUNS [5]  THREADS ["1 2"]  SERVERS ["smarm-epoll smarm-uring asio-epoll asio-uring"]
#   CONNECTIONS [64]  MESSAGES [20000]  SIZE [64]  TIMEOUT_S [180] (per client run)
#   SERVER_CPUS, CLIENT_CPUS [unset]: taskset -c lists to pin the server / the client.
#     Nothing is pinned by default: on 2 cores, pinning a T=2 server leaves the client no
#     core of its own anyway, and the scheduler's placement is part of what is measured.
# Relative paths are taken from the repository root.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
# shellcheck source=benchmarks/echo_client/echo_lib.sh
source benchmarks/echo_client/echo_lib.sh
trap echo_cleanup EXIT
trap 'exit 130' INT TERM

verbose=0
for arg in "$@"; do
  case $arg in
    --verbose | -v) verbose=1 ;;
    --help | -h)
      sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "w6.sh: unknown argument '$arg' (try --help)" >&2
      exit 2
      ;;
  esac
done

RUNS=${RUNS:-5}
THREADS=${THREADS:-"1 2"}
SERVERS=${SERVERS:-"smarm-epoll smarm-uring asio-epoll asio-uring"}
CONNECTIONS=${CONNECTIONS:-64}
MESSAGES=${MESSAGES:-20000}
SIZE=${SIZE:-64}
TIMEOUT_S=${TIMEOUT_S:-180}
CLIENT=${CLIENT:-build/release/benchmarks/smarm-echo-client}
declare -A bin=(
  [smarm-epoll]=${SMARM_EPOLL_SERVER:-build/release/examples/echo_server}
  [smarm-uring]=${SMARM_URING_SERVER:-build/release-uring/examples/echo_server}
  [asio-epoll]=${ASIO_EPOLL_SERVER:-build/release/benchmarks/asio-echo-server-epoll}
  [asio-uring]=${ASIO_URING_SERVER:-build/release/benchmarks/asio-echo-server-uring}
)
expected=$((CONNECTIONS * MESSAGES))

for n in RUNS CONNECTIONS MESSAGES SIZE TIMEOUT_S; do
  [[ "${!n}" =~ ^[1-9][0-9]*$ ]] || {
    echo "w6.sh: $n must be a positive integer, not '${!n}'" >&2
    exit 2
  }
done
for s in $SERVERS; do
  [[ -n "${bin[$s]+x}" ]] || {
    echo "w6.sh: unknown server '$s' in SERVERS (known: ${!bin[*]})" >&2
    exit 2
  }
done
[[ -x "$CLIENT" ]] || {
  echo "w6.sh: client not found: $CLIENT (cmake --preset release && cmake --build build/release --target smarm-echo-client)" >&2
  exit 2
}

# token TEXT: TEXT as one key=value token (whitespace becomes '_').
token() { tr -s ' \t\n' '___' <<<"$1" | sed 's/_$//'; }

# median: the middle of the numbers on stdin (mean of the two middle ones if even).
median() {
  sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) exit 1
    if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2]
    else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# field KEY LINE: the value of KEY=... in LINE.
field() { sed -n "s/.*\(^\| \)$1=\([^ ]*\).*/\2/p" <<<"$2"; }

# one_run SERVER T: one measured run. Sets run_metric and run_cpu; returns 0 (ok), 77
# (skip; run_why says why) or 1 (failure; run_why says why).
one_run() {
  local s=$1 t=$2 out rc stop_rc
  run_metric="" run_cpu="" run_why=""
  echo_start_server "${bin[$s]}" "$t" "${SERVER_CPUS:-}"
  rc=$?
  if ((rc != 0)); then
    run_why=$ECHO_WHY
    return "$rc"
  fi
  local -a pin=()
  [[ -n "${CLIENT_CPUS:-}" ]] && pin=(taskset -c "$CLIENT_CPUS")
  out=$(timeout $((TIMEOUT_S + 30)) "${pin[@]}" "$CLIENT" --port "$ECHO_PORT" \
    --connections "$CONNECTIONS" --messages "$MESSAGES" --size "$SIZE" \
    --timeout-s "$TIMEOUT_S" 2>"$ECHO_DIR/client.err")
  rc=$?
  echo_stop_server
  stop_rc=$?
  if ((rc != 0)); then
    run_why="client exited with status $rc: $(tail -n 2 "$ECHO_DIR/client.err" | tr '\n' ' ')"
    return 1
  fi
  if ((stop_rc != 0)); then
    run_why=$ECHO_WHY
    return 1
  fi
  if [[ "$(field round_trips "$out")" != "$expected" ]]; then
    run_why="client reported '$out', expected round_trips=$expected"
    return 1
  fi
  run_metric=$(field rtt_per_s "$out")
  run_cpu=$(field client_cpu "$out")
  [[ -n "$run_metric" && -n "$run_cpu" ]] || {
    run_why="unreadable client line: '$out'"
    return 1
  }
  return 0
}

echo "# W6 echo: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores," \
  "Linux $(uname -r)"
echo "# connections=$CONNECTIONS messages=$MESSAGES size=$SIZE runs=$RUNS (+1 warm-up)" \
  "threads=\"$THREADS\" pinning: server=${SERVER_CPUS:-none} client=${CLIENT_CPUS:-none};" \
  "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

failed=0
for t in $THREADS; do
  [[ "$t" =~ ^[1-9][0-9]*$ ]] || {
    echo "w6.sh: bad thread count '$t' in THREADS" >&2
    exit 2
  }
  declare -A state=() metrics=() cpus=()
  active=()
  for s in $SERVERS; do
    if [[ ! -x "${bin[$s]}" ]]; then
      echo "workload=W6 runtime=$s T=$t metric=SKIP unit=rtt/s result=0" \
        "reason=$(token "not found: ${bin[$s]}")" >&2
      state[$s]=skip
    else
      state[$s]=ok
      active+=("$s")
    fi
  done
  for ((round = 0; round <= RUNS; ++round)); do
    for s in "${active[@]}"; do
      [[ "${state[$s]}" == ok ]] || continue
      one_run "$s" "$t"
      rc=$?
      label=$([[ $round == 0 ]] && echo warm-up || echo "run=$round")
      if ((rc == 77)); then
        echo "workload=W6 runtime=$s T=$t metric=SKIP unit=rtt/s result=0" \
          "reason=$(token "$run_why")" >&2
        state[$s]=skip
      elif ((rc != 0)); then
        echo "FAIL: workload=W6 runtime=$s T=$t $label: $run_why" >&2
        state[$s]=fail
      else
        ((verbose)) && echo "  workload=W6 runtime=$s T=$t $label metric=$run_metric" \
          "unit=rtt/s client_cpu=$run_cpu load=$(cut -d' ' -f1 /proc/loadavg)" >&2
        if ((round > 0)); then
          metrics[$s]+="$run_metric "
          cpus[$s]+="$run_cpu "
        fi
      fi
    done
  done
  base=""
  [[ "${state[asio-epoll]:-}" == ok ]] && base=$(tr ' ' '\n' <<<"${metrics[asio-epoll]}" | median)
  for s in "${active[@]}"; do
    case ${state[$s]} in
      ok)
        m=$(tr ' ' '\n' <<<"${metrics[$s]}" | median)
        c=$(tr ' ' '\n' <<<"${cpus[$s]}" | median)
        line="workload=W6 runtime=$s T=$t metric=$m unit=rtt/s result=$expected client_cpu=$c runs=$RUNS"
        [[ -n "$base" ]] && line+=" vs_asio_epoll=$(awk -v a="$m" -v b="$base" 'BEGIN { printf "%.3f", a / b }')"
        echo "$line"
        ;;
      fail)
        echo "workload=W6 runtime=$s T=$t metric=FAIL unit=rtt/s result=0"
        failed=1
        ;;
    esac
  done
  unset state metrics cpus
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$failed"
