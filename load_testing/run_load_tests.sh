#!/usr/bin/env bash
# Runs the Artillery plans of artillery.yml against a taquilla server.
#
# Usage: load_testing/run_load_tests.sh smoke|standard|stress|all [TARGET_URL]
#   TARGET_URL defaults to http://127.0.0.1:8000. The script refuses any host
#   but loopback unless TAQUILLA_LOAD_TEST_ALLOW_REMOTE=1 is set, because the
#   sales scenario sells real tickets.
# Needs Artillery 2 (`npm install -g artillery@2`, or `npx artillery`), and a
# scratch server: `taquilla serve --demo` with the rate limits turned off, as
# the header of artillery.yml explains. Reports go to load_testing/reports/.
set -euo pipefail
cd "$(dirname "$0")"

plan=${1:-}
target=${2:-http://127.0.0.1:8000}
case "$plan" in
  smoke | standard | stress) plans=("$plan") ;;
  all) plans=(smoke standard stress) ;;
  *)
    echo "usage: $0 smoke|standard|stress|all [TARGET_URL]" >&2
    exit 2
    ;;
esac

host=$(python3 -c "import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).hostname or '')" "$target")
if [[ "$host" != "127.0.0.1" && "$host" != "localhost" && "$host" != "::1" && "${TAQUILLA_LOAD_TEST_ALLOW_REMOTE:-}" != "1" ]]; then
  echo "error: $target is not on loopback; set TAQUILLA_LOAD_TEST_ALLOW_REMOTE=1 to load a scratch server elsewhere" >&2
  exit 2
fi
if ! curl -sf "$target/health/live" >/dev/null; then
  echo "error: no taquilla answers at $target/health/live; start one with: taquilla serve --demo" >&2
  exit 1
fi
if command -v artillery >/dev/null 2>&1; then
  artillery=(artillery)
else
  artillery=(npx --no-install artillery)
fi

# Artillery sends usage reports to its makers unless this variable is set.
export ARTILLERY_DISABLE_TELEMETRY=true
mkdir -p reports
status=0
for name in "${plans[@]}"; do
  echo "==> $name plan against $target"
  if ! "${artillery[@]}" run --target "$target" --environment "$name" \
    --output "reports/$name.json" artillery.yml; then
    echo "$name plan FAILED (a threshold or condition of 'ensure' was not met)" >&2
    status=1
  fi
done
exit "$status"
