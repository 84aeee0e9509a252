#!/usr/bin/env bash
# The phasewatch ops stack on this host, from Debian's packages: Prometheus with the phasewatch rules
# scraping a collector, Alertmanager with deploy/alertmanager/alertmanager.yml, and a small webhook sink
# that prints every notification Alertmanager sends. Runs until stopped (Ctrl-C), printing each alert
# when it first appears in Alertmanager; with --until ALERT it exits once that alert has arrived.
#
#   deploy/local/ops-stack.sh [--collector HOST:PORT] [--prometheus-port N] [--alertmanager-port N]
#                             [--webhook-port N] [--interval DURATION] [--until ALERTNAME] [--timeout S]
#
# Defaults: collector 127.0.0.1:8080 (serve's default), Prometheus on 127.0.0.1:9090, Alertmanager on
# 127.0.0.1:9093, webhook sink on 127.0.0.1:5001 (the address the shipped alertmanager.yml sends to),
# scrape and evaluation every 15s (the shipped value), no timeout. Prometheus and Alertmanager run on
# temporary copies of the shipped files in which only addresses and intervals are replaced (each
# replacement checked); the shipped files are never edited. Needs prometheus, prometheus-alertmanager
# (with amtool) and python3. --timeout S stops the stack after S seconds. Exit 0 when stopped (Ctrl-C,
# --timeout) or when the --until alert arrived; 1 when a server failed, or --timeout passed before the
# --until alert arrived; 2 on bad usage or a missing tool.
set -euo pipefail

usage() {
  sed -n "2,17p" "$0" >&2
  exit 2
}

target=127.0.0.1:8080
prom_port=9090
am_port=9093
hook_port=5001
interval=15s
until_alert=""
timeout_s=0
while [ "$#" -gt 0 ]; do
  [ "$#" -ge 2 ] || usage
  case "$1" in
    --collector) target="$2" ;;
    --prometheus-port) prom_port="$2" ;;
    --alertmanager-port) am_port="$2" ;;
    --webhook-port) hook_port="$2" ;;
    --interval) interval="$2" ;;
    --until) until_alert="$2" ;;
    --timeout) timeout_s="$2" ;;
    *) usage ;;
  esac
  shift 2
done
repo="$(cd "$(dirname "$0")/../.." && pwd)"
me=ops-stack

# Checked before they reach sed and the servers: a host name or IPv4 address, or [IPv6], and a port.
if ! [[ "$target" =~ ^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):[0-9]{1,5}$ ]]; then
  echo "$me: --collector '$target' is not HOST:PORT" >&2
  exit 2
fi
for p in "$prom_port" "$am_port" "$hook_port"; do
  if ! [[ "$p" =~ ^[1-9][0-9]{0,4}$ ]] || [ "$p" -gt 65535 ]; then
    echo "$me: port '$p' is not a port number" >&2
    exit 2
  fi
