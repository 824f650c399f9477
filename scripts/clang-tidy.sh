#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# clang-tidy.sh [BUILD_DIR]: run clang-tidy-14 with the repository's .clang-tidy over the
# library's sources and fail on any finding (.clang-tidy makes every warning an error).
#
# BUILD_DIR (default build/clang-lto) must be the configured build directory of a Clang
# preset (cmake --preset clang-lto; nothing needs building): its compile_commands.json
# gives each file's flags, and GCC-only flags would make clang-tidy fail.
#
# What is checked: every src/**/*.cpp in BUILD_DIR/compile_commands.json, each once with
# the flags of its first entry there (the library's; test copies of the library compile
# the same files again with other flags), and the headers it includes from include/smarm
# and src (HeaderFilterRegex). Code the configuration leaves out is not in the compile
# database, so two files are added to the copy of it that clang-tidy reads:
#   - src/io/io_uring_backend.cpp (only an io_uring build compiles it), with the flags of
#     src/io/epoll_backend.cpp (liburing's headers are in /usr/include: nothing is missing);
#   - src/core/trace.cpp with -DSMARM_TRACING=1: the tracer, and the tracing parts of the
#     headers it includes, exist only in a build configured with SMARM_TRACING=ON (without
#     it the file is empty).
# Tests, benchmarks and examples are not checked.
#
# Two clang-tidy processes at a time (run-clang-tidy-14 from Debian's clang-tidy
# package when present, else xargs -P2). Prints only the findings, then how long it
# took. Exit status: 0 clean, 1 findings (or clang-tidy failed), 2 usage/setup error.
# Needs python3 (which Debian's clang-tidy depends on) to read the compile database.
set -euo pipefail

# BUILD_DIR as given is relative to the caller's directory; the default, to the repository.
if (($# > 0)); then
  [[ -d "$1" ]] || { echo "clang-tidy.sh: $1: no such directory" >&2; exit 2; }
  BUILD_DIR="$(cd "$1" && pwd)"
fi
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BUILD_DIR="${BUILD_DIR:-$ROOT/build/clang-lto}"
JOBS=2

DB="$BUILD_DIR/compile_commands.json"
if [[ ! -f "$DB" ]]; then
  echo "clang-tidy.sh: $DB not found; configure a Clang preset first (cmake --preset clang-lto)" >&2
  exit 2
fi
if ! grep -q '"command": "[^" ]*clang++' "$DB"; then
  echo "clang-tidy.sh: $BUILD_DIR is not a Clang build (its compiler is not clang++)" >&2
  exit 2
fi
if ! TIDY="$(command -v clang-tidy-14)"; then
  echo "clang-tidy.sh: clang-tidy-14 not found (Debian: apt-get install clang-tidy)" >&2
  exit 2
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "clang-tidy.sh: python3 not found (it reads the compile database)" >&2
  exit 2
fi

start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The compile database clang-tidy reads: see the top of this file. Prints the files.
mapfile -t files < <(python3 - "$DB" "$ROOT" "$work/compile_commands.json" <<'PY'
import json, re, sys

db_path, root, out_path = sys.argv[1:]
src = re.compile(re.escape(root) + r"/src/.+\.cpp$")
entries = {}
for e in json.load(open(db_path)):
    if src.match(e["file"]) and e["file"] not in entries:
        entries[e["file"]] = e


def with_file(e, old, new):
    e = dict(e, file=new)
    if "command" in e:
        e["command"] = e["command"].replace(old, new)
    else:
        e["arguments"] = [a.replace(old, new) for a in e["arguments"]]
    e.pop("output", None)
    return e


epoll, uring = root + "/src/io/epoll_backend.cpp", root + "/src/io/io_uring_backend.cpp"
if uring not in entries and epoll in entries:
    entries[uring] = with_file(entries[epoll], epoll, uring)
trace = entries.get(root + "/src/core/trace.cpp")
if trace and "SMARM_TRACING" not in json.dumps(trace):
    if "command" in trace:
        compiler, rest = trace["command"].split(" ", 1)
        trace["command"] = compiler + " -DSMARM_TRACING=1 " + rest
    else:
        trace["arguments"].insert(1, "-DSMARM_TRACING=1")

json.dump(list(entries.values()), open(out_path, "w"), indent=2)
print("\n".join(sorted(entries)))
PY
)
if ((${#files[@]} == 0)); then
  echo "clang-tidy.sh: no src/**/*.cpp in $DB" >&2
  exit 2
fi

log="$work/log"
status=0
if command -v run-clang-tidy-14 >/dev/null 2>&1; then
  run-clang-tidy-14 -clang-tidy-binary "$TIDY" -p "$work" -j "$JOBS" -quiet >"$log" 2>&1 ||
    status=1
else
  printf '%s\0' "${files[@]}" |
    xargs -0 -n 1 -P "$JOBS" "$TIDY" -p "$work" --quiet >"$log" 2>&1 || status=1
fi

# Drop the progress noise (run-clang-tidy's command lines, "N warnings generated.",
# clang-tidy's summary and hint lines) and colour codes: what is left are the findings
# and any tool errors.
sed -e 's/\x1b\[[0-9;]*m//g' "$log" | awk -v cmd="$TIDY " '
  index($0, cmd) == 1 { next }
  /^[0-9]+ (warnings?|errors?)( and [0-9]+ errors?)? generated\.$/ { next }
  /^Suppressed [0-9]+ warnings? / || /^Use -header-filter=/ { next }
  /^[0-9]+ warnings? treated as errors?$/ { next }
  { print }'

elapsed=$(($(date +%s) - start))
if ((status != 0)); then
  findings=$(sed -e 's/\x1b\[[0-9;]*m//g' "$log" | grep -E '^/.+:[0-9]+:[0-9]+: (warning|error): ' |
    sort -u | wc -l)
  echo "clang-tidy.sh: FAILED: $findings distinct finding(s) in ${#files[@]} files, ${elapsed}s" >&2
  exit 1
fi
echo "clang-tidy.sh: clean: ${#files[@]} files (src/), ${elapsed}s"
