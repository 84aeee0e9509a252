#!/usr/bin/env bash
# End to end through the real alerting path: starts Debian's Prometheus and Alertmanager on loopback
# with the phasewatch rules and deploy/alertmanager/alertmanager.yml, points Prometheus at a collector's
# /metrics, waits until ALERTNAME arrives in Alertmanager (`amtool alert query`), prints it, and stops
# everything it started.
#
#   deploy/e2e/alert-pipeline.sh HOST:PORT ALERTNAME [TIMEOUT_SECONDS]
#   deploy/e2e/alert-pipeline.sh 127.0.0.1:8080 PhasewatchCompressionPhaseStarted 300
#
# Needs prometheus, prometheus-alertmanager (amtool) and python3 (to pick free ports). Exit 0 when the
# alert arrived, 1 when it did not within the timeout (the logs' tails are printed), 2 on bad usage.
set -euo pipefail

if [ "$#" -lt 2 ]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
target="$1"
alert="$2"
timeout_s="${3:-300}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"

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

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
prom_port="$(free_port)"
am_port="$(free_port)"

# The shipped config with loopback addresses and 2 s intervals, so the alert's own `for` dominates.
mkdir -p "$work/rules"
cp "$repo"/deploy/prometheus/rules/*.yml "$work/rules/"
sed -e "s/\"alertmanager:9093\"/\"127.0.0.1:$am_port\"/" \
    -e "s/\"collector:8080\"/\"$target\"/" \
    -e 's/scrape_interval: 15s/scrape_interval: 2s/' \
    -e 's/evaluation_interval: 15s/evaluation_interval: 2s/' \
    "$repo/deploy/prometheus/prometheus.yml" >"$work/prometheus.yml"
grep -q "\"$target\"" "$work/prometheus.yml" || { echo "alert-pipeline: scrape target not substituted" >&2; exit 1; }

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
echo "alert-pipeline: prometheus pid $! on 127.0.0.1:$prom_port, scraping $target"

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
tail -n 20 "$work/alertmanager.log" "$work/prometheus.log" >&2
exit 1
