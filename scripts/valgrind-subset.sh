#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# valgrind-subset.sh [BUILD_DIR]: valgrind memcheck over a representative subset of the
# test suite, built by the dev preset (default build/dev). test-all.sh runs it after the
# dev preset's tests.
#
# Why a subset: memcheck runs code 20-50 times slower and serialises threads, so the whole
# suite would take hours. The subset covers every layer — channels (one-value and burst
# forms), bounded channels, cancellation, spawn and join, supervision, mutex, timers,
# migration between workers, select, mailboxes, pipelines, coroutines and the I/O backend —
# on one and two workers. Left out: the stress tests and the four-worker runs (the same code
# paths, and far too slow serialised), and the tests that must crash or overflow on purpose.
#
# Clean means: no invalid read or write, no use of uninitialised memory, no definite or
# indirect leak (still-reachable blocks, such as process-lifetime singletons, are allowed).
# Actor stacks are mmap'd and switched to by smarm's own assembly; memcheck follows the
# switches by the stack-pointer jump and needs nothing from smarm for it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD="${1:-build/dev}"

if ! command -v valgrind >/dev/null 2>&1; then
  echo "valgrind-subset: valgrind is not installed (scripts/install-deps.sh installs it)" >&2
  exit 1
fi

# <dir>:<unit> — the tests of tests/<dir>/<unit>_test.cpp, run from the executable that
# holds them (<dir>_<unit>_test if the file is standalone, else the merged <dir>_tests).
UNITS=(
  core:channel core:bounded_channel core:channel_batch core:cancel core:spawn
  core:supervision core:mutex core:timer core:migration
  facade:select facade:mailbox facade:pipe facade:task
  io:conformance
)
# Left out: stress tests, four-worker runs, the channel memory tests that move millions
# of values to grow a ring (minutes under memcheck; the shrink path's moves and frees are
# checked by ChannelMemoryTest.ValuesKeepTheirOrderAcrossShrinksAndGrowths), and the
# accept backoff test, which lowers RLIMIT_NOFILE in a child: memcheck keeps descriptors
# of its own above the limit and rejects the accepted ones ("invalid file descriptor").
EXCLUDE='*Stress*:*/W4:ChannelMemoryTest.ADrained*:ChannelMemoryTest.ABatch*'
EXCLUDE+=':ChannelMemoryTest.ASteady*:IoTest.AcceptBacksOff*'

status=0
for entry in "${UNITS[@]}"; do
  dir="${entry%%:*}"
  unit="${entry#*:}"
  bin="$BUILD/tests/${dir}_${unit}_test"
  [[ -x "$bin" ]] || bin="$BUILD/tests/${dir}_tests"
  if [[ ! -x "$bin" ]]; then
    echo "valgrind-subset: $bin is missing (build the dev preset first)" >&2
    exit 1
  fi
  filter="$(cmake -DEXECUTABLE="$bin" -DUNIT="$unit" -P tests/cmake/gtest_filter_of_unit.cmake)" || {
    echo "valgrind-subset: cannot list the tests of $unit in $bin" >&2
    exit 1
  }
  log="$BUILD/valgrind-${dir}-${unit}.log"
  start=$SECONDS
  if valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
    --track-origins=no -q "$bin" --gtest_filter="$filter-$EXCLUDE" >"$log" 2>&1; then
    printf '  valgrind %-28s clean  %4ds\n' "$dir/$unit" $((SECONDS - start))
  else
    rc=$?
    printf '  valgrind %-28s FAILED (exit %d)  %4ds — log:\n' "$dir/$unit" "$rc" $((SECONDS - start))
    grep -v '^\[ *\(RUN\|OK\) *\]' "$log" | tail -60
    status=1
  fi
  # Ran means ran, passed or skipped: the migration tests skip when memcheck's serialised
  # threads happen not to migrate an actor.
  if ! grep -q '^\[==========\] [1-9][0-9]* tests\? from' "$log"; then
    echo "valgrind-subset: $dir/$unit ran no test (filter $filter)" >&2
    status=1
  fi
done
exit $status
