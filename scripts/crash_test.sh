#!/usr/bin/env bash
# kill -9 harness for `abis serve` (issue 6): a client streams enrolments,
# the server is killed with SIGKILL at a random moment, restarted, and then
#  - every enrolment acknowledged to the client (HTTP 201) must be present,
#  - `abis audit verify --data DIR` must pass.
# Repeats for --points N kill points (default 200) and reports the restart
# cost (process start to /healthz answering, which includes model loading).
#   scripts/crash_test.sh [--points N] [--abis PATH] [--models DIR] [--keep]
# Exit 0 when every point passed, 1 on the first failure, 77 when the face
# model is missing (ctest treats 77 as skipped).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
points=200
abis="$root/build/cli/abis"
models="${ABIS_MODELS:-$root/models}"
keep=0
while (($#)); do
  case "$1" in
    --points) points="$2"; shift 2 ;;
    --abis) abis="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "usage: $0 [--points N] [--abis PATH] [--models DIR] [--keep]" >&2; exit 2 ;;
  esac
done
photo="$models/face-api-1.7.15/demo/sample2.jpg"
if [[ ! -f "$models/face_recognition_resnet_v1.dat" || ! -f "$photo" ]]; then
  echo "crash_test: face model or sample photo missing under $models: skipped" >&2
  exit 77
fi
export ABIS_MODELS="$models" OPENBLAS_NUM_THREADS=1
work="$(mktemp -d "${TMPDIR:-/tmp}/abis_crash_XXXXXX")"
data="$work/data"
server=""
client=""
cleanup() {
  [[ -n "$client" ]] && kill -9 "$client" 2>/dev/null || true
  [[ -n "$server" ]] && kill -9 "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  if ((keep)); then echo "crash_test: files kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# A single-face crop keeps each enrolment short, so kills land at every
# stage of it (decode, detection, store commit, audit append).
ABIS_DB="$work/crop.db" "$abis" faces --crop "$work/crop" "$photo" >/dev/null
crop="$(ls "$work"/crop/*.png | head -1)"

url=""
start_server() {
  local log="$work/server.log"
  local started
  started=$(date +%s.%N)
  "$abis" serve --data "$data" --listen 127.0.0.1:0 --quiet >"$log" 2>>"$work/server.err" &
  server=$!
  for _ in $(seq 1 1200); do
    local port
    port="$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")"
    if [[ -n "$port" ]] && curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then
      url="http://127.0.0.1:$port"
      awk -v a="$(date +%s.%N)" -v b="$started" 'BEGIN { print a - b }' >>"$work/restart_seconds"
      return 0
    fi
    kill -0 "$server" 2>/dev/null || { echo "crash_test: server exited" >&2; cat "$work/server.err" >&2; return 1; }
    sleep 0.05
  done
  echo "crash_test: server did not answer /healthz" >&2
  return 1
}

start_server
bootstrap="$(cat "$data/bootstrap-token")"
token="$(curl -fsS -H "Authorization: Bearer $bootstrap" -H 'Content-Type: application/json' \
  -d '{"name":"crash-operator","role":"operator"}' "$url/v1/tokens" |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')"
# Listing the gallery afterwards is a governed consultation (docs/governance.md):
# a supervisor registers it and an authoriser issues an authority covering it.
issue_token() {  # $1 name, $2 role
  curl -fsS -H "Authorization: Bearer $bootstrap" -H 'Content-Type: application/json' \
    -d "{\"name\":\"$1\",\"role\":\"$2\"}" "$url/v1/tokens" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
supervisor="$(issue_token crash-supervisor supervisor)"
authoriser="$(issue_token crash-authoriser authoriser)"
curl -fsS -o /dev/null -H "Authorization: Bearer $supervisor" -H 'Content-Type: application/json' \
  -d '{"name":"crash","legal_basis":"national-biometrics-statute","provenance":"consented_enrolment",
       "subject_category":"other","retention_rule":"test data","review_interval_days":365,
       "owner":"crash-test"}' "$url/v1/galleries/registrations"
authority="$(python3 -c '
import datetime, json
now = datetime.datetime.now(datetime.timezone.utc)
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.000Z")
print(json.dumps({"kind": "consent", "reference": "crash-test", "issuing_body": "crash-test",
  "legal_basis": "national-biometrics-statute",
  "scope": {"galleries": ["crash"], "modalities": ["face"], "purpose": "missing_person",
    "case_id": "crash-case", "not_before": fmt(now - datetime.timedelta(hours=1)),
    "not_after": fmt(now + datetime.timedelta(days=30)), "max_searches": 1}}))' |
  curl -fsS -H "Authorization: Bearer $authoriser" -H 'Content-Type: application/json' -d @- \
    "$url/v1/authorities" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
: >"$work/acked"

stream_enrolments() {  # $1: point number; appends acknowledged identities.
  local j=0
  while :; do
    local id="p$1-$j"
    local code
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H "Authorization: Bearer $token" \
      -F gallery=crash -F "identity=$id" -F "image=@$crop;type=image/png" "$url/v1/enrolments" ||
      true)"
    [[ "$code" == 201 ]] && echo "$id" >>"$work/acked"
    j=$((j + 1))
  done
}

for ((point = 1; point <= points; point++)); do
  stream_enrolments "$point" &
  client=$!
  # 0.1 .. 2.0 s into the stream.
  sleep "$(printf '0.%03d' $((RANDOM % 1000)))"
  ((RANDOM % 2)) && sleep 1
  kill -9 "$server"
  wait "$server" 2>/dev/null || true
  kill -9 "$client" 2>/dev/null || true
  wait "$client" 2>/dev/null || true
  client=""
  start_server
  present="$(curl -fsS -H "Authorization: Bearer $token" \
    "$url/v1/identities?gallery=crash&authority_id=$authority&case_id=crash-case" |
    python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin)["identities"]))' 2>/dev/null |
    sort || true)"
  missing="$(comm -23 <(sort -u "$work/acked") <(echo "$present"))"
  if [[ -n "$missing" ]]; then
    echo "crash_test: point $point: acknowledged but missing after restart: $missing" >&2
    exit 1
  fi
  if ! "$abis" audit verify --data "$data" >"$work/verify.out" 2>&1; then
    echo "crash_test: point $point: audit verify failed:" >&2
    cat "$work/verify.out" >&2
    exit 1
  fi
  echo "point $point/$points ok: $(wc -l <"$work/acked") acknowledged enrolments present," \
    "$(sed -n 's/audit log OK: \([0-9]*\) events.*/\1/p' "$work/verify.out") audit events verified"
done
sort -n "$work/restart_seconds" | awk '{a[NR]=$1} END {
  printf "crash_test: %d kill points passed; restart to /healthz: min %.2f s, median %.2f s, max %.2f s\n",
    NR - 1, a[1], a[int((NR + 1) / 2)], a[NR]}'
