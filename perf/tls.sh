#!/usr/bin/env bash
# TLS against plain HTTP on one broker (issue figures in perf/RESULTS.md, docs/SECURITY.md): a
# broker with a plain and an https listener, loaded by sluice-load over each in turn.
#   1. raw produce (1000 records of 100 B a request, acks=1) and raw fetch (1 MiB replies) bytes/s,
#      plain and TLS alternating, ROUNDS times; with the CPU seconds each side spent per GB (the
#      broker's from /proc, the load generator's from its rusage);
#   2. single-record produce latency at LATENCY_RATE requests/s (acks=1 and acks=all, default
#      log.flush.policy=always), plain and TLS.
# Usage: perf/tls.sh [BUILD_DIR]   (holding sluice and sluice-load; default build/release)
# Knobs: ROUNDS (3), LOAD_SECONDS (5), LATENCY_RATE (2000), LATENCY_SECONDS (10), PLAIN_PORT
# (18080), TLS_PORT (18443). The certificates (a CA and an ECDSA P-256 server certificate for
# 127.0.0.1) are made with openssl in a temporary directory. Bounded: every load runs for a fixed
# time; the broker is stopped by its PID and the directory removed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
rounds=${ROUNDS:-3}
seconds=${LOAD_SECONDS:-5}
rate=${LATENCY_RATE:-2000}
latency_seconds=${LATENCY_SECONDS:-10}
plain_port=${PLAIN_PORT:-18080}
tls_port=${TLS_PORT:-18443}
for tool in openssl curl python3; do
  command -v "$tool" >/dev/null || { echo "perf/tls.sh: $tool not found" >&2; exit 1; }
done
[ -x "$build/sluice" ] && [ -x "$build/sluice-load" ] || {
  echo "perf/tls.sh: build $build first" >&2
  exit 1
}

dir=$(mktemp -d /tmp/sluice-tls-perf-XXXXXX)
broker=""
stop_broker() {
  if [ -n "$broker" ]; then
    kill "$broker" 2>/dev/null || true
    wait "$broker" 2>/dev/null || true
    broker=""
  fi
}
trap 'stop_broker; rm -rf "$dir"' EXIT

(
  cd "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=sluice-perf-ca -keyout ca.key -out ca.pem
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
    -keyout server.key -out server.csr
  printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem
) >/dev/null 2>&1

# start_broker [--set k=v ...]: a fresh data directory each time.
start_broker() {
  rm -rf "$dir/data"
  "$build/sluice" serve --set log.dirs="$dir/data" \
    --set listeners="http://127.0.0.1:$plain_port,https://127.0.0.1:$tls_port" \
    --set ssl.certificate.location="$dir/server.pem" --set ssl.key.location="$dir/server.key" \
    --set log.level=warn "$@" >"$dir/broker.log" 2>&1 &
  broker=$!
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$plain_port/healthz" && return 0
    sleep 0.1
  done
  echo "perf/tls.sh: the broker did not start:" >&2
  cat "$dir/broker.log" >&2
  exit 1
}

url="--url http://127.0.0.1:$plain_port"
tls="--tls-port $tls_port --tls-ca $dir/ca.pem"

# measure LABEL sluice-load-arguments...: one run; prints MB/s and each side's CPU per GB.
measure() {
  local label=$1
  shift
  python3 - "$broker" "$label" "$build/sluice-load" "$@" <<'PY'
import json, os, resource, subprocess, sys
broker, label, load, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
tick = os.sysconf("SC_CLK_TCK")
def broker_cpu():
    fields = open(f"/proc/{broker}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
b0, r0 = broker_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
out = subprocess.run([load, "--no-progress"] + args, capture_output=True, text=True, timeout=120)
b1, r1 = broker_cpu(), resource.getrusage(resource.RUSAGE_CHILDREN)
d = json.loads(out.stdout.strip().splitlines()[-1])
rate = d["tx_mb_s"] if d["mode"] == "produce" else d["rx_mb_s"]
gb = rate * d["duration_s"] / 1e3
load_cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
print(f"{label:15s} {rate:8.1f} MB/s   broker {(b1 - b0) / gb:5.2f} cpu-s/GB   "
      f"sluice-load {load_cpu / gb:5.2f} cpu-s/GB   errors {d['error_count']}")
PY
}

# latency LABEL sluice-load-arguments...: one fixed-rate run; prints p50 and p99.
latency() {
  local label=$1
  shift
  python3 - "$label" "$build/sluice-load" "$@" <<'PY'
import json, subprocess, sys
label, load, args = sys.argv[1], sys.argv[2], sys.argv[3:]
out = subprocess.run([load, "--no-progress"] + args, capture_output=True, text=True, timeout=120)
d = json.loads(out.stdout.strip().splitlines()[-1])
l = d["latency_us"]
print(f"{label:15s} p50 {l['p50']:7.0f} us   p99 {l['p99']:7.0f} us   "
      f"{d['requests_per_s']:.0f} req/s   errors {d['error_count']}")
PY
}

echo "== bytes/s, TLS against plain (log.flush.policy=interval), $rounds rounds of ${seconds} s"
start_broker --set log.flush.policy=interval
produce="--topic raw --format raw --record-size 100 --records-per-request 1000 --acks 1"
produce+=" --connections 8 --threads 2 --duration $seconds"
fetch="--topic raw --format raw --max-bytes 1048576 --connections 8 --threads 2"
fetch+=" --duration $seconds"
for round in $(seq "$rounds"); do
  echo "round $round"
  # shellcheck disable=SC2086 # the argument lists are meant to split
  {
    measure "produce plain" produce $url $produce
    measure "produce TLS" produce $url $tls $produce
    measure "fetch plain" fetch $url $fetch
    measure "fetch TLS" fetch $url $tls $fetch
  }
done
stop_broker

echo "== single-record produce at $rate req/s for ${latency_seconds} s (log.flush.policy=always)"
start_broker
single="--topic one --format raw --record-size 100 --records-per-request 1 --connections 4"
single+=" --rate $rate --duration $latency_seconds"
for acks in 1 all; do
  # shellcheck disable=SC2086
  {
    latency "acks=$acks plain" produce $url $single --acks "$acks"
    latency "acks=$acks TLS" produce $url $tls $single --acks "$acks"
  }
done
stop_broker
