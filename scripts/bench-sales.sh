#!/usr/bin/env bash
# Measures complete sales per second (hold → order → payment → tickets) and
# latency at 1, 8 and 32 concurrent clients, on SQLite and on PostgreSQL, with
# the release build of `taquilla serve` on loopback, and its peak RSS per run.
# Then runs PostgreSQL's own ceiling (../shared/bench/pgbench-sale) in the same
# sitting. Results go to stdout and to bench-results/ as JSON.
#
# Usage: scripts/bench-sales.sh [SECONDS_PER_RUN] [FLOW]   (default 20 online)
#   FLOW online: hold, order, payment and tickets (four requests per sale);
#   FLOW quick: one POST /api/v1/sales per sale, as at the box office.
# With TENANTS=N (default 1), each run first creates N tenants with
# `taquilla create-admin`, and the sales go round-robin to them, each tenant on
# its own event (`load-test --tenants N`).
# Needs: cargo, PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres), pgbench, psql.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
flow=${2:-online}
tenants=${TENANTS:-1}
port=8100
bin=target/release/taquilla
out=bench-results
mkdir -p "$out"
cargo build --release -p taquilla >&2

run_backend() {
  local name=$1 database_url=$2 workdir
  workdir=$(mktemp -d)
  for clients in 1 8 32; do
    rm -f "$workdir"/taquilla.db*
    if [[ -n "$database_url" ]]; then
      psql "postgres://postgres@127.0.0.1:5432/postgres" -qc "DROP DATABASE IF EXISTS taquilla_bench WITH (FORCE)" -qc "CREATE DATABASE taquilla_bench"
    fi
    local sellers=()
    if (( tenants > 1 )); then
      for n in $(seq 1 "$tenants"); do
        DATABASE_URL=$database_url TAQUILLA_DATA_DIR=$workdir TAQUILLA_ADMIN_PASSWORD=bench-password-2026 \
          "$bin" create-admin --username "bench-$n-admin" --email "bench-$n@example.com" \
          --tenant "bench-$n" --tenant-name "Bench $n" --tenant-rif J-12345678-4 \
          --tenant-address Loopback >/dev/null 2>"$workdir/create-admin.log" \
          || { cat "$workdir/create-admin.log" >&2; exit 1; }
      done
      echo "created $tenants tenants" >&2
      sellers=(--tenants "$tenants" --username 'bench-{tenant}-admin' --password bench-password-2026)
    fi
    # Every load-test request comes from one user and one address, so the
    # per-user and per-IP limits are off for the run.
    DATABASE_URL=$database_url TAQUILLA_DATA_DIR=$workdir TAQUILLA_BIND=127.0.0.1:$port \
      TAQUILLA_DB_MAX_CONNECTIONS=32 TAQUILLA_RATE_LIMIT_USER_PER_HOUR=0 \
      TAQUILLA_RATE_LIMIT_IP_PER_HOUR=0 TAQUILLA_RATE_LIMIT_LOGIN_PER_MINUTE=0 \
      "$bin" serve --demo >"$workdir/serve-$clients.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do
      curl -sf "http://127.0.0.1:$port/health/live" >/dev/null && break
      sleep 0.2
    done
    "$bin" load-test --target-url "http://127.0.0.1:$port" --concurrent-users "$clients" \
      --duration "$seconds" --flow "$flow" "${sellers[@]}" --json >"$out/$name-$flow-$tenants-$clients.json"
    local rss
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    kill -TERM "$pid"
    wait "$pid" || true
    python3 - "$out/$name-$flow-$tenants-$clients.json" "$rss" "$name" <<'PY'
import json, sys
path, rss_kib, backend = sys.argv[1], int(sys.argv[2]), sys.argv[3]
report = json.load(open(path))
report["backend"] = backend
report["peak_rss_mib"] = round(rss_kib / 1024, 1)
json.dump(report, open(path, "w"), indent=2)
sale = next(kind for kind in report["requests"] if kind["kind"] in ("complete_sale", "quick_sale"))
print(f"{backend:<9} {report['flow']:<6} tenants={report['tenants']:<3} clients={report['concurrent_users']:<3} sales/s={report['sales_per_second']:8.1f} "
      f"p50={sale['p50_ms']:7.1f} ms p95={sale['p95_ms']:7.1f} ms p99={sale['p99_ms']:7.1f} ms "
      f"failed={report['sales_failed']} peak_rss={report['peak_rss_mib']} MiB")
PY
  done
  rm -rf "$workdir"
}

run_backend sqlite ""
run_backend postgres "postgres://postgres@127.0.0.1:5432/taquilla_bench"
psql "postgres://postgres@127.0.0.1:5432/postgres" -qc "DROP DATABASE IF EXISTS taquilla_bench WITH (FORCE)"

ceiling=../shared/bench/pgbench-sale/run.sh
if [[ -x "$ceiling" || -f "$ceiling" ]]; then
  echo "PostgreSQL ceiling (pgbench-sale, ${seconds} s per run):"
  SECONDS_PER_RUN=$seconds bash "$ceiling" "postgres://postgres@127.0.0.1:5432/taquilla_ceiling"
fi
