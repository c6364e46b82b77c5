#!/usr/bin/env bash
# Builds php-pool (release) and runs the side-by-side benchmark against php-fpm 8.2.
#   bash bench/run.sh                 the full run (~15 minutes on 2 cores); writes bench/RESULTS.md
#   bash bench/run.sh --quick         a development run: 1 round of 3 s, nothing written
#   BUILD=/path/to/build bash bench/run.sh ...   use (and update) that build directory
# Everything after the script's name goes to bench/bench.py (see --help).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
build="${BUILD:-/tmp/build-bench}"
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$repo" --buildtype=release
fi
ninja -C "$build" src/php-pool
exec /usr/bin/python3 "$here/bench.py" --pool-bin "$build/src/php-pool" "$@"
