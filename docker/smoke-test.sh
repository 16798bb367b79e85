#!/usr/bin/env bash
# Builds the broker image from docker/Dockerfile and checks it end to end: a container on a
# loopback port with a named volume takes records, stops cleanly on `docker stop`, and a new
# container on the same volume serves them back and reports healthy. Everything it creates
# (containers, volume, image tag, and a Docker engine it had to start) is removed on exit.
#
# Engine: a running one is used; otherwise Debian's docker.io is installed and dockerd started
# here. Base images: pulled when a registry answers; where none does, debian:bookworm is built
# from Debian's mirror with debootstrap (and tagged bookworm-slim too, if that is missing).
# Exits 0 with "skipped" when no engine can be started on this machine.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
image=sluice:smoke-test
volume=sluice-smoke-test-$$
containers=()
dockerd_pid=""
work=$(mktemp -d /tmp/sluice-docker.XXXXXX)

log() { printf '[docker-smoke %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

forward_before=""        # net.ipv4.ip_forward before our engine started
forward_policy_before="" # the filter FORWARD chain's policy then

# What a dockerd we started leaves behind when it stops: its iptables rules and chains, the
# docker0 bridge and net.ipv4.ip_forward=1 (with the FORWARD policy DROP). Removed here, and the
# two settings restored.
undo_engine_network() {
  local table line
  for table in filter nat; do
    as_root iptables -t "$table" -S 2>/dev/null | grep -E '^-A .*(DOCKER|docker0)' |
      while read -r line; do
        # shellcheck disable=SC2086
        as_root iptables -t "$table" ${line/#-A/-D} 2>/dev/null || true
      done
    for chain in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do
      as_root iptables -t "$table" -F "$chain" 2>/dev/null || true
      as_root iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
  as_root ip link delete docker0 2>/dev/null || true
  if [ -n "$forward_policy_before" ]; then
    as_root iptables -P FORWARD "$forward_policy_before" 2>/dev/null || true
  fi
  if [ -n "$forward_before" ]; then
    as_root sysctl -q -w "net.ipv4.ip_forward=$forward_before" >/dev/null 2>&1 || true
  fi
}

cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  docker volume rm -f "$volume" >/dev/null 2>&1 || true
  docker rmi "$image" >/dev/null 2>&1 || true
  if [ -n "$dockerd_pid" ]; then
    kill -TERM "$dockerd_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
    undo_engine_network
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q >/dev/null
  as_root apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

start_engine() {
  docker info >/dev/null 2>&1 && return 0
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io iptables ca-certificates
  command -v docker >/dev/null 2>&1 || return 1
  log "starting dockerd"
  forward_before=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || true)
  forward_policy_before=$(as_root iptables -S FORWARD 2>/dev/null | awk '$1 == "-P" { print $3 }')
  # The log is ours, so sudo need not open it; sudo passes our TERM on to dockerd.
  # shellcheck disable=SC2024
  if [ "$(id -u)" -eq 0 ]; then
    dockerd >"$work/dockerd.log" 2>&1 &
  else
    sudo dockerd >"$work/dockerd.log" 2>&1 &
  fi
  dockerd_pid=$!
  for _ in $(seq 1 150); do
    docker info >/dev/null 2>&1 && return 0
    kill -0 "$dockerd_pid" 2>/dev/null || break
    sleep 0.2
  done
  tail -5 "$work/dockerd.log" >&2 || true
  return 1
}

# debian:bookworm and debian:bookworm-slim, as docker/Dockerfile names them.
ensure_base_images() {
  local missing=()
  for tag in bookworm bookworm-slim; do
    docker image inspect "debian:$tag" >/dev/null 2>&1 || docker pull -q "debian:$tag" \
      >/dev/null 2>&1 || missing+=("$tag")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "no registry for debian:${missing[*]}; building it from Debian's mirror with debootstrap"
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  as_root debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 || { tail -5 "$work/debootstrap.log" >&2; return 1; }
  as_root rm -rf "$work/rootfs/var/lib/apt/lists"
  as_root mkdir -p "$work/rootfs/var/lib/apt/lists/partial"
  as_root tar -C "$work/rootfs" -c . | docker import - sluice-smoke-base:bookworm >/dev/null
  for tag in "${missing[@]}"; do docker tag sluice-smoke-base:bookworm "debian:$tag"; done
  docker rmi sluice-smoke-base:bookworm >/dev/null
  as_root rm -rf "$work/rootfs"
}

run_broker() {  # name (already in containers: this runs in a subshell); prints the host port
  local name=$1
  docker run -d --name "$name" -p 127.0.0.1::8080 -v "$volume:/var/lib/sluice" "$image" >/dev/null
  local port
  port=$(docker port "$name" 8080/tcp | head -1 | sed 's/.*://')
  for _ in $(seq 1 150); do
    curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && { echo "$port"; return 0; }
    sleep 0.2
  done
  docker logs "$name" >&2 || true
  return 1
}

fail() { log "FAILED: $*"; exit 1; }

if ! start_engine; then
  log "skipped: no Docker engine could be started on this machine"
  exit 0
fi
ensure_base_images
log "building $image"
docker build -q -f "$root/docker/Dockerfile" -t "$image" "$root" >/dev/null

containers+=("sluice-smoke-1-$$" "sluice-smoke-2-$$")
port=$(run_broker sluice-smoke-1-$$) || fail "the first container never became ready"
reply=$(curl -fsS -X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' \
  "http://127.0.0.1:$port/topics/smoke" -d '{"records":[{"key":"k","value":{"n":1}},{"value":"two"}]}')
grep -q '"offset":1' <<<"$reply" || fail "produce answered $reply"
docker stop -t 30 "sluice-smoke-1-$$" >/dev/null
docker logs "sluice-smoke-1-$$" 2>&1 | grep -q "stopped cleanly" || fail "docker stop did not stop the broker cleanly"

port=$(run_broker sluice-smoke-2-$$) || fail "the second container never became ready"
records=$(curl -fsS -H 'Accept: application/vnd.kafka.json.v2+json' \
  "http://127.0.0.1:$port/topics/smoke/partitions/0/records?offset=0")
if ! grep -q '"value":{"n":1}' <<<"$records" || ! grep -q '"value":"two"' <<<"$records"; then
  fail "records not served back from the volume: $records"
fi
for _ in $(seq 1 60); do
  status=$(docker inspect -f '{{.State.Health.Status}}' "sluice-smoke-2-$$")
  [ "$status" = healthy ] && break
  sleep 1
done
[ "$status" = healthy ] || fail "health check status $status"
log "passed: image built, records kept across containers, clean stop, healthy"
