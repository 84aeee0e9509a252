#!/usr/bin/env bash
# End to end through the real alerting path: starts Debian's Prometheus and Alertmanager on loopback
# with the phasewatch rules and deploy/alertmanager/alertmanager.yml, points Prometheus at a collector's
# /metrics, waits until ALERTNAME arrives in Alertmanager (`amtool alert query`), prints it, and stops
# everything it started.
#
#   deploy/e2e/alert-pipeline.sh [--interval DURATION] HOST:PORT ALERTNAME [TIMEOUT_SECONDS]
#   deploy/e2e/alert-pipeline.sh 127.0.0.1:8080 PhasewatchCompressionPhaseStarted 300
#
# --interval sets Prometheus's scrape and evaluation interval (default 2s, so the alert's own `for`
# dominates). Prometheus runs on a copy of deploy/prometheus/prometheus.yml in which only the collector
# target, the Alertmanager address and the two intervals are replaced; the shipped file is not touched.
# Needs prometheus, prometheus-alertmanager (amtool) and python3. Exit 0 when the alert arrived, 1 when
# it did not within the timeout (Prometheus's view of the target and its alerts and the logs' tails are
# printed), 2 on bad usage or a missing tool.
set -euo pipefail

usage() {
  sed -n '2,14p' "$0" >&2
  exit 2
}

interval=2s
case "${1:-}" in
  --interval)
    [ "$#" -ge 2 ] || usage
    interval="$2"
    shift 2
    ;;
  --interval=*)
    interval="${1#--interval=}"
    shift
    ;;
esac
if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  usage
fi
target="$1"
alert="$2"
timeout_s="${3:-300}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"

# Checked before they reach sed and Prometheus: a host name or IPv4 address, or [IPv6], and a port.
if ! [[ "$target" =~ ^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$ ]]; then
  echo "alert-pipeline: target '$target' is not HOST:PORT" >&2
  exit 2
fi
if ! [[ "$alert" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "alert-pipeline: alert name '$alert' is not a Prometheus alert name" >&2
  exit 2
fi
if ! [[ "$interval" =~ ^[1-9][0-9]*(ms|s|m)$ ]]; then
  echo "alert-pipeline: --interval '$interval' is not a duration such as 2s, 500ms or 1m" >&2
  exit 2
fi
if ! [[ "$timeout_s" =~ ^[1-9][0-9]*$ ]]; then
  echo "alert-pipeline: TIMEOUT_SECONDS '$timeout_s' is not a positive whole number" >&2
  exit 2
fi

for tool in prometheus prometheus-alertmanager amtool python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "alert-pipeline: missing $tool (apt-get install prometheus prometheus-alertmanager python3)" >&2; exit 2; }
done

work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
# Interrupted or terminated (a CI timeout, Ctrl-C): exit, which runs cleanup and stops both servers.
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
prom_port="$(free_port)"
am_port="$(free_port)"

# The shipped config with loopback addresses and the chosen intervals; every substitution is checked,
# so a change to the shipped file cannot silently leave this copy scraping the wrong place.
mkdir -p "$work/rules"
cp "$repo"/deploy/prometheus/rules/*.yml "$work/rules/"
sed -e "s/\"alertmanager:9093\"/\"127.0.0.1:$am_port\"/" \
    -e "s/\"collector:8080\"/\"$target\"/" \
    -e "s/scrape_interval: 15s/scrape_interval: $interval/" \
    -e "s/evaluation_interval: 15s/evaluation_interval: $interval/" \
    "$repo/deploy/prometheus/prometheus.yml" >"$work/prometheus.yml"
for expected in "\"$target\"" "\"127.0.0.1:$am_port\"" "scrape_interval: $interval" "evaluation_interval: $interval"; do
  grep -qF "$expected" "$work/prometheus.yml" || { echo "alert-pipeline: could not set $expected in a copy of deploy/prometheus/prometheus.yml" >&2; exit 1; }
done

prometheus-alertmanager \
  --config.file="$repo/deploy/alertmanager/alertmanager.yml" \
  --storage.path="$work/alertmanager" \
  --web.listen-address="127.0.0.1:$am_port" \
  --cluster.listen-address= \
  >"$work/alertmanager.log" 2>&1 &
pids+=("$!")
echo "alert-pipeline: alertmanager pid $! on 127.0.0.1:$am_port"

prometheus \
  --config.file="$work/prometheus.yml" \
  --storage.tsdb.path="$work/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" \
  >"$work/prometheus.log" 2>&1 &
pids+=("$!")
echo "alert-pipeline: prometheus pid $! on 127.0.0.1:$prom_port, scraping $target every $interval"

# What Prometheus saw, for a failure: the target's health and last scrape error, and the alerts.
report_prometheus() {
  python3 - "http://127.0.0.1:$prom_port" <<'PY' >&2 || true
import json, sys, urllib.request
base = sys.argv[1]
try:
    for t in json.load(urllib.request.urlopen(base + "/api/v1/targets", timeout=5))["data"]["activeTargets"]:
        print("alert-pipeline: target", t["scrapeUrl"], t["health"], t.get("lastError") or "")
    alerts = json.load(urllib.request.urlopen(base + "/api/v1/alerts", timeout=5))["data"]["alerts"]
    print("alert-pipeline: %d alert(s) in Prometheus" % len(alerts))
    for a in alerts:
        print("alert-pipeline:  ", a["state"], a["labels"])
except Exception as e:
    print("alert-pipeline: Prometheus API unreachable:", e)
PY
}

deadline=$((SECONDS + timeout_s))
while [ "$SECONDS" -lt "$deadline" ]; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "alert-pipeline: process $pid exited early" >&2
      tail -n 20 "$work/alertmanager.log" "$work/prometheus.log" >&2
      exit 1
    fi
  done
  if out="$(amtool --alertmanager.url="http://127.0.0.1:$am_port" -o extended alert query "alertname=$alert" 2>&1)" \
      && grep -q "$alert" <<<"$out"; then
    echo "alert-pipeline: $alert arrived in Alertmanager after ${SECONDS}s:"
    echo "$out"
    exit 0
  fi
  sleep 2
done
echo "alert-pipeline: $alert did not arrive within ${timeout_s}s" >&2
report_prometheus
tail -n 20 "$work/alertmanager.log" "$work/prometheus.log" >&2
exit 1
