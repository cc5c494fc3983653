#!/usr/bin/env bash
# Installs what monitoring/start_monitoring.sh needs: Prometheus and promtool
# from the Debian package `prometheus` when they are missing. Grafana is not in
# Debian's archive, so this script only reports whether a grafana-server binary
# is already installed and never downloads one. It prints each step it takes.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: monitoring/setup_monitoring.sh [--help]

Installs Prometheus and promtool with apt-get (Debian package `prometheus`)
when `prometheus` or `promtool` is not on PATH, then checks
monitoring/prometheus.yml, monitoring/alert_rules.yml and the rule unit tests
with promtool. Reports whether Grafana (`grafana-server`) is installed, but
does not install Grafana.

Installing needs root, or sudo for apt-get.
EOF
}

case "${1:-}" in
    -h | --help)
        usage
        exit 0
        ;;
    "") ;;
    *)
        echo "error: unknown argument '$1'" >&2
        usage >&2
        exit 2
        ;;
esac

monitoring_dir=$(cd "$(dirname "$0")" && pwd)

step() {
    printf '==> %s\n' "$*"
}

# Runs "$@" as root: directly when already root, otherwise through sudo.
as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "error: '$*' needs root, and sudo is not installed. Run this script as root." >&2
        exit 1
    fi
}

step "Prometheus and promtool"
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
    echo "already installed: $(command -v prometheus), $(command -v promtool)"
else
    echo "missing, so installing the Debian package prometheus with apt-get"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
fi
prometheus --version 2>&1 | head -n 1
promtool --version 2>&1 | head -n 1

# On a machine with systemd, the package enables and starts its own service on
# port 9090, which start_monitoring.sh would then find taken.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    echo "note: the system service 'prometheus' is running and may hold port 9090."
    echo "      Stop it with 'systemctl stop prometheus', or pass --prometheus-port to start_monitoring.sh."
fi

step "Checking the monitoring files with promtool"
promtool check config "${monitoring_dir}/prometheus.yml"
promtool check rules "${monitoring_dir}/alert_rules.yml"
promtool test rules "${monitoring_dir}/tests/alert_rules_test.yml"

step "Grafana"
if command -v grafana-server >/dev/null 2>&1; then
    echo "found: $(command -v grafana-server). start_monitoring.sh starts it on 127.0.0.1:3000."
else
    echo "grafana-server is not installed, so start_monitoring.sh runs Prometheus only."
    echo "Grafana is not in Debian's archive. If you install it yourself, the provisioning files are in"
    echo "${monitoring_dir}/grafana/provisioning and the dashboard in ${monitoring_dir}/grafana/dashboards."
fi

step "Done"
echo "Next: start taquilla (cargo run --release -p taquilla -- serve --demo), then run ${monitoring_dir}/start_monitoring.sh"
