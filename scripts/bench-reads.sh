#!/usr/bin/env bash
# Measures read throughput of the release build of `taquilla serve` with wrk on
# loopback: the seat map of a 500-seat numbered zone served from the cache,
# the same map with the cache entry replaced by a hold and release every
# 100 ms, the events list and /health/live. Prints requests per second and the
# latency percentiles wrk reports, and the server's peak RSS.
#
# Usage: scripts/bench-reads.sh [SECONDS_PER_RUN] [CONNECTIONS]   (default 10 64)
# Needs: cargo, wrk, curl, python3. Runs on SQLite in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-64}
port=8110
base="http://127.0.0.1:$port"
# TAQUILLA_BIN runs another build as is, for example a debug one to try the script.
bin=${TAQUILLA_BIN:-target/release/taquilla}
[[ -n "${TAQUILLA_BIN:-}" ]] || cargo build --release -p taquilla >&2

workdir=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$workdir"' EXIT
# Rate limits off: the load comes from one user and one address.
TAQUILLA_DATA_DIR=$workdir TAQUILLA_BIND=127.0.0.1:$port \
  TAQUILLA_RATE_LIMIT_USER_PER_HOUR=0 TAQUILLA_RATE_LIMIT_IP_PER_HOUR=0 \
  "$bin" serve --demo >"$workdir/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do
  curl -sf "$base/health/live" >/dev/null && break
  sleep 0.2
done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -sf "$base/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"username":"demo-admin","password":"demo-admin-2026"}' | json "['access_token']")
auth=(-H "Authorization: Bearer $token" -H 'content-type: application/json')

# An event with one numbered zone of 20 rows of 25 seats.
venue=$(curl -sf "$base/api/v1/venues" "${auth[@]}" | json "['items'][0]['id']")
read -r starts sale_starts sale_ends < <(python3 -c "
import datetime as d
now = d.datetime.now(d.timezone.utc)
f = lambda t: t.strftime('%Y-%m-%dT%H:%M:%SZ')
print(f(now + d.timedelta(days=30)), f(now - d.timedelta(hours=1)), f(now + d.timedelta(days=29)))")
event=$(curl -sf "$base/api/v1/events" "${auth[@]}" -d "{\"venue_id\":\"$venue\",\"name\":\"Lectura 500\",\
\"starts_at\":\"$starts\",\"sale_starts_at\":\"$sale_starts\",\"sale_ends_at\":\"$sale_ends\"}" | json "['id']")
zone=$(curl -sf "$base/api/v1/events/$event/zones" "${auth[@]}" -d '{"name":"Sala 500","kind":"numbered",
"rows":[25,25,25,25,25,25,25,25,25,25,25,25,25,25,25,25,25,25,25,25],"price_usd_cents":2000}' | json "['id']")
curl -sf -X POST "$base/api/v1/events/$event/activate" "${auth[@]}" >/dev/null
seat=$(curl -sf "$base/api/v1/zones/$zone/availability" "${auth[@]}" | json "['seats'][0]['id']")

run_wrk() {
  local name=$1 url=$2
  local output
  output=$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$url")
  python3 - "$name" "$output" <<'PY'
import re, sys
name, text = sys.argv[1], sys.argv[2]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def ms(label):
    match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{name:<28} {rps:>10.0f} req/s  p50 {ms(50):7.2f} ms  p90 {ms(90):7.2f} ms  "
      f"p99 {ms(99):7.2f} ms  non-2xx {errors.group(1) if errors else 0}")
PY
}

echo "$bin, SQLite, $connections connections, ${seconds}s per run, $(nproc) CPUs"
run_wrk "availability_500_cached" "$base/api/v1/zones/$zone/availability"

# A cashier holds and releases a seat every 100 ms, so each change replaces
# the cached map and some reads load it from the database.
(
  end=$((SECONDS + seconds + 1))
  while ((SECONDS < end)); do
    hold=$(curl -sf "$base/api/v1/holds" "${auth[@]}" -d "{\"zone_id\":\"$zone\",\"seat_ids\":[\"$seat\"]}" | json "['id']") || true
    [[ -n "${hold:-}" ]] && curl -sf -X DELETE "$base/api/v1/holds/$hold" "${auth[@]}" >/dev/null || true
    sleep 0.1
  done
) &
changer=$!
run_wrk "availability_500_with_holds" "$base/api/v1/zones/$zone/availability"
wait "$changer" || true

run_wrk "events_list" "$base/api/v1/events"
run_wrk "health_live" "$base/health/live"
echo "peak RSS of serve: $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$server/status")"
curl -sf "$base/metrics" | grep '^venezuelan_pos_cache_operations_total{operation="get"' || true
