#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test-all.sh: the README's second command and the body of .ci/run.
#
# Steps, in order (each timed; a table of every step's time ends the output, also on a
# failure):
#   deps        scripts/install-deps.sh (installs what is missing, nothing otherwise)
#   format      clang-format --dry-run -Werror over the C++ sources
#   each preset (default: dev release asan tsan clang-lto uring; override with
#               SMARM_PRESETS="dev release"): configure, build, ctest
#   valgrind    after dev: memcheck over a subset of the suite (scripts/valgrind-subset.sh)
#   consumer    after release: install it and build + run the consumer projects against
#               the installed package, from source, with sanitizers, FetchContent and
#               pkg-config (scripts/consumer-check.sh)
#   clang-tidy  after clang-lto (a Clang compile database): scripts/clang-tidy.sh
# The asan preset also runs the I/O tests and the random mix against an io_uring copy of
# the library; the uring preset builds smarm with the io_uring backend and runs the whole
# suite, stress tests included, against it. Stops at the first failure.
#
# ccache (installed by install-deps) caches compilations across runs and clones
# (cmake/SmarmCcache.cmake); CCACHE_DISABLE=1 measures a cold build.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

read -r -a PRESETS <<<"${SMARM_PRESETS:-dev release asan tsan clang-lto uring}"

steps=()
total_start=$SECONDS

print_table() {
  echo
  echo "== test-all: time per step"
  printf '   %-28s %6s\n' "step" "time"
  printf '   %s\n' "${steps[@]}"
  printf '   %-28s %5ds\n' "total" $((SECONDS - total_start))
}

fail() {
  echo >&2
  echo "test-all: FAILED: $*" >&2
  print_table >&2
  exit 1
}

# step <name> <command...>: run one step, time it, stop with a clear message on failure.
step() {
  local name="$1"
  shift
  echo "+ $*"
  local start=$SECONDS rc=0
  "$@" || rc=$?
  steps+=("$(printf '%-28s %5ds%s' "$name" $((SECONDS - start)) "$([[ $rc == 0 ]] || echo "  FAILED (exit $rc)")")")
  ((rc == 0)) || fail "$name (exit $rc): $*"
}

check_format() {
  if ! command -v clang-format >/dev/null 2>&1; then
    echo "== clang-format not installed; skipping the format check"
    return 0
  fi
  local format_files
  mapfile -d '' format_files < <(
    git ls-files -z --cached --others --exclude-standard -- include src tests benchmarks examples |
      grep -zE '\.(hpp|cpp)$' || true)
  if ((${#format_files[@]} == 0)); then
    echo "== clang-format: no files to check"
    return 0
  fi
  echo "== clang-format: ${#format_files[@]} files"
  clang-format --dry-run -Werror "${format_files[@]}" || {
    echo "clang-format: the files above are not formatted (fix: clang-format -i <file>)" >&2
    return 1
  }
}

install_and_check_consumers() {
  local prefix="$ROOT/build/release/install-root"
  rm -rf "$prefix"
  cmake --install build/release --prefix "$prefix" >/dev/null
  scripts/consumer-check.sh "$prefix" "$ROOT/build/consumer"
}

step deps scripts/install-deps.sh
step format check_format

for preset in "${PRESETS[@]}"; do
  echo
  echo "== preset $preset"
  step "$preset: configure" cmake --preset "$preset"
  step "$preset: build" cmake --build --preset "$preset"
  step "$preset: test" ctest --preset "$preset"
  case "$preset" in
    dev) step "dev: valgrind subset" scripts/valgrind-subset.sh build/dev ;;
    release) step "release: install + consumers" install_and_check_consumers ;;
    clang-lto) step "clang-lto: clang-tidy" scripts/clang-tidy.sh build/clang-lto ;;
  esac
done

print_table
echo "== test-all: all presets passed in $((SECONDS - total_start))s"
