#!/usr/bin/env bash
# The main job, end to end: install dependencies, build, boot the test VM
# and run the demo scenario (tests/vm/scenarios/demo.sh) in it.
# Extra arguments go to tests/vm/run.sh (e.g. --keep, --timeout 1200).
# The build tree is $DDUBLK_BUILD_ROOT/build (default: the repo top).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${DDUBLK_BUILD_ROOT:-$top}/build
"$top/scripts/deps.sh"
cmake -S "$top" -B "$build" -DDDUBLK_WERROR=ON >/dev/null
cmake --build "$build" -j"$(nproc)"
exec "$top/tests/vm/run.sh" --build-dir "$build" "$@" demo
