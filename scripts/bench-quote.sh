#!/usr/bin/env bash
# Measures the cost of a price quote for a 2,500-seat zone map: the time of
# `GET /api/v1/zones/{id}/availability` for a numbered zone of 50 rows × 50
# seats. The zone is priced through an event-wide stage, a row markup with
# per-row overrides and per-seat modifiers. Runs the release build of `taquilla serve
# --demo` on loopback, on SQLite and on PostgreSQL, with one client sending
# requests back to back, and prints the median, p95 and p99 in milliseconds.
#
# Usage: scripts/bench-quote.sh [REQUESTS]   (default 300)
# Needs: cargo, curl, python3, PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres).
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-300}
port=8101
bin=target/release/taquilla
base="http://127.0.0.1:$port/api/v1"
cargo build --release -p taquilla >&2

json_field() {
  python3 -c "import json,sys; print(json.load(sys.stdin)$1)"
}

run_backend() {
  local name=$1 database_url=$2 workdir pid token event zone
  workdir=$(mktemp -d)
  if [[ -n "$database_url" ]]; then
    psql "postgres://postgres@127.0.0.1:5432/postgres" -qc "DROP DATABASE IF EXISTS taquilla_quote WITH (FORCE)" -qc "CREATE DATABASE taquilla_quote"
  fi
  DATABASE_URL=$database_url TAQUILLA_DATA_DIR=$workdir TAQUILLA_BIND=127.0.0.1:$port \
    "$bin" serve --demo >"$workdir/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break
    sleep 0.2
  done

  token=$(curl -sf "$base/auth/login" -H 'content-type: application/json' \
    -d '{"username":"demo-admin","password":"demo-admin-2026"}' | json_field "['access_token']")
  local auth=(-H "authorization: Bearer $token" -H 'content-type: application/json')
  event=$(curl -sf "$base/events" "${auth[@]}" | json_field "['items'][0]['id']")
  local rows
  rows=$(python3 -c "print([50]*50)")
  zone=$(curl -sf "$base/events/$event/zones" "${auth[@]}" \
    -d "{\"name\":\"Mapa 2500\",\"kind\":\"numbered\",\"rows\":$rows,\"price_usd_cents\":4000}" | json_field "['id']")
  curl -sf "$base/events/$event/stages" "${auth[@]}" \
    -d '{"name":"Preventa","modifier":{"kind":"percent","basis_points":-1500},"quantity_limit":1000}' >/dev/null
  curl -sf "$base/events/$event/stages" "${auth[@]}" \
    -d '{"name":"General","modifier":{"kind":"percent","basis_points":0}}' >/dev/null
  local seats
  seats=$(curl -sf "$base/zones/$zone/availability" "${auth[@]}" | python3 -c \
    "import json,sys; s=json.load(sys.stdin)['seats']; print(json.dumps([{'seat_id': x['id'], 'usd_cents': 250} for x in s[::25]]))")
  curl -sf -X PATCH "$base/zones/$zone/pricing" "${auth[@]}" \
    -d "{\"row_markup_basis_points\":500,\"rows\":[{\"row\":\"A\",\"basis_points\":3000},{\"row\":\"B\",\"basis_points\":2500},{\"row\":\"C\",\"basis_points\":2000}],\"seats\":$seats}" >/dev/null

  # Warm up, then time each request.
  for _ in $(seq 1 20); do
    curl -sf -o /dev/null "$base/zones/$zone/availability" "${auth[@]}"
  done
  for _ in $(seq 1 "$requests"); do
    curl -sf -o /dev/null -w '%{time_total}\n' "$base/zones/$zone/availability" "${auth[@]}"
  done >"$workdir/times.txt"
  local bytes
  bytes=$(curl -sf "$base/zones/$zone/availability" "${auth[@]}" | wc -c)
  kill -TERM "$pid"
  wait "$pid" || true
  python3 - "$workdir/times.txt" "$name" "$bytes" <<'PY'
import statistics, sys
times = sorted(float(line) * 1000 for line in open(sys.argv[1]) if line.strip())
def pct(p):
    return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))]
print(f"{sys.argv[2]}: {len(times)} quotes of 2,500 seats ({int(sys.argv[3]) // 1024} KiB each): "
      f"median {statistics.median(times):.1f} ms, p95 {pct(95):.1f} ms, p99 {pct(99):.1f} ms")
PY
  rm -rf "$workdir"
}

run_backend sqlite ""
run_backend postgres "postgres://postgres@127.0.0.1:5432/taquilla_quote"
psql "postgres://postgres@127.0.0.1:5432/postgres" -qc "DROP DATABASE IF EXISTS taquilla_quote WITH (FORCE)"
