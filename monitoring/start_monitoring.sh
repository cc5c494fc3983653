#!/usr/bin/env bash
# Runs Prometheus, and Grafana when grafana-server is installed, on loopback
# against a local taquilla, in the foreground until Ctrl-C. Both stop when the
# script exits.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: monitoring/start_monitoring.sh [options]

Starts Prometheus on 127.0.0.1 with monitoring/prometheus.yml and
monitoring/alert_rules.yml, scraping taquilla's /metrics. When grafana-server
is installed, also starts Grafana on 127.0.0.1 with the data source and the
taquilla dashboard provisioned, and with usage reporting, update checks, news
and plugin downloads turned off. Prints the URLs and runs until Ctrl-C, then
stops both.

Options:
  --taquilla HOST:PORT     Address of taquilla's /metrics (default 127.0.0.1:8000).
  --data-dir DIR           Directory for the generated configuration, the
                           Prometheus database, Grafana's data and the logs.
                           Kept after exit. Default: a new temporary directory,
                           removed at exit.
  --prometheus-port PORT   Prometheus port on 127.0.0.1 (default 9090).
  --grafana-port PORT      Grafana port on 127.0.0.1 (default 3000).
  --no-grafana             Do not start Grafana even when it is installed.
  -h, --help               Show this help.

Environment:
  GRAFANA_HOME             Grafana's home directory, which contains conf/ and
                           public/ (default /usr/share/grafana).

Run monitoring/setup_monitoring.sh first to install Prometheus.
EOF
}

# Seconds to wait for Prometheus or Grafana to report ready.
READY_TIMEOUT_SECONDS=60

taquilla_address=127.0.0.1:8000
data_dir=""
prometheus_port=9090
grafana_port=3000
start_grafana=true

# Returns the value of option $1, or exits when it is missing ($2 is the next argument).
option_value() {
    if [[ $# -lt 2 || -z "$2" || "$2" == --* ]]; then
        echo "error: option $1 needs a value" >&2
        exit 2
    fi
    printf '%s' "$2"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --taquilla)
            taquilla_address=$(option_value "$1" "${2:-}")
            shift 2
            ;;
        --data-dir)
            data_dir=$(option_value "$1" "${2:-}")
            shift 2
            ;;
        --prometheus-port)
            prometheus_port=$(option_value "$1" "${2:-}")
            shift 2
            ;;
        --grafana-port)
            grafana_port=$(option_value "$1" "${2:-}")
            shift 2
            ;;
        --no-grafana)
            start_grafana=false
            shift
            ;;
        -h | --help)
            usage
            exit 0
            ;;
        *)
            echo "error: unknown argument '$1'" >&2
            usage >&2
            exit 2
            ;;
    esac
done

for port in "$prometheus_port" "$grafana_port"; do
    if ! [[ "$port" =~ ^[0-9]+$ ]] || ((port < 1 || port > 65535)); then
        echo "error: invalid port '$port'. Expected a number from 1 to 65535." >&2
        exit 2
    fi
done
if ! [[ "$taquilla_address" =~ ^[^:/[:space:]]+:[0-9]+$ ]]; then
    echo "error: invalid --taquilla '$taquilla_address'. Expected HOST:PORT, for example 127.0.0.1:8000." >&2
    exit 2
fi

for tool in prometheus promtool curl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: $tool is not installed. Run monitoring/setup_monitoring.sh first (for curl: apt-get install curl)." >&2
        exit 1
    fi
done

monitoring_dir=$(cd "$(dirname "$0")" && pwd)

remove_data_dir=false
if [[ -z "$data_dir" ]]; then
    data_dir=$(mktemp -d -t taquilla-monitoring.XXXXXX)
    remove_data_dir=true
fi
mkdir -p "$data_dir"
data_dir=$(cd "$data_dir" && pwd)

prometheus_pid=""
grafana_pid=""

# Stops what this script started and removes a temporary data directory.
# shellcheck disable=SC2317 # Called from the EXIT trap, which shellcheck 0.9 does not follow.
cleanup() {
    local pid
    for pid in "$grafana_pid" "$prometheus_pid"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ "$remove_data_dir" == true ]]; then
        rm -rf "$data_dir"
    else
        echo "Data and logs kept in ${data_dir}"
    fi
}
trap cleanup EXIT
trap 'echo; echo "Stopping"; exit 0' INT TERM

# Succeeds when a server accepts TCP connections on 127.0.0.1 port $1.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Exits when port $1 is taken, because the readiness check would then reach
# the other server. $2 names the option that moves the service.
require_free_port() {
    if port_in_use "$1"; then
        echo "error: port $1 on 127.0.0.1 is already in use (by another Prometheus or Grafana, for example the Debian prometheus service). Stop that server or pass $2." >&2
        exit 1
    fi
}

