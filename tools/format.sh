#!/usr/bin/env bash
# Formats the tracked C++ sources in place with the repository's .clang-format;
# `tools/format.sh --check` lists the files that need it and exits 1 if any do.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files '*.cc' '*.h')
if [[ "${1:-}" == "--check" ]]; then
  bad=0
  for f in "${files[@]}"; do
    if clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then :; else echo "$f"; bad=1; fi
  done
  exit $bad
fi
clang-format -i "${files[@]}"
