#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# consumer-check.sh PREFIX [WORKDIR]: use smarm the ways another project would, and check
# each way works. PREFIX is an install of smarm (`cmake --install <build> --prefix
# PREFIX`); WORKDIR (default build/consumer) is wiped and holds every build and log.
#
#   1. installed, plain    tests/consumer/installed: find_package(smarm 0.2) from PREFIX;
#                          no build flags leak through the imported targets, SMARM_TRACING
#                          agrees, no sanitizer warning. Its ctest tests run: main.cpp
#                          (version, allocator hook, a runtime), smarm inside a shared
#                          library called by an executable that links only that library,
#                          smarm_no_alloc_hook with the program's own operator new calling
#                          smarm::preempt_hook() (an allocating actor on one worker is
#                          preempted), and smarm_no_alloc_hook alone (no hook, no
#                          preemption).
#   2. pkg-config          tests/consumer/pkgconfig/prog.cpp built with nothing but
#                          `$CXX -std=c++20 prog.cpp $(pkg-config --cflags --libs smarm)`,
#                          and again with smarm_no_alloc_hook.pc from a copy of PREFIX
#                          elsewhere (the .pc files are relocatable); both run.
#   3. sanitizer warning   configuring tests/consumer/installed with -fsanitize=address in
#                          CMAKE_CXX_FLAGS, and with -fsanitize=thread in
#                          CMAKE_CXX_FLAGS_DEBUG, prints the package's warning that it
#                          cannot serve a sanitizer program. Configure only.
#   4. FetchContent        tests/consumer/fetchcontent: smarm from this source tree through
#                          FetchContent (SOURCE_DIR; no network), no build type (CMake's
#                          default flags); the program builds and runs; its `cmake
#                          --install` installs the program and nothing of smarm's; with
#                          -DSMARM_INSTALL=ON it installs smarm's headers, libraries, CMake
#                          package and pkg-config files too, and tests/consumer/installed
#                          configures against that install.
#   5. ASan from source    tests/consumer/from-source: add_subdirectory(smarm) under the
#                          consumer's own -fsanitize=address (g++, Debug); the program
#                          (exceptions caught across parks, a panic reported by join(),
#                          ping-pong across two workers) exits 0 with no ASan report.
#   6. TSan from source    the same with clang++-14 and -fsanitize=thread (smarm leaves
#                          operator new to the sanitizer), TSAN_OPTIONS=halt_on_error=1.
#
# One line per check with its time; the first failure stops the script with a message and
# the end of that check's log (all logs: WORKDIR/logs/). Checks 4-6 compile smarm from
# source (the library only); with ccache installed every CMake consumer build uses it (the
# pkg-config programs are compiled and linked in one command, which ccache cannot cache).
#
# Environment: SMARM_CONSUMER_CXX (default g++; checks 1-5), SMARM_CONSUMER_TSAN_CXX
# (default clang++-14; check 6), SMARM_CONSUMER_JOBS (default 2).
set -euo pipefail

