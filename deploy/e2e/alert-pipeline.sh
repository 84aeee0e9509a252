#!/usr/bin/env bash
# End to end through the real alerting path, on free loopback ports: deploy/local/ops-stack.sh (Debian's
# Prometheus with the phasewatch rules, Alertmanager with deploy/alertmanager/alertmanager.yml, a webhook
# sink) pointed at a collector's /metrics. Waits until ALERTNAME arrives in Alertmanager, prints it and
# stops everything it started; with --watch it keeps watching instead, printing every alert as it
# arrives and every notification Alertmanager sends, until TIMEOUT_SECONDS (0: until stopped).
#
#   deploy/e2e/alert-pipeline.sh [--interval DURATION] [--watch] HOST:PORT ALERTNAME [TIMEOUT_SECONDS]
#   deploy/e2e/alert-pipeline.sh 127.0.0.1:8080 PhasewatchCompressionPhaseStarted 300
#   deploy/e2e/alert-pipeline.sh --watch 127.0.0.1:8080 PhasewatchCompressionPhaseStarted 0
#
# --interval sets Prometheus's scrape and evaluation interval (default 2s, so the alert's own `for`
# dominates). Exit 0 when the alert arrived (or, with --watch, when the time is up or it is stopped), 1
# when it did not arrive within the timeout (Prometheus's view of the target and its alerts and the logs'
# tails are printed), 2 on bad usage or a missing tool.
set -euo pipefail

usage() {
  sed -n '2,15p' "$0" >&2
  exit 2
}

interval=2s
watch=""
while [ "$#" -gt 0 ]; do
  case "$1" in
    --interval)
      [ "$#" -ge 2 ] || usage
      interval="$2"
      shift 2
      ;;
    --interval=*)
      interval="${1#--interval=}"
      shift
      ;;
    --watch)
      watch=1
      shift
      ;;
    *) break ;;
  esac
done
if [ "$#" -lt 2 ] || [ "$#" -gt 3 ]; then
  usage
fi
target="$1"
alert="$2"
timeout_s="${3:-300}"
if ! [[ "$alert" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "alert-pipeline: alert name '$alert' is not a Prometheus alert name" >&2
  exit 2
fi
if ! [[ "$timeout_s" =~ ^[0-9]+$ ]] || { [ -z "$watch" ] && [ "$timeout_s" -eq 0 ]; }; then
  echo "alert-pipeline: TIMEOUT_SECONDS '$timeout_s' is not a positive whole number (0 only with --watch)" >&2
  exit 2
fi
command -v python3 >/dev/null 2>&1 || { echo "alert-pipeline: missing python3" >&2; exit 2; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
args=(--collector "$target" --interval "$interval" --timeout "$timeout_s"
      --prometheus-port "$(free_port)" --alertmanager-port "$(free_port)" --webhook-port "$(free_port)")
if [ -z "$watch" ]; then
  args+=(--until "$alert")
fi
exec "$(dirname "$0")/../local/ops-stack.sh" "${args[@]}"
