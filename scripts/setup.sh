#!/usr/bin/env bash
# The first README command: install what is missing, build, then run the main
# job: the identification server (`abis serve`) in the foreground on an
# embedded SQLite data folder (./data), printing its URL and the one-time
# admin bootstrap secret. On the first start it enrols a small demo gallery
# ("demo") from the face-api package's sample photos over the HTTP API.
#   ABIS_DATA=DIR ABIS_LISTEN=HOST:PORT scripts/setup.sh   (defaults ./data, 127.0.0.1:8080)
#   scripts/setup.sh --no-serve    build only, then run the command-line demo instead
# Stop the server with Ctrl-C. scripts/test.sh and CI never run this script.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build.sh"
if [[ "${1:-}" == "--no-serve" ]]; then
  exec "$root/scripts/demo.sh"
fi

abis="$root/build/cli/abis"
data="${ABIS_DATA:-$root/data}"
listen="${ABIS_LISTEN:-127.0.0.1:8080}"
url="http://$listen"
export ABIS_MODELS="$root/models" OPENBLAS_NUM_THREADS=1
first_start=1
[[ -f "$data/principals.db" ]] && first_start=0

"$abis" serve --data "$data" --listen "$listen" --quiet &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 240); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "setup: abis serve did not start" >&2; exit 1; }
  sleep 0.5
done

if ((first_start)); then
  bootstrap="$(cat "$data/bootstrap-token")"
  echo "== enrolling the demo gallery from models/face-api-1.7.15/demo over the API"
  # A demo operator (the bootstrap token stays valid: it is revoked only once
  # it has created an admin).
  operator="$(curl -fsS -H "Authorization: Bearer $bootstrap" -H 'Content-Type: application/json' \
    -d '{"name":"demo-operator","role":"operator"}' "$url/v1/tokens" |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p')"
  work="$(mktemp -d)"
  samples="$root/models/face-api-1.7.15/demo"
  for k in 1 2 4 5 6; do
    ABIS_DB="$work/crop.db" "$abis" faces --crop "$work/crops/sample$k" "$samples/sample$k.jpg" \
      >/dev/null
  done
  enrolled=0 skipped=0
  for crop in "$work"/crops/*/*.png; do
    name="$(basename "$crop" .png)"
    # Crops that fail the capture-quality gates are refused (409): skipped.
    if curl -fs -o /dev/null -H "Authorization: Bearer $operator" -F gallery=demo \
      -F "identity=$name" -F "image=@$crop;type=image/png" "$url/v1/enrolments"; then
      enrolled=$((enrolled + 1))
    else
      skipped=$((skipped + 1))
    fi
  done
  rm -rf "$work"
  echo "   $enrolled faces enrolled in gallery \"demo\" ($skipped refused by the quality gates);" \
    "demo operator token: $operator"
fi

echo
echo "abis server running at $url/  (data: $data, API: $url/v1/openapi.json)"
if [[ -f "$data/bootstrap-token" ]]; then
  echo "one-time admin bootstrap secret: $(cat "$data/bootstrap-token")"
  echo "  (also in $data/bootstrap-token, mode 0600; revoked once it has created an admin)"
fi
echo "try: curl -H \"Authorization: Bearer \$TOKEN\" -F gallery=demo" \
  "-F image=@models/face-api-1.7.15/demo/sample3.jpg -F face_index=0 $url/v1/identifications"
echo "Ctrl-C stops the server."
wait "$server"
