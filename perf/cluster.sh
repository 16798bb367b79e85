#!/usr/bin/env bash
# Cluster figures on this machine (docs/CLUSTER.md, perf/RESULTS.md): etcd and three brokers as
# local processes on 127.0.0.1, default session settings (3000 ms lease, 500 ms heartbeat).
#   1. acks=all records/s with R=3 (min.insync.replicas 2) against R=1, in the same run;
#   2. p99 latency of single-record acks=all produce at a fixed offered rate with R=1, then R=3,
#      and the replication lag (leader log end minus high watermark) sampled meanwhile;
#   3. failover: kill -9 of a partition's leader, then the time until an acks=all produce
#      through a survivor succeeds; the killed broker restarts and the time until it is back in
#      the ISR; repeated FAILOVER_KILLS times (p50, p99, max);
#   4. etcd's resident memory and request rate during the run.
# Usage: perf/cluster.sh [BUILD_DIR]   (holding sluice and sluice-load; default build/release)
# Knobs: FAILOVER_KILLS (30), LOAD_SECONDS (5), LATENCY_RATE (2000), BROKER_SETS (more broker
# settings, space-separated key=value), DATA_DIR (where etcd's and the brokers' data go; /dev/shm
# takes the disk out of the figures). Bounded: every loop has a
# count and a deadline; everything started is stopped by its PID and the data removed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
kills=${FAILOVER_KILLS:-30}
seconds=${LOAD_SECONDS:-5}
rate=${LATENCY_RATE:-2000}
extra_sets=()
for kv in ${BROKER_SETS:-}; do extra_sets+=(--set "$kv"); done
sluice=$build/sluice
load=$build/sluice-load
for tool in etcd curl python3; do
  command -v "$tool" >/dev/null || { echo "perf/cluster.sh: $tool not found" >&2; exit 1; }
done
[ -x "$sluice" ] && [ -x "$load" ] || { echo "perf/cluster.sh: build $build first" >&2; exit 1; }