usage() {
  echo "usage: $0 PREFIX [WORKDIR]   (PREFIX: an install of smarm; WORKDIR default build/consumer)" >&2
  exit 2
}
(($# >= 1 && $# <= 2)) || usage

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[[ -d "$1" ]] || {
  echo "consumer-check: PREFIX '$1' is not a directory (install smarm there first)" >&2
  exit 2
}
PREFIX="$(cd "$1" && pwd)"
WORK="$(realpath -m "${2:-$ROOT/build/consumer}")"
cd "$ROOT"

CXX_BIN="${SMARM_CONSUMER_CXX:-g++}"
TSAN_CXX_BIN="${SMARM_CONSUMER_TSAN_CXX:-clang++-14}"
JOBS="${SMARM_CONSUMER_JOBS:-2}"

# WORKDIR is wiped: not /, not the source tree or anything above it, nothing of the
# source tree outside build/, and not the prefix under test.
if [[ "$WORK" == / || "$WORK" == "$ROOT" || "$ROOT" == "$WORK"/* ||
  ("$WORK" == "$ROOT"/* && "$WORK" != "$ROOT"/build/*) ]]; then
  echo "consumer-check: refusing to wipe WORKDIR '$WORK' (inside the source tree, use build/...)" >&2
  exit 2
fi
if [[ "$PREFIX" == "$WORK" || "$PREFIX" == "$WORK"/* || "$WORK" == "$PREFIX"/* ]]; then
  echo "consumer-check: PREFIX '$PREFIX' and WORKDIR '$WORK' overlap; WORKDIR is wiped" >&2
  exit 2
fi
rm -rf "$WORK"
mkdir -p "$WORK/logs"

# ccache for every consumer build. Like cmake/SmarmCcache.cmake (which is off when smarm
# is a subproject): paths below the source root are hashed relative to it, so another
# clone's builds hit the same cache entries.
LAUNCHER=()
if command -v ccache >/dev/null 2>&1; then
  LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$ROOT}"
  export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
fi

# --- reporting ------------------------------------------------------------------------
LOG=/dev/null
CHECK=""

now_ms() { echo $(($(date +%s%N) / 1000000)); }
# tenths <ms>: "12.3"
tenths() { printf '%d.%d' $(($1 / 1000)) $(($1 % 1000 / 100)); }
seconds_since() { tenths $(($(now_ms) - $1)); }
# cpu_ms: user+system time of this shell's finished children (every command run so far),
# from /proc: the wall time of a check on a shared machine says little on its own.
CLK_TCK="$(getconf CLK_TCK)"
cpu_ms() {
  local f
  read -r -a f <"/proc/$$/stat"
  echo $(((f[15] + f[16]) * 1000 / CLK_TCK))
}

fail() {
  {
    echo
    echo "consumer-check: FAILED: ${CHECK:+$CHECK: }$*"
    if [[ -s "$LOG" ]]; then
      echo "---- last 60 lines of $LOG"
      tail -n 60 "$LOG"
      echo "----"
    fi
  } >&2
  exit 1
}

# Anything else that fails (set -e) still says where.
set -E
trap 'fail "unexpected error (exit $?) at line $LINENO: $BASH_COMMAND"' ERR

# run <what> <command...>: run a step of the current check, its output in the check's log.
run() {
  local what="$1"
  shift
  echo "+ $*" >>"$LOG"
  local rc=0
  "$@" >>"$LOG" 2>&1 || rc=$?
  ((rc == 0)) || fail "$what (exit $rc): $*"
}

# run_to <file> <what> <command...>: run, with the output also kept in <file>.
run_to() {
  local out="$1" what="$2"
  shift 2
  echo "+ $*" >>"$LOG"
  local rc=0
  "$@" >"$out" 2>&1 || rc=$?
  cat "$out" >>"$LOG"
  ((rc == 0)) || fail "$what (exit $rc): $*"
}

NCHECKS=6
TOTAL_START=$(now_ms)
check() {
  local n="$1" title="$2" fn="$3"
  CHECK="[$n/$NCHECKS] $title"
  LOG="$WORK/logs/$n-$fn.log"
  : >"$LOG"
  local start cpu
  start=$(now_ms)
  cpu=$(cpu_ms)
  "$fn"
  printf '[%d/%d] %-34s ok %6ss  (cpu %ss)\n' "$n" "$NCHECKS" "$title" \
    "$(seconds_since "$start")" "$(tenths $(($(cpu_ms) - cpu)))"
}

# --- the installed package ----------------------------------------------------------------
mapfile -t configs < <(find "$PREFIX" -path '*/cmake/smarm/smarm-config.cmake' | sort)
((${#configs[@]} == 1)) || {
  echo "consumer-check: expected one cmake/smarm/smarm-config.cmake under $PREFIX, found ${#configs[@]}" >&2
  exit 1
}
SMARM_PKG_DIR="$(dirname "${configs[0]}")"
mapfile -t pcs < <(find "$PREFIX" -path '*/pkgconfig/smarm.pc' | sort)
((${#pcs[@]} == 1)) || {
  echo "consumer-check: expected one pkgconfig/smarm.pc under $PREFIX, found ${#pcs[@]}" >&2
  exit 1
}
PC_DIR="$(dirname "${pcs[0]}")"

WARNING_TEXT="was built without sanitizers and cannot serve a -fsanitize="
# warns <file> <text>: <file> (CMake output, whose messages are wrapped) contains <text>.
warns() { tr -s ' \n' '  ' <"$1" | grep -F -- "$2" >/dev/null; }

# expect_smarm_dir <build dir> <package dir>: find_package(smarm) there found that package
# (not one installed elsewhere on the system).
expect_smarm_dir() {
  local found
  found="$(sed -n 's/^smarm_DIR:PATH=//p' "$1/CMakeCache.txt")"
  [[ "$found" -ef "$2" ]] ||
    fail "find_package(smarm) in $1 found '$found', not the package under test '$2'"
}

check_installed() {
  local b="$WORK/installed"
  run_to "$WORK/installed-configure.txt" "configure tests/consumer/installed" \
    cmake -S tests/consumer/installed -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_PREFIX_PATH="$PREFIX" "${LAUNCHER[@]}"
  expect_smarm_dir "$b" "$SMARM_PKG_DIR"
  if warns "$WORK/installed-configure.txt" "$WARNING_TEXT"; then
    fail "the package warns about sanitizers although this configure uses none"
  fi
  run "build tests/consumer/installed" cmake --build "$b" -j "$JOBS"
  run "ctest of tests/consumer/installed" ctest --test-dir "$b" --output-on-failure
}

check_pkgconfig() {
  local b="$WORK/pkgconfig"
  mkdir -p "$b"
  command -v pkg-config >/dev/null 2>&1 || fail "pkg-config is not installed"
  local version flags
  version="$(PKG_CONFIG_PATH="$PC_DIR" pkg-config --modversion smarm)" ||
    fail "pkg-config --modversion smarm (PKG_CONFIG_PATH=$PC_DIR)"
  flags="$(PKG_CONFIG_PATH="$PC_DIR" pkg-config --cflags --libs smarm)" ||
    fail "pkg-config --cflags --libs smarm (PKG_CONFIG_PATH=$PC_DIR)"
  echo "smarm.pc: version $version, flags: $flags" >>"$LOG"
  # shellcheck disable=SC2086  # the flags are meant to split into words
  run "compile+link with pkg-config smarm" \
    "$CXX_BIN" -std=c++20 tests/consumer/pkgconfig/prog.cpp $flags -o "$b/prog"
  run "run the pkg-config program" "$b/prog" "$version" hook

  # The same, without the hook, from a copy of the prefix: the .pc files find their
  # prefix from where they are (${pcfiledir}).
  local copy="$b/relocated-prefix"
  run "copy the prefix" cp -a "$PREFIX" "$copy"
  local pc_copy="$copy/${PC_DIR#"$PREFIX"/}"
  flags="$(PKG_CONFIG_PATH="$pc_copy" pkg-config --cflags --libs smarm_no_alloc_hook)" ||
    fail "pkg-config --cflags --libs smarm_no_alloc_hook (PKG_CONFIG_PATH=$pc_copy)"
  echo "smarm_no_alloc_hook.pc (relocated): flags: $flags" >>"$LOG"
  [[ "$flags" == *"-I$copy/"* && "$flags" == *"-L$copy/"* ]] ||
    fail "the relocated smarm_no_alloc_hook.pc does not point into its own prefix: $flags"
  # shellcheck disable=SC2086
  run "compile+link with pkg-config smarm_no_alloc_hook (relocated prefix)" \
    "$CXX_BIN" -std=c++20 tests/consumer/pkgconfig/prog.cpp $flags -o "$b/prog_no_hook"
  run "run the pkg-config program (no hook)" "$b/prog_no_hook" "$version" no-hook
}

check_sanitizer_warning() {
  local out="$WORK/warning-asan.txt"
  run_to "$out" "configure tests/consumer/installed with -fsanitize=address" \
    cmake -S tests/consumer/installed -B "$WORK/warning-asan" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_PREFIX_PATH="$PREFIX" \
    "-DCMAKE_CXX_FLAGS=-fsanitize=address -fno-omit-frame-pointer"
  warns "$out" "${WARNING_TEXT}address program" ||
    fail "no warning '...${WARNING_TEXT}address program...' in the configure output ($out)"
  out="$WORK/warning-tsan.txt"
  run_to "$out" "configure tests/consumer/installed with -fsanitize=thread (Debug flags)" \
    cmake -S tests/consumer/installed -B "$WORK/warning-tsan" -G Ninja \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_PREFIX_PATH="$PREFIX" \
    "-DCMAKE_CXX_FLAGS_DEBUG=-g -fsanitize=thread"
  warns "$out" "${WARNING_TEXT}thread program" ||
    fail "no warning '...${WARNING_TEXT}thread program...' in the configure output ($out)"
}

# list_files <dir>: every file and symlink under dir, relative, sorted.
list_files() { (cd "$1" && find . \( -type f -o -type l \) -printf '%P\n' | sort); }

check_fetchcontent() {
  local b="$WORK/fetchcontent"
  run "configure tests/consumer/fetchcontent" \
    cmake -S tests/consumer/fetchcontent -B "$b" -G Ninja \
    -DCMAKE_CXX_COMPILER="$CXX_BIN" -DSMARM_SOURCE_DIR="$ROOT" "${LAUNCHER[@]}"
  run "build tests/consumer/fetchcontent" cmake --build "$b" -j "$JOBS"
  run "ctest of tests/consumer/fetchcontent" ctest --test-dir "$b" --output-on-failure

  # Default: the consumer's install holds its own program and nothing of smarm's.
  local p1="$WORK/fetchcontent-install-default"
  run "install the FetchContent consumer" cmake --install "$b" --prefix "$p1"
  local files
  files="$(list_files "$p1")"
  echo "installed into $p1:" >>"$LOG"
  echo "$files" >>"$LOG"
  [[ "$files" == "bin/fetchcontent_consumer" ]] ||
    fail "with SMARM_INSTALL at its default, the consumer's install must hold only" \
      "bin/fetchcontent_consumer; it holds:"$'\n'"$files"

  # SMARM_INSTALL=ON: smarm's files are installed with the consumer's.
  local p2="$WORK/fetchcontent-install-smarm"
  run "reconfigure with -DSMARM_INSTALL=ON" cmake "$b" -DSMARM_INSTALL=ON
  run "build (SMARM_INSTALL=ON)" cmake --build "$b" -j "$JOBS"
  run "install (SMARM_INSTALL=ON)" cmake --install "$b" --prefix "$p2"
  files="$(list_files "$p2")"
  echo "installed into $p2:" >>"$LOG"
  echo "$files" >>"$LOG"
  local want missing=()
  for want in bin/fetchcontent_consumer include/smarm/smarm.hpp include/smarm/version.hpp \
    include/smarm/detail/core.hpp libsmarm.a libsmarm_no_alloc_hook.a \
    cmake/smarm/smarm-config.cmake cmake/smarm/smarm-config-version.cmake \
    cmake/smarm/smarmTargets.cmake pkgconfig/smarm.pc pkgconfig/smarm_no_alloc_hook.pc; do
    grep -q -x -E "(.*/)?${want//./\\.}" <<<"$files" || missing+=("$want")
  done
  ((${#missing[@]} == 0)) ||
    fail "with -DSMARM_INSTALL=ON the install lacks: ${missing[*]} (installed: $p2)"
  # ... and that install is a package find_package(smarm 0.2) accepts (configure only).
  run "configure tests/consumer/installed against the SMARM_INSTALL=ON install" \
    cmake -S tests/consumer/installed -B "$WORK/fetchcontent-installed-package" -G Ninja \
    -DCMAKE_CXX_COMPILER="$CXX_BIN" -DCMAKE_PREFIX_PATH="$p2"
  local config
  config="$(find "$p2" -path '*/cmake/smarm/smarm-config.cmake')"
  expect_smarm_dir "$WORK/fetchcontent-installed-package" "$(dirname "$config")"
}

# from_source <dir> <cxx> <cxx flags> <link flags>: configure and build
# tests/consumer/from-source (smarm via add_subdirectory) with the given sanitizer.
from_source() {
  local b="$1" cxx="$2" cxxflags="$3" ldflags="$4"
  command -v "$cxx" >/dev/null 2>&1 || fail "$cxx is not installed"
  run "configure tests/consumer/from-source" \
    cmake -S tests/consumer/from-source -B "$b" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_COMPILER="$cxx" "-DCMAKE_CXX_FLAGS=$cxxflags" \
    "-DCMAKE_EXE_LINKER_FLAGS=$ldflags" -DSMARM_SOURCE_DIR="$ROOT" "${LAUNCHER[@]}"
  run "build tests/consumer/from-source" cmake --build "$b" -j "$JOBS"
}

# run_sanitized <binary> <report pattern>: run it (the sanitizer's options are exported by
# the caller); it must exit 0 and print no report on stderr.
run_sanitized() {
  local bin="$1" pattern="$2" err="$1.stderr" rc=0
  echo "+ $bin (ASAN_OPTIONS=${ASAN_OPTIONS:-} TSAN_OPTIONS=${TSAN_OPTIONS:-})" >>"$LOG"
  "$bin" >>"$LOG" 2>"$err" || rc=$?
  cat "$err" >>"$LOG"
  ((rc == 0)) || fail "$bin exited with $rc"
  if grep -q -F "$pattern" "$err"; then
    fail "$bin: $pattern reported a problem (see $err)"
  fi
}

check_asan() {
  local b="$WORK/asan"
  from_source "$b" "$CXX_BIN" "-fsanitize=address -fno-omit-frame-pointer" "-fsanitize=address"
  local -x ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0
  run_sanitized "$b/from_source_consumer" AddressSanitizer
}

check_tsan() {
  local b="$WORK/tsan"
  from_source "$b" "$TSAN_CXX_BIN" "-fsanitize=thread" "-fsanitize=thread"
  local -x TSAN_OPTIONS=halt_on_error=1
  run_sanitized "$b/from_source_consumer" ThreadSanitizer
}

echo "consumer-check: smarm installed at $PREFIX; work dir $WORK"
check 1 "installed, plain (find_package)" check_installed
check 2 "installed, pkg-config only" check_pkgconfig
check 3 "installed, sanitizer warning" check_sanitizer_warning
check 4 "FetchContent from source" check_fetchcontent
check 5 "ASan, smarm from source" check_asan
check 6 "TSan, smarm from source" check_tsan
printf 'consumer-check: all %d checks passed in %ss  (cpu %ss)\n' "$NCHECKS" \
  "$(seconds_since "$TOTAL_START")" "$(tenths "$(cpu_ms)")"
