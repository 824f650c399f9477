#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# quick-start.sh: the README's first command. Installs the dependencies, builds
# only the headline example with the release preset, and runs it.
set -euo pipefail

EXAMPLE="${SMARM_QUICK_EXAMPLE:-quick_taste}"   # examples/<EXAMPLE>.cpp
PRESET=release

cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake --preset "$PRESET"
cmake --build --preset "$PRESET" --target "$EXAMPLE"
echo "quick-start: running build/$PRESET/examples/$EXAMPLE"
exec "build/$PRESET/examples/$EXAMPLE"