# Polls URL $2 until it returns a 2xx status, while process $3 runs. $1 names
# the service and $4 is its log file.
wait_ready() {
    local name=$1 url=$2 pid=$3 log=$4 waited=0
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "error: ${name} exited during startup. The end of ${log}:" >&2
            tail -n 20 "$log" >&2 || true
            exit 1
        fi
        if ((waited >= READY_TIMEOUT_SECONDS)); then
            echo "error: ${name} was not ready at ${url} within ${READY_TIMEOUT_SECONDS} s. See ${log}." >&2
            exit 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

echo "==> Prometheus configuration in ${data_dir}"
# The checked-in configuration scrapes 127.0.0.1:8000. The copy scrapes
# --taquilla and loads the rules from the copy's own directory.
sed "s|\"127\\.0\\.0\\.1:8000\"|\"${taquilla_address}\"|" \
    "${monitoring_dir}/prometheus.yml" >"${data_dir}/prometheus.yml"
cp "${monitoring_dir}/alert_rules.yml" "${data_dir}/alert_rules.yml"
if ! grep -qF "\"${taquilla_address}\"" "${data_dir}/prometheus.yml"; then
    echo "error: could not set the scrape target in ${data_dir}/prometheus.yml" >&2
    exit 1
fi
promtool check config "${data_dir}/prometheus.yml"

echo "==> taquilla at ${taquilla_address}"
if curl -fsS -o /dev/null "http://${taquilla_address}/metrics"; then
    echo "taquilla responds on http://${taquilla_address}/metrics"
else
    echo "warning: no response from http://${taquilla_address}/metrics, so Prometheus shows the target as down until taquilla runs"
    echo "         (start it with: cargo run --release -p taquilla -- serve --demo)"
fi

echo "==> Starting Prometheus on 127.0.0.1:${prometheus_port}"
require_free_port "$prometheus_port" --prometheus-port
prometheus \
    --config.file="${data_dir}/prometheus.yml" \
    --storage.tsdb.path="${data_dir}/prometheus-data" \
    --web.listen-address="127.0.0.1:${prometheus_port}" \
    >"${data_dir}/prometheus.log" 2>&1 &
prometheus_pid=$!
echo "Prometheus process ${prometheus_pid}, log ${data_dir}/prometheus.log"
wait_ready Prometheus "http://127.0.0.1:${prometheus_port}/-/ready" "$prometheus_pid" "${data_dir}/prometheus.log"

grafana_url=""
if [[ "$start_grafana" == true ]] && command -v grafana-server >/dev/null 2>&1; then
    grafana_home=${GRAFANA_HOME:-/usr/share/grafana}
    if [[ ! -d "${grafana_home}/conf" ]]; then
        echo "error: ${grafana_home}/conf does not exist. Set GRAFANA_HOME to Grafana's home directory or pass --no-grafana." >&2
        exit 1
    fi
    echo "==> Starting Grafana on 127.0.0.1:${grafana_port}"
    require_free_port "$grafana_port" --grafana-port
    mkdir -p "${data_dir}/grafana/data" "${data_dir}/grafana/logs" "${data_dir}/grafana/plugins"
    # Every GF_ variable overrides one grafana.ini setting ([section] key).
    # The analytics, news, snapshot, gravatar and plugin settings stop the
    # calls Grafana makes to the internet by default.
    env \
        GF_PATHS_DATA="${data_dir}/grafana/data" \
        GF_PATHS_LOGS="${data_dir}/grafana/logs" \
        GF_PATHS_PLUGINS="${data_dir}/grafana/plugins" \
        GF_PATHS_PROVISIONING="${monitoring_dir}/grafana/provisioning" \
        GF_SERVER_HTTP_ADDR=127.0.0.1 \
        GF_SERVER_HTTP_PORT="${grafana_port}" \
        GF_ANALYTICS_REPORTING_ENABLED=false \
        GF_ANALYTICS_CHECK_FOR_UPDATES=false \
        GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES=false \
        GF_ANALYTICS_FEEDBACK_LINKS_ENABLED=false \
        GF_NEWS_NEWS_FEED_ENABLED=false \
        GF_SNAPSHOTS_EXTERNAL_ENABLED=false \
        GF_SECURITY_DISABLE_GRAVATAR=true \
        GF_PLUGINS_PREINSTALL_DISABLED=true \
        GF_PLUGINS_PREINSTALL_AUTO_UPDATE=false \
        GF_PLUGINS_PUBLIC_KEY_RETRIEVAL_DISABLED=true \
        GF_AUTH_ANONYMOUS_ENABLED=true \
        GF_AUTH_ANONYMOUS_ORG_ROLE=Viewer \
        TAQUILLA_PROMETHEUS_URL="http://127.0.0.1:${prometheus_port}" \
        TAQUILLA_GRAFANA_DASHBOARDS="${monitoring_dir}/grafana/dashboards" \
        grafana-server --homepath "${grafana_home}" \
        >"${data_dir}/grafana/grafana.log" 2>&1 &
    grafana_pid=$!
    echo "Grafana process ${grafana_pid}, log ${data_dir}/grafana/grafana.log"
    wait_ready Grafana "http://127.0.0.1:${grafana_port}/api/health" "$grafana_pid" "${data_dir}/grafana/grafana.log"
    grafana_url="http://127.0.0.1:${grafana_port}/d/taquilla-overview"
elif [[ "$start_grafana" == true ]]; then
    echo "==> Grafana: grafana-server is not installed, so only Prometheus runs"
fi

echo
echo "Prometheus:  http://127.0.0.1:${prometheus_port}"
echo "  targets:   http://127.0.0.1:${prometheus_port}/targets"
echo "  alerts:    http://127.0.0.1:${prometheus_port}/alerts"
if [[ -n "$grafana_url" ]]; then
    echo "Grafana:     ${grafana_url}"
    echo "  anonymous visitors can view, and admin/admin (Grafana's default login) can edit"
fi
echo "Press Ctrl-C to stop."

# Returns when Ctrl-C arrives (through the trap) or when a service exits.
if [[ -n "$grafana_pid" ]]; then
    wait -n "$prometheus_pid" "$grafana_pid" || true
else
    wait "$prometheus_pid" || true
fi
echo "error: a monitoring process exited. See the logs in ${data_dir}." >&2
remove_data_dir=false
exit 1
