#!/usr/bin/env bash
# Load run of `abis serve` (issue 6): a gallery of --gallery-size synthetic
# templates carrying the real model header (abis_populate_synthetic, a
# development tool, not a route), then wrk POSTing identifications of a real
# photo for --duration, reporting p50/p95/p99 latency, throughput, errors,
# and the server's RSS sampled every 10 s (memory should stay flat).
#   scripts/load_test.sh [--gallery-size N] [--duration 10m] [--connections C]
#                        [--build DIR] [--photo F] [--data DIR]
# Default probe: face 0 of models/face-api-1.7.15/demo/sample6.jpg.
# Needs wrk (Debian package). Prints a summary and writes it to
# $work/summary.txt (the folder is printed).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
size=100000
duration=10m
connections=2
build="$root/build"
photo=""
data=""
while (($#)); do
  case "$1" in
    --gallery-size) size="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --photo) photo="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    *) echo "usage: see the top of $0" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "load_test: wrk missing (apt-get install wrk)" >&2; exit 1; }
export ABIS_MODELS="$root/models" OPENBLAS_NUM_THREADS=1
work="$(mktemp -d "${TMPDIR:-/tmp}/abis_load_XXXXXX")"
[[ -n "$data" ]] || data="$work/data"
# Default probe: face 0 of sample6.jpg (quality 94.5; governed searches
# refuse probes below the quality floor, 40, which most sample faces miss).
[[ -n "$photo" ]] || photo="$root/models/face-api-1.7.15/demo/sample6.jpg"
mkdir -p "$data"
echo "load_test: files in $work"

if [[ ! -f "$data/abis.db" ]]; then
  echo "== populating gallery \"load\" with $size synthetic templates"
  "$build/server/abis_populate_synthetic" --data "$data" --gallery load --count "$size" \
    --photo "$photo" --models "$root/models"
fi

port=$((20000 + RANDOM % 20000))
url="http://127.0.0.1:$port"
"$build/cli/abis" serve --data "$data" --listen "127.0.0.1:$port" --rate-limit 0 --quiet \
  >"$work/server.log" 2>"$work/server.err" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
  curl -fs "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
bootstrap="$(cat "$data/bootstrap-token" 2>/dev/null || true)"
issue_token() {  # $1 role
  curl -fsS -H "Authorization: Bearer $bootstrap" -H 'Content-Type: application/json' \
    -d "{\"name\":\"load-$1-$RANDOM\",\"role\":\"$1\"}" "$url/v1/tokens" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
token="$(issue_token operator)"
# Identifications run under a granted search authority (governance): the
# gallery is registered by a supervisor, an authority scoped to it requested
# by the operator and granted by an authoriser.
authority_fields=""
if [[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" \
  "$url/v1/authorities")" != 404 ]]; then
  authoriser="$(issue_token authoriser)"
  supervisor="$(issue_token supervisor)"
  curl -fsS -o /dev/null -H "Authorization: Bearer $supervisor" -H 'Content-Type: application/json' \
    -d '{"name":"load","legal_basis":"national-biometrics-statute","provenance":"custody_record",
         "subject_category":"suspect","original_purpose":"load test (synthetic templates)",
         "retention_rule":"delete after the run","review_interval_days":365,"owner":"load-test"}' \
    "$url/v1/galleries/registrations"
  python3 - >"$work/authority.json" <<'PY'
import datetime, json
now = datetime.datetime.now(datetime.timezone.utc)
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({"kind": "warrant", "reference": "LOAD-TEST", "issuing_body": "load test",
  "legal_basis": "national-biometrics-statute",
  "scope": {"galleries": ["load"], "modalities": ["face"], "purpose": "serious_crime_suspect",
            "case_id": "load-test", "offence_code": "robbery", "max_penalty_years": 10,
            "not_before": fmt(now - datetime.timedelta(hours=1)),
            "not_after": fmt(now + datetime.timedelta(days=1)), "max_searches": 10000}}))
PY
  authority="$(curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    --data-binary "@$work/authority.json" "$url/v1/authorities" |
    tee "$work/authority_reply.json" | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
  curl -fsS -o /dev/null -H "Authorization: Bearer $authoriser" -H 'Content-Type: application/json' \
    -d '{"reason":"load test"}' "$url/v1/authorities/$authority/grant"
  authority_fields="$authority"
fi

python3 - "$photo" "$token" "$authority_fields" >"$work/identify.lua" <<'PY'
import base64, json, sys
image = base64.b64encode(open(sys.argv[1], "rb").read()).decode()
request = {"gallery": "load", "image": image, "max_candidates": 20, "face_index": 0}
if sys.argv[3]:
    request.update({"authority_id": sys.argv[3], "galleries": ["load"], "case_id": "load-test"})
body = json.dumps(request)
print('wrk.method = "POST"')
print('wrk.headers["Content-Type"] = "application/json"')
print('wrk.headers["Authorization"] = "Bearer %s"' % sys.argv[2])
print('wrk.body = %s' % json.dumps(body))
print('''
non_2xx = 0
response = function(status, headers, body)
  if status ~= 200 then non_2xx = non_2xx + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("requests %d in %.1f s: %.2f req/s\\n", summary.requests,
    summary.duration / 1e6, summary.requests / (summary.duration / 1e6)))
  io.write(string.format("latency ms: p50 %.1f p95 %.1f p99 %.1f max %.1f\\n",
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3))
  io.write(string.format("errors: connect %d read %d write %d timeout %d non-2xx %d\\n",
    e.connect, e.read, e.write, e.timeout, e.status))
end
''')
PY

# A warm-up identification, also checking the result shape.
sed -n 's/^wrk.body = \(.*\)$/\1/p' "$work/identify.lua" |
  python3 -c 'import json, sys; print(json.loads(sys.stdin.read()))' >"$work/body.json"
curl -sS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  --data-binary "@$work/body.json" "$url/v1/identifications" | tee "$work/warmup.json" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print("warm-up: candidates", len(d.get("candidates") or []), "keys", sorted(d)[:8])'

(while kill -0 "$server" 2>/dev/null; do
  echo "$(date +%s) $(ps -o rss= -p "$server" | tr -d ' ')"
  sleep 10
done) >"$work/rss.txt" &
sampler=$!
wrk -t1 -c"$connections" -d"$duration" --timeout 60s -s "$work/identify.lua" \
  "$url/v1/identifications" | tee "$work/wrk.txt"
kill "$sampler" 2>/dev/null || true
{
  echo "gallery: $size synthetic references + model header of $(basename "$photo"); connections $connections; duration $duration"
  grep -E "^(requests|latency|errors)" "$work/wrk.txt"
  awk 'NR == 1 {first = $2} {last = $2; if ($2 > max) max = $2; if (min == "" || $2 < min) min = $2}
    END {printf "RSS KiB (every 10 s, %d samples): first %d, last %d, min %d, max %d\n", NR, first, last, min, max}' \
    "$work/rss.txt"
  # Flat memory: what RSS grew after the first minute (warm-up: model and
  # gallery caches, the first searches).
  awk 'NR == 7 {base = $2} NR >= 7 {last = $2} END {if (NR >= 7) printf "RSS growth after the first minute: %+d KiB over %d s\n", last - base, (NR - 7) * 10}' \
    "$work/rss.txt"
  echo "RSS samples: $(awk '{printf "%s ", $2}' "$work/rss.txt")"
} | tee "$work/summary.txt"
