#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# echo_smoke.sh — ctest's smoke test of a W6 echo server (bench-smoke.echo-*): start the
# server on port 0, run smarm-echo-client against it at tiny sizes, stop it with SIGTERM,
# and check all three steps. Done at T=1 with W6's 64-byte messages and at T=2 with
# 3,000-byte ones (more than one read or write on either side, for partial transfers).
#
#   echo_smoke.sh [--uring] SERVER CLIENT
#
# Exit 0: passed. 1: failed (why on stderr). 77: skipped — only with --uring, when the
# server says io_uring is unavailable here (it exits 77) or was not built; the environment
# variable SMARM_REQUIRE_URING=1 turns that skip into a failure.
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=benchmarks/echo_client/echo_lib.sh
source "$here/echo_lib.sh"
trap echo_cleanup EXIT

uring=0
if [[ "${1:-}" == --uring ]]; then
  uring=1
  shift
fi
if (($# != 2)); then
  echo "usage: echo_smoke.sh [--uring] SERVER CLIENT" >&2
  exit 2
fi
server=$1
client=$2

# skip_or_fail WHY: a uring server that cannot run here is a skip unless it is required.
skip_or_fail() {
  if ((uring)) && [[ "${SMARM_REQUIRE_URING:-0}" != 1 ]]; then
    echo "SKIPPED: $1 (set SMARM_REQUIRE_URING=1 to make this a failure)"
    exit 77
  fi
  echo "FAIL: $1" >&2
  exit 1
}

if [[ ! -x "$server" ]]; then
  ((uring)) && skip_or_fail "server not built: $server"
  echo "FAIL: server not found: $server" >&2
  exit 1
fi

# case THREADS CONNECTIONS MESSAGES SIZE
case_() {
  local threads=$1 connections=$2 messages=$3 size=$4 out rc
  echo_start_server "$server" "$threads"
  rc=$?
  if ((rc == 77)); then
    ((uring)) && skip_or_fail "the server cannot run here: $ECHO_WHY"
    echo "FAIL: $server exited 77: $ECHO_WHY" >&2
    exit 1
  fi
  if ((rc != 0)); then
    echo "FAIL: $server --threads $threads: $ECHO_WHY" >&2
    exit 1
  fi
  out=$(timeout 60 "$client" --port "$ECHO_PORT" --connections "$connections" \
    --messages "$messages" --size "$size" --timeout-s 30)
  rc=$?
  echo "T=$threads: $out"
  if ((rc != 0)); then
    echo "FAIL: client exited with status $rc against $server --threads $threads" >&2
    exit 1
  fi
  if [[ " $out " != *" round_trips=$((connections * messages)) "* ]]; then
    echo "FAIL: the client's line does not say round_trips=$((connections * messages))" >&2
    exit 1
  fi
  if ! echo_stop_server; then
    echo "FAIL: $server --threads $threads: $ECHO_WHY" >&2
    exit 1
  fi
}

case_ 1 4 100 64
case_ 2 4 100 3000
echo "ok: $server"
