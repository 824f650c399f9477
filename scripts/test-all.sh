#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# test-all.sh: the README's second command and the body of .ci/run.
#
# For each preset (default: dev release asan tsan clang-lto uring; override with
# SMARM_PRESETS="dev release"): configure, build, ctest. After release, also
# install it and build + test the consumer project tests/consumer against the
# installed package. The uring preset builds smarm with the io_uring backend and
# runs the suite (the I/O conformance tests above all) against it. After dev, valgrind
# memcheck runs over a subset of the suite (scripts/valgrind-subset.sh). Before all that,
# clang-format --dry-run -Werror over the C++ sources (if clang-format is
# installed). Stops at the first failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

read -r -a PRESETS <<<"${SMARM_PRESETS:-dev release asan tsan clang-lto uring}"

fail() {
  echo >&2
  echo "test-all: FAILED: $*" >&2
  exit 1
}

# run <description> <command...>: run a step, stop with a clear message on failure.
run() {
  local what="$1"
  shift
  echo "+ $*"
  "$@" || fail "$what (exit $?): $*"
}

scripts/install-deps.sh || fail "installing dependencies (scripts/install-deps.sh)"

# --- formatting -------------------------------------------------------------------
if command -v clang-format >/dev/null 2>&1; then
  mapfile -d '' format_files < <(
    git ls-files -z --cached --others --exclude-standard -- include src tests benchmarks examples |
      grep -zE '\.(hpp|cpp)$' || true)
  if ((${#format_files[@]} > 0)); then
    echo "== clang-format: ${#format_files[@]} files"
    clang-format --dry-run -Werror "${format_files[@]}" ||
      fail "clang-format: the files above are not formatted (fix: clang-format -i <file>)"
  else
    echo "== clang-format: no files to check"
  fi
else
  echo "== clang-format not installed; skipping the format check"
fi

# --- presets ------------------------------------------------------------------------
summary=()
total_start=$SECONDS
for preset in "${PRESETS[@]}"; do
  echo
  echo "== preset $preset"
  start=$SECONDS
  run "configure preset '$preset'" cmake --preset "$preset"
  run "build preset '$preset'" cmake --build --preset "$preset"
  run "tests of preset '$preset'" ctest --preset "$preset"

  if [[ "$preset" == dev ]]; then
    echo "== valgrind memcheck over a subset of the suite (scripts/valgrind-subset.sh)"
    run "valgrind subset" scripts/valgrind-subset.sh build/dev
  fi

  if [[ "$preset" == release ]]; then
    prefix="$ROOT/build/release/install-root"
    echo "== install + consumer check ($prefix)"
    rm -rf "$prefix" "$ROOT/build/consumer"
    run "install of preset 'release'" cmake --install build/release --prefix "$prefix"
    run "configure consumer project" cmake -S tests/consumer -B build/consumer -G Ninja \
      -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER=g++ -DCMAKE_PREFIX_PATH="$prefix"
    run "build consumer project" cmake --build build/consumer
    run "consumer test" ctest --test-dir build/consumer --output-on-failure
  fi

  elapsed=$((SECONDS - start))
  summary+=("$(printf '%-10s ok  %4ds' "$preset" "$elapsed")")
  echo "== preset $preset passed in ${elapsed}s"
done

echo
echo "== test-all: all presets passed in $((SECONDS - total_start))s"
printf '   %s\n' "${summary[@]}"
