#!/usr/bin/env bash
# A/B produce runs of two sluice builds, alternating, in one session: for a change that must
# not cost speed. Each round starts each broker afresh on its own empty data dir (interval
# flush, as perf/compare.sh), runs the scenarios with sluice-load, and stops it by its PID.
# Usage: perf/ab.sh BUILD_A BUILD_B [ROUNDS]   (build dirs holding sluice and sluice-load)
# Both brokers are loaded by BUILD_A's sluice-load, so only the broker differs. Prints one line
# per run: build, scenario, records/s, p99 ms.
set -euo pipefail
a=$1 b=$2 rounds=${3:-3}
work=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

scenarios=(
  "raw-acks1|produce --topic raw --format raw --record-size 100 --records-per-request 1000 --acks 1 --connections 4 --duration 4"
  "json-acks1|produce --topic json --format json --record-size 100 --records-per-request 1000 --acks 1 --connections 4 --duration 4"
  "raw-acksall-64|produce --topic durable --format raw --record-size 100 --records-per-request 100 --acks all --connections 64 --duration 5"
  "json-acksall-64|produce --topic durablej --format json --record-size 100 --records-per-request 100 --acks all --connections 64 --duration 5"
)

run_build() {  # build label
  local build=$1 label=$2
  rm -rf "$work/data"
  "$build/sluice" serve --set log.dirs="$work/data" --set listeners=http://127.0.0.1:$port \
    --set log.flush.policy=interval --set log.level=warn >"$work/sluice.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  for s in "${scenarios[@]}"; do
    local name=${s%%|*} args=${s#*|}
    # shellcheck disable=SC2086
    "$a/sluice-load" $args --url "http://127.0.0.1:$port" --no-progress |
      jq -r --arg b "$label" --arg n "$name" \
        '"\($b) \($n) \(.records_per_s | floor) rec/s p99 \(.latency_us.p99 / 1000) ms"'
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}

for r in $(seq "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then run_build "$a" A; run_build "$b" B; else run_build "$b" B; run_build "$a" A; fi
done
