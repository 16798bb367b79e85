#!/usr/bin/env bash
# Runs Sluice and its peers (Redis Streams, nginx, fio) side by side on this machine, drives
# each with sluice-load, and writes perf/results/<date>/: one JSON line per run
# (results.jsonl), a Markdown table of figures, ratios and targets (table.md) and gnuplot PNGs.
#
# Every server is started here, on loopback ports, with its own directory under a temp dir, and
# stopped by its PID on exit. Scenarios: perf/scenarios/*.properties, run in name order;
# each peer's run is named to come right before the Sluice runs it is compared with, so that
# the pair sees the same state of this shared machine.
#
# Environment: OUT (result dir), PERF_SCENARIOS (glob, default all), PERF_SKIP_BUILD=1,
# PERF_SKIP_FIO=1, PERF_SKIP_RECOVERY=1, PERF_ROUNDS (default 3), PERF_SLUICE_SETS (more
# "key=value" broker settings, space-separated, e.g. log.cache.retain.bytes=-1).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/perf/results/$(date -u +%Y-%m-%d)}
scenarios=${PERF_SCENARIOS:-$root/perf/scenarios/*.properties}
extra_sets=()
for kv in ${PERF_SLUICE_SETS:-}; do extra_sets+=(--set "$kv"); done
sluice_port=18080
nginx_port=18081
redis_port=18082
build=$root/build/release

log() { printf '[compare %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

install_packages() {
  local packages=(redis-server nginx-light fio gnuplot-nox python3-minimal curl procps jq)
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  log "installing ${missing[*]}"
  local sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

work=$(mktemp -d /tmp/sluice-perf.XXXXXX)
chmod 755 "$work"  # nginx's workers run as www-data and must reach the served file
current_peer=""
peer_pid=""
fresh_sluice=true

stop_peer() {
  [ -z "$peer_pid" ] && return
  log "stopping $current_peer (pid $peer_pid)"
  if [ "$current_peer" = nginx ]; then kill -QUIT "$peer_pid" 2>/dev/null || true
  else kill -TERM "$peer_pid" 2>/dev/null || true; fi
  for _ in $(seq 1 100); do kill -0 "$peer_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$peer_pid" 2>/dev/null || true
  wait "$peer_pid" 2>/dev/null || true
  peer_pid=""
  current_peer=""
}

cleanup() {
  stop_peer
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() {
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    kill -0 "$peer_pid" 2>/dev/null || { log "$current_peer exited during start-up"; return 1; }
    sleep 0.1
  done
  log "$1 did not answer"; return 1
}

start_sluice() {
  # Every round starts from an empty broker; a restart within a round (after a peer's run) keeps
  # the data, since later scenarios read what earlier ones wrote.
  if $fresh_sluice; then rm -rf "$work/sluice-data"; fresh_sluice=false; fi
  mkdir -p "$work/sluice-data"
  "$build/sluice" serve --set log.dirs="$work/sluice-data" \
    --set listeners=http://127.0.0.1:$sluice_port --set log.flush.policy=interval \
    --set log.level=warn "${extra_sets[@]}" >"$work/sluice.log" 2>&1 &
  peer_pid=$!
  wait_http "http://127.0.0.1:$sluice_port/readyz"
}

start_redis() {  # $1: always | everysec
  # Fresh every round: restarted on an AOF of the previous rounds' gigabytes, Redis answers
  # -LOADING to every command until it has replayed it.
  rm -rf "$work/redis-$1"
  mkdir -p "$work/redis-$1"
  redis-server --bind 127.0.0.1 --port $redis_port --dir "$work/redis-$1" --daemonize no \
    --save '' --appendonly yes --appendfsync "$1" --maxclients 10000 \
    --logfile "$work/redis-$1.log" &
  peer_pid=$!
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/$redis_port) 2>/dev/null && return 0
    sleep 0.1
  done
  log "redis did not start"; return 1
}

start_nginx() {
  local dir=$work/nginx
  mkdir -p "$dir/www" "$dir/tmp" "$dir/logs"
  # 1 GiB, read 1 MiB at a time by ranges: each reply comes from the page cache but not from the
  # CPU's caches, as a fetch walking a partition does (a single 1 MiB file stays in L2/L3).
  [ -s "$dir/www/file" ] || head -c $((1 << 30)) /dev/urandom >"$dir/www/file"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush off;  # on corks the last partial segment: 1 MiB GETs fell to ~600 MB/s at p50 7 ms
  tcp_nodelay on;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_max_body_size 64m;
  client_body_buffer_size 1m;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nginx_port;
    root $dir/www;
    location = /post { return 200 '{"ok":true}'; }
    location = /small { return 200 '{"status":"ok"}'; }
    location = /file { }
  }
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" -e "$dir/logs/error.log" &
  peer_pid=$!
  wait_http "http://127.0.0.1:$nginx_port/small"
}

use_peer() {
  if [ "$current_peer" = "$1" ]; then
    kill -0 "$peer_pid" 2>/dev/null && return
    log "$1 (pid $peer_pid) is gone; restarting it"
    wait "$peer_pid" 2>/dev/null || true
    peer_pid=""
    current_peer=""
  fi
  stop_peer
  log "starting $1"
  current_peer=$1
  case $1 in
    sluice) start_sluice ;;
    redis-always) start_redis always ;;
    redis-everysec) start_redis everysec ;;
    nginx) start_nginx ;;
    *) log "unknown peer $1"; return 1 ;;
  esac
}

base_url() {
  case $1 in
    sluice) echo "http://127.0.0.1:$sluice_port" ;;
    nginx) echo "http://127.0.0.1:$nginx_port" ;;
    redis-*) echo "redis://127.0.0.1:$redis_port" ;;
  esac
}

# Sluice's fdatasync count and seconds so far, as a JSON pair (null if /metrics did not answer).
fsync_stats() {
  curl -fsS "http://127.0.0.1:$sluice_port/metrics" 2>/dev/null | awk '
    $1 == "sluice_fsyncs_total" {n = $2} $1 == "sluice_fsync_seconds_total" {s = $2}
    END {if (n == "") print "null"; else printf "[%s,%s]\n", n, s}'
}

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Runs sluice-load once and appends its JSON, with scenario fields, to results.jsonl.
run_load() {  # name peer sweep_value rss round args...
  local name=$1 peer=$2 value=$3 rss=$4 round=$5
  shift 5
  local rss_file=$work/rss.max
  echo 0 >"$rss_file"
  local sampler=""
  if [ "$rss" = true ]; then
    (max=0; while kill -0 "$peer_pid" 2>/dev/null; do
       r=$(rss_kb "$peer_pid"); [ "${r:-0}" -gt "$max" ] && max=$r && echo "$max" >"$rss_file"
       sleep 0.25; done) &
    sampler=$!
  fi
  log "round $round: run $name ${value:+($value) }: $*"
  local result syncs_before=null syncs_after=null
  sync  # start without the previous run's dirty pages being written back under this one
  [ "$peer" = sluice ] && syncs_before=$(fsync_stats)
  result=$("$build/sluice-load" "$@" --label "$name" --no-progress) || {
    log "$name failed"; result='{"error_count":1,"errors":{"sluice-load failed":1}}'; }
  [ "$peer" = sluice ] && syncs_after=$(fsync_stats)
  if [ -n "$sampler" ]; then kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; fi
  local data_bytes=0 alive=true
  [ "$peer" = sluice ] && data_bytes=$(du -sb "$work/sluice-data" | cut -f1)
  if ! kill -0 "$peer_pid" 2>/dev/null; then
    alive=false
    log "$peer died during $name; its log ends:"
    [ "$peer" = sluice ] && tail -5 "$work/sluice.log" >&2
  fi
  jq -c --arg scenario "$name" --arg peer "$peer" --arg value "$value" \
    --argjson alive "$alive" \
    --argjson rss "$(cat "$rss_file")" --argjson idle_rss "$(rss_kb "$peer_pid")" \
    --argjson data "$data_bytes" --argjson round "$round" \
    --argjson s0 "${syncs_before:-null}" --argjson s1 "${syncs_after:-null}" \
    '. + {scenario: $scenario, peer: $peer, sweep_value: $value, round: $round, peer_rss_max_kb: $rss,
          peer_rss_after_kb: $idle_rss, peer_data_bytes: $data, peer_alive_after: $alive}
     + (if $s0 != null and $s1 != null then
          {fsyncs: ($s1[0] - $s0[0]), fsync_seconds: ($s1[1] - $s0[1])} else {} end)' <<<"$result" \
    >>"$out/results.jsonl"
}

prop() { sed -n "s/^$1=//p" "$2" | head -1; }

# Reads the files a "from the page cache" scenario serves, right before it runs. This machine's
# kernel runs a DAMON pageout scheme that evicts page-cache pages left idle for about 6 s, so the
# raw produce runs' data is partly gone by the time the fetch runs, while nginx's file may be hot:
# without this the two sides would not both be reading from the page cache.
warm_files() {  # peer glob (relative to the peer's data dir; empty: nothing)
  [ -n "$2" ] || return 0
  local dir
  case $1 in
    sluice) dir=$work/sluice-data ;;
    nginx) dir=$work/nginx/www ;;
    *) return 0 ;;
  esac
  # shellcheck disable=SC2086
  (cd "$dir" && cat $2 >/dev/null)
}

run_scenario() {  # file round
  local file=$1 round=$2
  local name peer path args sweep values rss
  name=$(prop name "$file"); peer=$(prop peer "$file"); path=$(prop path "$file")
  args=$(prop args "$file"); sweep=$(prop sweep "$file"); values=$(prop values "$file")
  rss=$(prop rss "$file")
  use_peer "$peer"
  warm_files "$peer" "$(prop warm "$file")"
  local url
  url="$(base_url "$peer")${path}"
  # shellcheck disable=SC2086
  if [ -z "$sweep" ]; then
    run_load "$name" "$peer" "" "${rss:-false}" "$round" $args --url "$url"
  else
    for v in $values; do
      run_load "$name" "$peer" "$v" "${rss:-false}" "$round" $args --url "$url" --"$sweep" "$v"
    done
  fi
}

run_fio() {
  local dir=$work/fio
  mkdir -p "$dir"
  local common=(--directory="$dir" --bs=1M --ioengine=psync --output-format=json --numjobs=1)
  log "fio: sequential write (buffered, fdatasync at the end), 2 GiB"
  fio --name=seq-write-buffered --rw=write --size=2G --end_fsync=1 "${common[@]}" \
    >"$out/fio-write-buffered.json"
  log "fio: sequential write with fdatasync every 1 MiB, 256 MiB"
  fio --name=seq-write-fdatasync --rw=write --size=256M --fdatasync=1 "${common[@]}" \
    >"$out/fio-write-fdatasync.json"
  # O_DIRECT: the device's own write ceiling, in whole blocks; 108 KiB is about one raw
  # produce request (1000 records of 100 bytes), 1 MiB the best case.
  log "fio: sequential write with O_DIRECT, 108 KiB and 1 MiB blocks, 2 GiB each"
  fio --name=seq-write-direct-108k --rw=write --size=2G --direct=1 "${common[@]}" --bs=108k \
    >"$out/fio-write-direct-108k.json"
  fio --name=seq-write-direct --rw=write --size=2G --direct=1 "${common[@]}" \
    >"$out/fio-write-direct.json"
  log "fio: sequential read from the page cache, 2 GiB"
  fio --name=seq-write-buffered --rw=read --size=2G "${common[@]}" >"$out/fio-read-cached.json"
  log "fio: sequential read with O_DIRECT (no page cache), 2 GiB"
  fio --name=seq-write-buffered --rw=read --size=2G --direct=1 "${common[@]}" \
    >"$out/fio-read-direct.json"
  rm -rf "$dir"
}

# After the Sluice scenarios: stops the broker and recovers the data they wrote with
# `sluice recover` (a full scan), cold and then cached, alternating with fio reading the same
# segment files cold; three rounds, so the report can take medians. Cold runs need root (they
# drop the page cache) and are skipped otherwise.
run_recovery() {
  local data=$work/sluice-data
  [ -d "$data" ] || return 0
  stop_peer
  local files
  files=$(find "$data" -name '*.log' -size +0 | sort | paste -sd:)
  [ -n "$files" ] || return 0
  local cold=true
  [ -w /proc/sys/vm/drop_caches ] || { cold=false; log "recovery: not root, cold runs skipped"; }
  drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
  record() {  # scenario round line-from-sluice-recover
    local bytes secs
    bytes=$(sed -n 's/.* \([0-9]*\) bytes scanned.*/\1/p' <<<"$3")
    secs=$(sed -n 's/.*quarantined, \([0-9.]*\) s,.*/\1/p' <<<"$3")
    jq -nc --arg s "$1" --arg v "$2" --argjson b "${bytes:-0}" --argjson t "${secs:-0}" \
      '{scenario: $s, peer: "sluice", sweep_value: $v, bytes: $b, seconds: $t,
        mb_s: (if $t > 0 then $b / $t / 1e6 else null end)}' >>"$out/results.jsonl"
  }
  for round in 1 2 3; do
    if $cold; then
      drop_caches
      log "recovery round $round: sluice recover, cold"
      record recovery-cold "$round" "$("$build/sluice" recover --log-dir "$data" --threads 2 | tail -1)"
    fi
    log "recovery round $round: sluice recover, cached"
    "$build/sluice" recover --log-dir "$data" --threads 2 >/dev/null  # load the page cache
    record recovery-cached "$round" "$("$build/sluice" recover --log-dir "$data" --threads 2 | tail -1)"
    if $cold; then
      drop_caches
      log "recovery round $round: fio sequential read of the same files, cold"
      fio --name=segments-cold-read --rw=read --bs=1M --ioengine=psync --readonly \
        --file_service_type=sequential --filename="$files" --output-format=json |
        jq -c --arg v "$round" '{scenario: "fio-cold-read", peer: "fio", sweep_value: $v,
          mb_s: (.jobs[0].read.bw_bytes / 1e6)}' >>"$out/results.jsonl"
    fi
  done
}

install_packages
if [ "${PERF_SKIP_BUILD:-0}" != 1 ]; then
  log "building release"
  cmake --preset release >/dev/null
  cmake --build "$build" -j 2 --target sluice sluice-load
fi
mkdir -p "$out"
: >"$out/results.jsonl"
ulimit -n "$(ulimit -Hn)"
{
  echo "date_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
  echo "mem=$(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/machine.txt"
[ "${PERF_SKIP_FIO:-0}" != 1 ] && run_fio
# The whole list runs PERF_ROUNDS times (peers restarted, Sluice from an empty data dir each
# round); the report takes each figure's median over the rounds, since this machine is shared
# and single runs of the same scenario differ by tens of percent.
rounds=${PERF_ROUNDS:-3}
for round in $(seq 1 "$rounds"); do
  fresh_sluice=true
  [ "$current_peer" = sluice ] && stop_peer
  for file in $scenarios; do run_scenario "$file" "$round"; done
done
[ "${PERF_SKIP_RECOVERY:-0}" != 1 ] && run_recovery
stop_peer
echo "loadavg_after=$(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"
python3 "$root/perf/load/report.py" "$out"
log "results in $out"
