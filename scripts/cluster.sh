#!/usr/bin/env bash
# Runs a Sluice cluster on this machine without Docker: one etcd and CLUSTER_BROKERS brokers
# (default 3) as local processes on 127.0.0.1, each with its directory and log under
# CLUSTER_DIR. Waits until etcd is healthy and every broker answers /readyz, prints where
# everything is, then stays in the foreground. Ctrl-C (or SIGTERM) stops the brokers first, so
# that each revokes its etcd lease, then etcd. If one of them dies meanwhile, the script shows
# the end of its log, stops the others and exits non-zero.
#
# A script that runs this one in the background should stop it with SIGTERM: a background job
# of a non-interactive shell starts with SIGINT ignored, and bash cannot trap it then.
#
# Data stays in CLUSTER_DIR between runs: a restart keeps the cluster id and the topics.
# `rm -rf ./data-cluster` starts afresh.
#
# Environment:
#   CLUSTER_DIR        data and logs (default data-cluster in the repository)
#   CLUSTER_BROKERS    number of brokers, ids 1..N (default 3)
#   CLUSTER_BASE_PORT  broker N listens on http://127.0.0.1:BASE+N-1 (default 8081)
#   ETCD_CLIENT_PORT   etcd's client port (default 2379)
#   ETCD_PEER_PORT     etcd's peer port (default 2380)
#   CLUSTER_SETS       more broker settings, space-separated key=value, each passed as --set
#                      after the script's own (e.g. "log.flush.policy=interval log.level=warn")
#   SLUICE_BIN         the broker binary (default build/release/sluice in the repository)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${CLUSTER_DIR:-$root/data-cluster}
brokers=${CLUSTER_BROKERS:-3}
base_port=${CLUSTER_BASE_PORT:-8081}
etcd_client_port=${ETCD_CLIENT_PORT:-2379}
etcd_peer_port=${ETCD_PEER_PORT:-2380}
sluice=${SLUICE_BIN:-$root/build/release/sluice}
extra_sets=()
for kv in ${CLUSTER_SETS:-}; do extra_sets+=(--set "$kv"); done

etcd_wait_seconds=30    # until /health answers
ready_wait_seconds=120  # until every /readyz answers 200; recovery of large logs takes a while
stop_wait_seconds=15    # after SIGTERM, before SIGKILL

log() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2 || true; }
die() { log "$*"; exit 1; }

# Only 127.0.0.1 is ever contacted, and never through a proxy the environment names.
local_curl() { curl --noproxy '*' -s --max-time 2 "$@"; }

is_count() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }
is_count "$brokers" || die "CLUSTER_BROKERS must be a positive number, not '$brokers'"
for p in "$base_port" "$etcd_client_port" "$etcd_peer_port"; do
  is_count "$p" || die "ports must be numbers, not '$p'"
done
(( base_port + brokers - 1 <= 65535 )) || die "broker ports would go past 65535"

command -v etcd >/dev/null ||
  die "etcd not found: install Debian's etcd-server (scripts/install-deps.sh)"
command -v ss >/dev/null || die "ss not found: install iproute2"
command -v curl >/dev/null || die "curl not found: install curl"
[ -x "$sluice" ] ||
  die "$sluice not found: build it first (make cluster does), or set SLUICE_BIN"

# Every port the cluster needs, with what it is for; refuse to start if one is taken, so that a
# broker never joins some other etcd and nothing half-starts.
ports=("$etcd_client_port" "$etcd_peer_port")
uses=("etcd client" "etcd peer")
for ((id = 1; id <= brokers; id++)); do
  ports+=($((base_port + id - 1)))
  uses+=("broker $id")