work=$(mktemp -d -p "${DATA_DIR:-${TMPDIR:-/tmp}}")
base=$((21000 + RANDOM % 20000))
etcd_port=$base
peer_port=$((base + 1))
declare -A pids ports
etcd_pid=
cleanup() {
  local status=$?
  for b in "${!pids[@]}"; do kill -9 "${pids[$b]}" 2>/dev/null || true; done
  if [ -n "$etcd_pid" ]; then
    kill "$etcd_pid" 2>/dev/null || true
    wait "$etcd_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
log() { printf '[perf/cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
get() { curl --noproxy '*' -s --max-time 5 "$@"; }

etcd --data-dir "$work/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
  --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "default=http://127.0.0.1:$peer_port" >"$work/etcd.log" 2>&1 &
etcd_pid=$!
for _ in $(seq 100); do get "http://127.0.0.1:$etcd_port/health" | grep -q true && break; sleep 0.1; done

start_broker() {  # id
  local id=$1
  ports[$id]=$((base + 10 + id))
  "$sluice" serve --set broker.id="$id" --set etcd.endpoints="http://127.0.0.1:$etcd_port" \
    --set log.dirs="$work/broker-$id" --set listeners="http://127.0.0.1:${ports[$id]}" \
    --set log.level=warn "${extra_sets[@]}" >>"$work/broker-$id.log" 2>&1 &
  pids[$id]=$!
}
wait_ready() {  # id
  for _ in $(seq 300); do
    get -f "http://127.0.0.1:${ports[$1]}/readyz" >/dev/null && return 0
    sleep 0.05
  done
  echo "broker $1 not ready" >&2
  tail -20 "$work/broker-$1.log" >&2
  exit 1
}
for id in 1 2 3; do start_broker "$id"; done
for id in 1 2 3; do wait_ready "$id"; done
url1=http://127.0.0.1:${ports[1]}
cluster=$(get "$url1/v1/cluster" | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster_id"])')

create() {  # topic partitions rf
  get -X POST -H 'Content-Type: application/json' "$url1/v3/clusters/$cluster/topics" \
    -d "{\"topic_name\":\"$1\",\"partitions_count\":$2,\"replication_factor\":$3}" >/dev/null
}
# partition state as "leader isr_size log_end high_watermark" from broker $1's view
state() {  # via_url topic
  get "$1/v1/cluster" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d["partitions"]:
    if p["topic"] == sys.argv[1] and p["partition"] == 0:
        print(p["leader"], len(p["isr"]))
' "$2"
}
settle() {  # topic partitions rf
  for _ in $(seq 200); do
    if get "$url1/v1/cluster" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ps = [p for p in d["partitions"] if p["topic"] == sys.argv[1]]
ok = len(ps) == int(sys.argv[2]) and all(p["leader"] >= 0 and len(p["isr"]) == int(sys.argv[3]) for p in ps)
sys.exit(0 if ok else 1)' "$1" "$2" "$3"; then return 0; fi
    sleep 0.05
  done
  echo "topic $1 did not settle" >&2
  exit 1
}
field() {  # json_file python_expression
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$1"
}
grpc_calls() {
  get "http://127.0.0.1:$etcd_port/metrics" |
    awk '/^grpc_server_started_total/ { s += $2 } END { printf "%d\n", s }'
}

log "throughput: acks=all, 3 partitions, R=1 then R=3 (min.insync.replicas 2), ${seconds} s each"
create r1 3 1
create r3 3 3
settle r1 3 1
settle r3 3 3
calls_before=$(grpc_calls)
t_before=$(date +%s.%N)
for topic in r1 r3; do
  "$load" produce --url "$url1" --topic "$topic" --partitions 3 --format binary --record-size 100 \
    --records-per-request 100 --acks all --connections 16 --duration "$seconds" --no-progress \
    >"$work/$topic.json"
done
r1=$(field "$work/r1.json" 'r["records_per_s"]')
r3=$(field "$work/r3.json" 'r["records_per_s"]')

log "latency: single-record acks=all at $rate requests/s, R=1 then R=3, ${seconds} s each"
create lat1 1 1
create lat 1 3
settle lat1 1 1
settle lat 1 3
leader1=$(state "$url1" lat1 | cut -d' ' -f1)
"$load" produce --url "http://127.0.0.1:${ports[$leader1]}" --topic lat1 --format binary \
  --record-size 100 --records-per-request 1 --acks all --connections 32 --rate "$rate" \
  --duration "$seconds" --no-progress >"$work/lat1.json"
leader=$(state "$url1" lat | cut -d' ' -f1)
lag_file=$work/lag
(
  end=$((SECONDS + seconds + 1))
  while [ $SECONDS -lt $end ]; do
    get "http://127.0.0.1:${ports[$leader]}/metrics" | awk '
      /^sluice_partition_log_end_offset\{.*topic="lat"/ { leo = $2 }
      /^sluice_partition_end_offset\{.*topic="lat"/ { hw = $2 }
      END { if (leo != "") print leo - hw }' >>"$lag_file"
    sleep 0.05
  done
) &
lag_pid=$!
fsync_stats() {  # "count seconds count_within_5ms" summed over the brokers
  for id in 1 2 3; do get "http://127.0.0.1:${ports[$id]}/metrics"; done | awk '
    /^sluice_fsyncs_total / { n += $2 } /^sluice_fsync_seconds_total / { t += $2 }
    /^sluice_fsync_duration_seconds_bucket\{le="0.005"\} / { fast += $2 }
    END { printf "%d %f %d\n", n, t, fast }'
}
fsync_before=$(fsync_stats)
"$load" produce --url "http://127.0.0.1:${ports[$leader]}" --topic lat --format binary \
  --record-size 100 --records-per-request 1 --acks all --connections 32 --rate "$rate" \
  --duration "$seconds" --no-progress >"$work/lat.json"
wait "$lag_pid" || true
fsync_after=$(fsync_stats)
fsync_mean_ms=$(python3 -c "
b, a = '$fsync_before'.split(), '$fsync_after'.split()
n = int(a[0]) - int(b[0]); t = float(a[1]) - float(b[1]); slow = n - (int(a[2]) - int(b[2]))
print(f'{n / $seconds:.0f} fdatasyncs/s over the three brokers, mean {1000 * t / max(n, 1):.2f} ms, '
      f'{slow} of {n} ({100 * slow / max(n, 1):.2f}%) took over 5 ms')")
p50_1=$(field "$work/lat1.json" 'round(r["latency_us"]["p50"] / 1000, 2)')
p99_1=$(field "$work/lat1.json" 'round(r["latency_us"]["p99"] / 1000, 2)')
p50=$(field "$work/lat.json" 'round(r["latency_us"]["p50"] / 1000, 2)')
p99=$(field "$work/lat.json" 'round(r["latency_us"]["p99"] / 1000, 2)')
achieved=$(field "$work/lat.json" 'round(r["requests_per_s"])')
lag_p99=$(sort -n "$lag_file" | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; print a[i] }')
t_after=$(date +%s.%N)
calls_after=$(grpc_calls)
etcd_rss_mb=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$etcd_pid/status")
etcd_rate=$(python3 -c "print(round(($calls_after - $calls_before) / ($t_after - $t_before)))")

log "failover: $kills kills of the leader of fo-0 (R=3), acks=all through a survivor"
create fo 1 3
settle fo 1 3
failover_ms=()
rejoin_ms=()
for ((k = 1; k <= kills; k++)); do
  leader=$(state "$url1" fo | cut -d' ' -f1)
  [ "$leader" = 1 ] && via=2 || via=1
  via_url=http://127.0.0.1:${ports[$via]}
  state_url=$via_url
  get -X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' \
    "$via_url/topics/fo/partitions/0?acks=all" -d '{"records":[{"value":"before"}]}' >/dev/null
  killed=$(date +%s%N)
  kill -9 "${pids[$leader]}"
  wait "${pids[$leader]}" 2>/dev/null || true
  ok=
  for _ in $(seq 1500); do  # at most about 30 s
    if get -X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' \
      "$via_url/topics/fo/partitions/0?acks=all" -d '{"records":[{"value":"after"}]}' |
      grep -q '"error_code":null'; then
      ok=1
      break
    fi
    sleep 0.01
  done
  [ -n "$ok" ] || { echo "no acks=all success 30 s after kill $k" >&2; exit 1; }
  failover_ms+=($(( ($(date +%s%N) - killed) / 1000000 )))
  restarted=$(date +%s%N)
  start_broker "$leader"
  wait_ready "$leader"
  for _ in $(seq 600); do
    [ "$(state "$state_url" fo | cut -d' ' -f2)" = 3 ] && break
    sleep 0.05
  done
  rejoin_ms+=($(( ($(date +%s%N) - restarted) / 1000000 )))
  log "kill $k: leader $leader, acks=all again after ${failover_ms[-1]} ms, back in the ISR after ${rejoin_ms[-1]} ms"
done
summary() {
  printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END {
    p50 = a[int((NR + 1) / 2)]; i = int(NR * 0.99 + 0.999); if (i > NR) i = NR;
    printf "p50 %d ms, p99 %d ms, max %d ms (n=%d)", p50, a[i], a[NR], NR }'
}

echo "acks=all records/s, 3 partitions, 16 connections x 100 records: R=1 $r1, R=3 $r3, ratio $(python3 -c "print(round($r3 / $r1, 2))")"
echo "single-record acks=all at $rate req/s offered (R=3 achieved $achieved): R=1 p50 $p50_1 ms, p99 $p99_1 ms; R=3 p50 $p50 ms, p99 $p99 ms; replication lag p99 $lag_p99 records"
echo "during the R=3 latency run: $fsync_mean_ms"
echo "failover (kill -9 of the leader to the first acks=all success through a survivor): $(summary "${failover_ms[@]}")"
echo "restarted broker back in the ISR: $(summary "${rejoin_ms[@]}")"
echo "etcd: RSS $etcd_rss_mb MB, $etcd_rate requests/s during the load runs"
