#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# install-deps.sh: install the Debian 12 packages smarm needs to build, test
# and benchmark. Idempotent: checks each package with dpkg and only runs
# apt-get (update once, then install) when something is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

packages=(
  g++ cmake ninja-build pkg-config
  clang llvm libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  liburing-dev librange-v3-dev libboost1.81-dev
  valgrind clang-format clang-tidy ccache
)

if ! command -v dpkg >/dev/null 2>&1; then
  echo "install-deps: dpkg not found; this script targets Debian 12." >&2
  echo "install-deps: install the equivalents of: ${packages[*]}" >&2
  exit 0
fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed$'; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo env DEBIAN_FRONTEND=noninteractive)
  else
    echo "install-deps: missing packages (${missing[*]}), and not root and no sudo" >&2
    exit 1
  fi
fi

echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