done
for ((i = 0; i < ${#ports[@]}; i++)); do
  for ((j = i + 1; j < ${#ports[@]}; j++)); do
    [ "${ports[i]}" != "${ports[j]}" ] ||
      die "port ${ports[i]} is both the ${uses[i]} port and the ${uses[j]} port"
  done
done
loopback_or_any='^(127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]|\[::ffff:127\.0\.0\.1\])(%[^:]*)?:[0-9]+$'
busy=0
for ((i = 0; i < ${#ports[@]}; i++)); do
  # A listener on 127.0.0.1 or on every address (0.0.0.0, *, [::]) stops a bind to 127.0.0.1.
  if ss -ltnH "sport = :${ports[i]}" |
      LISTEN_RE=$loopback_or_any awk '$4 ~ ENVIRON["LISTEN_RE"] { f = 1 } END { exit !f }'; then
    log "port ${ports[i]} (${uses[i]}) is already in use on 127.0.0.1:"
    ss -ltnpH "sport = :${ports[i]}" >&2 || true
    busy=1
  fi
done
[ "$busy" -eq 0 ] || die "not starting: is another cluster running? Stop it, or choose other" \
  "ports with CLUSTER_BASE_PORT, ETCD_CLIENT_PORT and ETCD_PEER_PORT"

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

etcd_pid=""
broker_pids=()
declare -A name_of  # pid -> "etcd" or "broker N"
declare -A log_of   # pid -> its log file

show_log_tail() {  # $1: pid
  log "last lines of ${log_of[$1]}:"
  tail -n 20 "${log_of[$1]}" >&2 2>/dev/null || true
}

# Sends SIGTERM to the given processes, waits for them together, then SIGKILLs any left.
# shellcheck disable=SC2317  # reached from the EXIT trap
stop_processes() {
  local pids=() pid
  for pid in "$@"; do kill -0 "$pid" 2>/dev/null && pids+=("$pid"); done
  [ ${#pids[@]} -gt 0 ] || return 0
  for pid in "${pids[@]}"; do
    log "stopping ${name_of[$pid]} (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
  done
  local deadline=$((SECONDS + stop_wait_seconds)) alive
  while :; do
    alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    [ ${#alive[@]} -gt 0 ] || break
    if ((SECONDS >= deadline)); then
      for pid in "${alive[@]}"; do
        log "${name_of[$pid]} (pid $pid) still running after ${stop_wait_seconds} s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      done
      break
    fi
    sleep 0.1
  done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}

# shellcheck disable=SC2317  # reached from the EXIT trap
cleanup() {
  local status=$?
  # A second Ctrl-C must not cut the stop short (it is bounded anyway), nor a reader of our
  # output that has gone away (`make cluster | tee`, then Ctrl-C) make the next message fatal.
  trap '' INT TERM HUP PIPE
  # Brokers first: each revokes its lease in etcd on SIGTERM, which needs etcd still up.
  stop_processes "${broker_pids[@]}"
  [ -z "$etcd_pid" ] || stop_processes "$etcd_pid"
  [ -z "$etcd_pid" ] || log "stopped; data and logs stay in $dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# Each child gets its own session (setsid execs in place, so $! is its pid): Ctrl-C in the
# terminal reaches only this script, which then stops them in order.
start() {  # $1: name, $2: log file, then the command
  local name=$1 file=$2
  shift 2
  setsid "$@" </dev/null >"$file" 2>&1 &
  name_of[$!]=$name
  log_of[$!]=$file
  last_pid=$!
}

# Fails with the end of the log if the process has exited.
check_alive() {  # $1: pid
  kill -0 "$1" 2>/dev/null && return 0
  local status=0
  wait "$1" 2>/dev/null || status=$?
  log "${name_of[$1]} (pid $1) exited during start-up with status $status"
  show_log_tail "$1"
  exit 1
}

etcd_url=http://127.0.0.1:$etcd_client_port
etcd_peer_url=http://127.0.0.1:$etcd_peer_port
log "starting etcd on $etcd_url, data in $dir/etcd"
# etcd reads ETCD_* variables as flags, and warns about these two, which are the script's own.
start etcd "$dir/etcd.log" env -u ETCD_CLIENT_PORT -u ETCD_PEER_PORT etcd --name sluice \
  --data-dir "$dir/etcd" \
  --listen-client-urls "$etcd_url" --advertise-client-urls "$etcd_url" \
  --listen-peer-urls "$etcd_peer_url" --initial-advertise-peer-urls "$etcd_peer_url" \
  --initial-cluster "sluice=$etcd_peer_url" --initial-cluster-state new \
  --initial-cluster-token sluice-cluster \
  --auto-compaction-mode=revision --auto-compaction-retention=1000 \
  --logger=zap --log-outputs=stderr
etcd_pid=$last_pid

deadline=$((SECONDS + etcd_wait_seconds))
until local_curl "$etcd_url/health" 2>/dev/null | grep -q '"health":"true"'; do
  check_alive "$etcd_pid"
  if ((SECONDS >= deadline)); then
    log "etcd did not report healthy at $etcd_url/health within ${etcd_wait_seconds} s"
    show_log_tail "$etcd_pid"
    exit 1
  fi
  sleep 0.2
done
log "etcd is healthy"

for ((id = 1; id <= brokers; id++)); do
  port=$((base_port + id - 1))
  mkdir -p "$dir/broker-$id"
  log "starting broker $id on http://127.0.0.1:$port"
  # The broker reads SLUICE_* variables as settings; SLUICE_BIN is the script's own.
  start "broker $id" "$dir/broker-$id.log" env -u SLUICE_BIN "$sluice" serve \
    --set "broker.id=$id" \
    --set "etcd.endpoints=$etcd_url" \
    --set "log.dirs=$dir/broker-$id" \
    --set "listeners=http://127.0.0.1:$port" \
    "${extra_sets[@]}"
  broker_pids+=("$last_pid")
done

deadline=$((SECONDS + ready_wait_seconds))
for ((id = 1; id <= brokers; id++)); do
  pid=${broker_pids[id - 1]}
  url=http://127.0.0.1:$((base_port + id - 1))
  until [ "$(local_curl -o /dev/null -w '%{http_code}' "$url/readyz" 2>/dev/null)" = 200 ]; do
    check_alive "$etcd_pid"
    check_alive "$pid"
    if ((SECONDS >= deadline)); then
      log "broker $id did not answer 200 on $url/readyz within ${ready_wait_seconds} s"
      show_log_tail "$pid"
      exit 1
    fi
    sleep 0.2
  done
done

{
  echo
  echo "Sluice cluster running: $brokers brokers, etcd at $etcd_url"
  for ((id = 1; id <= brokers; id++)); do
    printf '  %-10s %-24s log %s\n' "broker $id" "http://127.0.0.1:$((base_port + id - 1))" \
      "$dir/broker-$id.log"
  done
  printf '  %-10s %-24s log %s\n' etcd "$etcd_url" "$dir/etcd.log"
  echo
  echo "  curl -s http://127.0.0.1:$base_port/v1/cluster"
  echo
  echo "Ctrl-C stops them all. Data stays in $dir (rm -rf it to start afresh)."
  echo
} >&2

# Until a signal, or until one of them exits by itself.
died=""
status=0
wait -n -p died "$etcd_pid" "${broker_pids[@]}" || status=$?
log "${name_of[$died]} (pid $died) exited with status $status"
show_log_tail "$died"
die "stopping the others"
