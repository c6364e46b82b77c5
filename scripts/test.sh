#!/usr/bin/env bash
# The README's test command: installs what is missing, configures fresh build directories,
# builds, runs every test suite (unit, integration, the bounded fuzz run, the unit tests under
# ASan+UBSan) and ends with one line "N passed, N failed" counted from meson's test logs.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }

status=0
run_suite() {  # BUILD_DIR meson-test-args...
  local dir=$1; shift
  meson test -C "$dir" --print-errorlogs "$@" || status=1
}

# 1. The product build: unit and integration tests.
rm -rf build
if meson setup build && ninja -C build; then
  run_suite build --suite unit --suite integration
else
  echo "build failed"; status=1
fi

# 2. The FastCGI codec and parsers under libFuzzer (clang), for a bounded time each.
rm -rf build-fuzz
if CXX=clang++ CC=clang meson setup build-fuzz -Dfuzzing=true -Dfuzz_seconds="${FUZZ_SECONDS:-60}" \
   && ninja -C build-fuzz $(cd build-fuzz && meson introspect --targets | python3 -c 'import json,os,sys; print(" ".join(os.path.relpath(t["filename"][0]) for t in json.load(sys.stdin) if t["name"].startswith("fuzz_")))'); then
  run_suite build-fuzz --no-rebuild --suite fuzz
else
  echo "fuzz build failed"; status=1
fi

# 3. Under AddressSanitizer + UndefinedBehaviorSanitizer: the unit-test programs (script checks
#    such as the man-page lint gain nothing from a sanitizer build), then the integration tests
#    that need no PHP shared extension against the sanitized php-pool (suite asan-integration).
rm -rf build-asan
if meson setup build-asan -Dsanitizers=true; then
  mapfile -t asan_tests < <(cd build-asan && meson introspect --tests | python3 -c '
import json, sys
build = sys.argv[1]
for t in json.load(sys.stdin):
    if "unit" in t["suite"][0] and t["cmd"][0].startswith(build + "/"):
        print(t["name"], t["cmd"][0][len(build) + 1:])' "$root/build-asan")
  if ninja -C build-asan "${asan_tests[@]#* }" src/php-pool; then
    ASAN_OPTIONS=detect_leaks=1 run_suite build-asan --no-rebuild "${asan_tests[@]%% *}"
    run_suite build-asan --no-rebuild --suite asan-integration --logbase asan-integration
  else
    echo "sanitizer build failed"; status=1
  fi
else
  echo "sanitizer build failed"; status=1
fi

python3 scripts/count-tests.py build/meson-logs/testlog.json build-fuzz/meson-logs/testlog.json \
  build-asan/meson-logs/testlog.json build-asan/meson-logs/asan-integration.json
rc=$?
[ $status -ne 0 ] && rc=1
exit $rc