done
if [ -n "$until_alert" ] && ! [[ "$until_alert" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
  echo "$me: --until '$until_alert' is not a Prometheus alert name" >&2
  exit 2
fi
if ! [[ "$interval" =~ ^[1-9][0-9]*(ms|s|m)$ ]]; then
  echo "$me: --interval '$interval' is not a duration such as 2s, 500ms or 1m" >&2
  exit 2
fi
if ! [[ "$timeout_s" =~ ^[0-9]+$ ]]; then
  echo "$me: --timeout '$timeout_s' is not a whole number of seconds" >&2
  exit 2
fi

for tool in prometheus prometheus-alertmanager amtool python3; do
  command -v "$tool" >/dev/null 2>&1 || { echo "$me: missing $tool (apt-get install prometheus prometheus-alertmanager python3)" >&2; exit 2; }
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
# Interrupted or terminated (Ctrl-C, a CI timeout): exit, which runs cleanup and stops every server.
trap 'exit 0' INT
trap 'exit 143' TERM

# The shipped configs with this host's addresses; every substitution is checked, so a change to a
# shipped file cannot silently leave a copy pointing at the wrong place.
mkdir -p "$work/rules"
cp "$repo"/deploy/prometheus/rules/*.yml "$work/rules/"
sed -e "s/\"alertmanager:9093\"/\"127.0.0.1:$am_port\"/" \
    -e "s/\"collector:8080\"/\"$target\"/" \
    -e "s/scrape_interval: 15s/scrape_interval: $interval/" \
    -e "s/evaluation_interval: 15s/evaluation_interval: $interval/" \
    "$repo/deploy/prometheus/prometheus.yml" >"$work/prometheus.yml"
for expected in "\"$target\"" "\"127.0.0.1:$am_port\"" "scrape_interval: $interval" "evaluation_interval: $interval"; do
  grep -qF "$expected" "$work/prometheus.yml" || { echo "$me: could not set $expected in a copy of deploy/prometheus/prometheus.yml" >&2; exit 1; }
done
sed -e "s#http://127.0.0.1:5001/#http://127.0.0.1:$hook_port/#" \
    "$repo/deploy/alertmanager/alertmanager.yml" >"$work/alertmanager.yml"
grep -qF "http://127.0.0.1:$hook_port/" "$work/alertmanager.yml" || { echo "$me: could not set the webhook port in a copy of deploy/alertmanager/alertmanager.yml" >&2; exit 1; }

# The webhook sink: one line per alert in each notification, with the receiver it was routed to.
python3 -u - "$hook_port" <<'PY' 2>"$work/webhook.log" &
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        for a in body.get("alerts", []):
            labels = a.get("labels", {})
            print("ops-stack: notified %s: %s %s run=%s layer=%s stage=%s: %s" % (
                self.path.rsplit("/", 1)[-1], a.get("status"), labels.get("alertname"), labels.get("run", "-"),
                labels.get("layer", "-"), labels.get("stage", "-"), a.get("annotations", {}).get("summary", "")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
pids+=("$!")

prometheus-alertmanager \
  --config.file="$work/alertmanager.yml" \
  --storage.path="$work/alertmanager" \
  --web.listen-address="127.0.0.1:$am_port" \
  --cluster.listen-address= \
  >"$work/alertmanager.log" 2>&1 &
pids+=("$!")

prometheus \
  --config.file="$work/prometheus.yml" \
  --storage.tsdb.path="$work/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" \
  >"$work/prometheus.log" 2>&1 &
pids+=("$!")
echo "$me: webhook sink pid ${pids[0]}, alertmanager pid ${pids[1]}, prometheus pid ${pids[2]}"
echo "$me: Prometheus http://127.0.0.1:$prom_port scraping $target every $interval with the phasewatch rules;" \
  "Alertmanager http://127.0.0.1:$am_port; notifications printed from 127.0.0.1:$hook_port. Ctrl-C stops all three."

# What Prometheus sees, for a failure: the target's health and last scrape error, and the alerts.
report_prometheus() {
  python3 - "http://127.0.0.1:$prom_port" <<'PY' >&2 || true
import json, sys, urllib.request
base = sys.argv[1]
try:
    for t in json.load(urllib.request.urlopen(base + "/api/v1/targets", timeout=5))["data"]["activeTargets"]:
        print("ops-stack: target", t["scrapeUrl"], t["health"], t.get("lastError") or "")
    alerts = json.load(urllib.request.urlopen(base + "/api/v1/alerts", timeout=5))["data"]["alerts"]
    print("ops-stack: %d alert(s) in Prometheus" % len(alerts))
    for a in alerts:
        print("ops-stack:  ", a["state"], a["labels"])
except Exception as e:
    print("ops-stack: Prometheus API unreachable:", e)
PY
}

seen=""
last_health=""
start=$SECONDS
while [ "$timeout_s" -eq 0 ] || [ $((SECONDS - start)) -lt "$timeout_s" ]; do
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$me: a server (pid $pid) exited; is a port taken? (--prometheus-port, --alertmanager-port, --webhook-port)" >&2
      tail -n 20 "$work/alertmanager.log" "$work/prometheus.log" "$work/webhook.log" >&2
      exit 1
    fi
  done
  # The collector's health as Prometheus scrapes it, each time it changes (up, or down and why).
  if health="$(python3 - "http://127.0.0.1:$prom_port" 2>/dev/null <<'PY'
import json, sys, urllib.request
t = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/targets", timeout=5))["data"]["activeTargets"]
if t and t[0]["health"] != "unknown":
    print(t[0]["health"], t[0].get("lastError") or "")
PY
)" && [ -n "$health" ] && [ "${health%% *}" != "${last_health%% *}" ]; then
    echo "$me: scrape of $target: $health"
    last_health="$health"
  fi
  # Each alert once, when Alertmanager first holds it (fingerprint: its sorted labels).
  if out="$(amtool --alertmanager.url="http://127.0.0.1:$am_port" -o json alert query 2>/dev/null)"; then
    while IFS= read -r line; do
      [ -n "$line" ] || continue
      key="${line%%	*}"
      if ! grep -qxF "$key" <<<"$seen"; then
        seen+="$key"$'\n'
        echo "$me: alert ${line#*	}"
      fi
    done < <(python3 -c '
import json, sys
for a in json.load(sys.stdin):
    labels = a["labels"]
    key = ",".join("%s=%s" % kv for kv in sorted(labels.items()))
    shown = " ".join("%s=\"%s\"" % kv for kv in sorted(labels.items()))
    print(key + "\t" + labels.get("alertname", "?") + " " + shown + " :: " + a.get("annotations", {}).get("summary", ""))
' <<<"$out")
  fi
  if [ -n "$until_alert" ] \
      && out="$(amtool --alertmanager.url="http://127.0.0.1:$am_port" -o extended alert query "alertname=$until_alert" 2>&1)" \
      && grep -q "$until_alert" <<<"$out"; then
    echo "$me: $until_alert arrived in Alertmanager after $((SECONDS - start))s:"
    echo "$out"
    exit 0
  fi
  sleep 2
done
if [ -z "$until_alert" ]; then
  echo "$me: --timeout ${timeout_s}s passed; stopping"
  exit 0
fi
echo "$me: $until_alert did not arrive within ${timeout_s}s" >&2
report_prometheus
tail -n 20 "$work/alertmanager.log" "$work/prometheus.log" >&2
exit 1
