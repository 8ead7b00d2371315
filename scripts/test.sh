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
ctest --test-dir "$build_dir" --output-on-failure -j "$(nproc)" --timeout 900
