#!/usr/bin/env bash
# The second README command: build (installing what is missing) and run the
# whole test suite with ctest. Tests that need ../shared/data skip themselves
# when it is absent.
#   scripts/test.sh [--sanitize]   runs the suite on the ASan+UBSan build
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/build.sh" "$@"
build_dir=build
[[ "${1:-}" == "--sanitize" ]] && build_dir=build-asan
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OPENBLAS_NUM_THREADS=1
# The browser tests (label browser) drive chromium with playwright-core,
# locked in tests/browser/package-lock.json; without node/npm or chromium
# they report themselves skipped.
if command -v npm >/dev/null 2>&1 && [[ ! -d tests/browser/node_modules/playwright-core ]]; then
  npm ci --prefix tests/browser --no-audit --no-fund --ignore-scripts >/dev/null ||
    echo "test.sh: npm ci --prefix tests/browser failed; the browser tests will skip" >&2
fi
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 900
