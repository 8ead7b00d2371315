#!/usr/bin/env bash
# The first README command: install what is missing, build, and run the main
# job (for now the face demo: enrol the sample photos, identify one).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
exec "$root/scripts/demo.sh"
