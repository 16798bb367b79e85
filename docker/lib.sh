# Shared by docker/smoke-test.sh and docker/cluster-test.sh (sourced, not run): a Docker engine
# for the test, base images from Debian's mirror, the images under the test's own names, and
# the removal of everything the test created.
#
# Engine: a running one (DOCKER_HOST, or the default socket) is used. Otherwise Debian's
# docker.io is installed if needed and a dockerd of the test's own is started with every file
# it writes under the test's temporary directory: its data root (images, containers, volumes,
# build cache), its exec root, its socket and pid file. That dockerd creates no default bridge
# (docker0), adds no iptables rule and leaves net.ipv4.ip_forward alone: the containers talk
# only to each other on networks the test creates, and to the test through ports published
# on 127.0.0.1 (docker-proxy). The image builds, whose apt-get needs Debian's mirror, run with
# the host's network instead of a NAT. When the test ends, the engine is stopped and the
# directory removed, which removes everything it held.
#
# Base images: debootstrap builds bookworm from Debian's mirror (no Docker registry is needed)
# and it is imported under the test's own tag, which the Dockerfiles get as BASE_IMAGE and
# RUNTIME_IMAGE. No debian:* tag is created.
#
# The sourcing script sets `log_name` and calls `docker_test_begin` first.

# shellcheck shell=bash

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
run_id=$$
work=""
own_engine=0
dockerd_pid=""
forward_before=""        # net.ipv4.ip_forward before our engine started
forward_policy_before="" # the filter FORWARD chain's policy then
bridges_before=""        # br-* links that existed before our engine started
bridges_seen=()          # the bridges of the networks our engine has had

# What the test created, removed by docker_test_end in reverse dependency order.
created_projects=()   # compose projects: "name|file"
created_containers=()
created_networks=()
created_volumes=()
created_images=()
built_layers=()       # build logs, whose layers new_layers lists

base_image=sluice-test-base:bookworm-$run_id
broker_image=sluice-test:broker-$run_id
etcd_image=sluice-test:etcd-$run_id

# The legacy builder everywhere: it keeps no build cache outside the images it tags, which the
# test removes (BuildKit's cache would outlive them on an engine that is not ours).
export DOCKER_BUILDKIT=0

log() { printf '[%s %s] %s\n' "${log_name:-docker-test}" "$(date -u +%H:%M:%S)" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Phases, each logged when it starts and timed; the times are printed at the end.
phase_names=()
phase_seconds=()
phase_name=""
phase_started=0
phase() {  # name
  phase_done
  phase_name=$1
  phase_started=$SECONDS
  log "== $phase_name"
}
phase_done() {
  [ -n "$phase_name" ] || return 0
  phase_names+=("$phase_name")
  phase_seconds+=($((SECONDS - phase_started)))
  phase_name=""
}
phase_summary() {
  phase_done
  local i
  for i in "${!phase_names[@]}"; do
    log "$(printf '%4d s  %s' "${phase_seconds[i]}" "${phase_names[i]}")"
  done
  log "$(printf '%4d s  total' "$SECONDS")"
}

apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q >/dev/null
  as_root apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

# Only 127.0.0.1 is contacted, never through a proxy the environment names.
local_curl() { curl --noproxy '*' -sS --max-time 10 "$@"; }

docker_test_begin() {
  work=$(mktemp -d /tmp/sluice-docker.XXXXXX)
  SECONDS=0
  trap docker_test_end EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

start_engine() {
  if docker info >/dev/null 2>&1; then
    log "using the running Docker engine ($(docker info -f '{{.DockerRootDir}}' 2>/dev/null))"
    return 0
  fi
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
    log "installing Debian's docker.io"
    apt_install docker.io ca-certificates
  fi
  command -v dockerd >/dev/null 2>&1 || return 1
  local engine=$work/engine
  mkdir -p "$engine"
  echo '{}' >"$engine/daemon.json"
  forward_before=$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || true)
  forward_policy_before=$({ as_root iptables -S FORWARD 2>/dev/null || true; } | awk '$1 == "-P" { print $3 }')
  bridges_before=$({ ip -o link show type bridge 2>/dev/null || true; } | awk -F': ' '$2 ~ /^br-/ { print $2 }')
  export DOCKER_HOST=unix://$engine/docker.sock
  log "starting a dockerd of its own, data root $engine/root"
  own_engine=1
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  # dockerd itself is our child (sudo passes our signals on), so its pid is $!. The log is
  # ours, so sudo need not open it.
  # shellcheck disable=SC2024
  "${sudo[@]}" dockerd --config-file "$engine/daemon.json" --host "$DOCKER_HOST" \
    --data-root "$engine/root" --exec-root "$engine/exec" --pidfile "$engine/dockerd.pid" \
    --bridge=none --iptables=false --ip-forward=false --ip-masq=false \
    >"$engine/dockerd.log" 2>&1 &
  dockerd_pid=$!
  local i
  for i in $(seq 1 150); do  # 30 s
    docker info >/dev/null 2>&1 && return 0
    [ -d "/proc/$dockerd_pid" ] || break
    sleep 0.2
  done
  tail -5 "$engine/dockerd.log" >&2 || true
  return 1
}

# bookworm from Debian's mirror, imported as $base_image. Used as BASE_IMAGE (the build stage)
# and RUNTIME_IMAGE: minbase holds apt, which is all the Dockerfiles need.
build_base_image() {
  command -v debootstrap >/dev/null 2>&1 || apt_install debootstrap
  local rootfs=$work/rootfs
  as_root debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
    >"$work/debootstrap.log" 2>&1 || { tail -5 "$work/debootstrap.log" >&2; return 1; }
  as_root rm -rf "$rootfs/var/lib/apt/lists"
  as_root mkdir -p "$rootfs/var/lib/apt/lists/partial"
  created_images+=("$base_image")
  as_root tar -C "$rootfs" -c . | docker import - "$base_image" >/dev/null
  as_root rm -rf "$rootfs"
}

# docker build with its full output in $work/build-<name>.log; the steps and the compiler's
# [n/total] lines are logged as they come, so a long build shows where it is.
build_image() {  # name, tag, then docker build arguments
  local name=$1 tag=$2
  shift 2
  created_images+=("$tag")
  local status=0
  docker build --network host --build-arg "BASE_IMAGE=$base_image" \
    --build-arg "RUNTIME_IMAGE=$base_image" -t "$tag" "$@" 2>&1 |
    tee "$work/build-$name.log" |
    while IFS= read -r line; do
      case $line in
        "Step "* | "installing: "* | "Fetched "*) log "  ${line:0:110}" ;;
        "["[0-9]*/[0-9]*"]"*) log "  ${line:0:110}" ;;
      esac
    done || status=$?
  built_layers+=("$work/build-$name.log")
  if [ "$status" -ne 0 ]; then
    tail -30 "$work/build-$name.log" >&2
    return 1
  fi
}

# The layers our builds made, newest first: each step's image that the build log does not show
# as taken from the cache or as the FROM image. A multi-stage build leaves its build stage's layers untagged (the
# compiler, the object files); on an engine that is not ours they are removed with our tags.
new_layers() {
  local log
  for log in "${built_layers[@]}"; do
    awk '/^Step [0-9]+\/[0-9]+ : FROM / { cached = 1; next }
         /^ ---> Using cache/ { cached = 1; next }
         /^ ---> [0-9a-f]+$/ { if (!cached) print $2; cached = 0 }' "$log"
  done | tac
}

# With SLUICE_BROKER_BINARY (a sluice binary built on bookworm, as `make docker-test` passes
# build/release/sluice), the image is the Dockerfile's runtime stage plus a stripped copy of
# that binary: the same image without compiling it a second time. Otherwise the Dockerfile
# compiles it in its build stage.
build_broker_image() {
  local binary=${SLUICE_BROKER_BINARY:-}
  if [ -z "$binary" ]; then
    build_image broker "$broker_image" -f "$root/docker/Dockerfile" "$root"
    return
  fi
  [ -x "$binary" ] || fail "SLUICE_BROKER_BINARY: no executable at $binary"
  binary=$(realpath "$binary")
  build_image broker-runtime "$broker_image-runtime" --target runtime \
    -f "$root/docker/Dockerfile" "$root"
  mkdir -p "$work/binary"
  strip -o "$work/binary/sluice" "$binary"
  printf 'ARG RUNTIME\nFROM ${RUNTIME}\nCOPY sluice /usr/local/bin/sluice\n' >"$work/binary/Dockerfile"
  build_image broker "$broker_image" --build-arg "RUNTIME=$broker_image-runtime" "$work/binary"
}

build_etcd_image() {
  build_image etcd "$etcd_image" -f "$root/docker/Dockerfile.etcd" "$root/docker"
}

# A network of the test's own: containers reach each other on it, nothing else.
create_network() {  # name
  created_networks+=("$1")
  docker network create "$1" >/dev/null
  remember_bridges
}

# The Linux bridge of each bridge network the engine has (br- and the network id's start).
our_bridges() {
  local id
  for id in $(docker network ls -q --filter driver=bridge 2>/dev/null || true); do
    echo "br-${id:0:12}"
  done
}

# Noted as networks are created, so that they can be removed even if the engine dies.
remember_bridges() {
  local bridge
  for bridge in $(our_bridges); do bridges_seen+=("$bridge"); done
}

# What a dockerd that the test started could leave behind when it stops: iptables rules and
# chains, the docker0 bridge, bridges of its networks, net.ipv4.ip_forward=1 and a FORWARD
# policy of DROP. The engine is started so that it creates none of these, but a dockerd
# configured otherwise (or an older one) would; each is removed, and the two settings restored.
undo_engine_network() {  # bridges of our networks
  local table line chain bridge
  for table in filter nat; do
    { as_root iptables -t "$table" -S 2>/dev/null || true; } |
      { grep -E '^-A .*(DOCKER|docker0)' || true; } |
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
  for bridge in "$@"; do
    grep -qx "$bridge" <<<"$bridges_before" && continue
    as_root ip link delete "$bridge" 2>/dev/null || true
  done
  if [ -n "$forward_policy_before" ]; then
    as_root iptables -P FORWARD "$forward_policy_before" 2>/dev/null || true
  fi
  if [ -n "$forward_before" ]; then
    as_root sysctl -q -w "net.ipv4.ip_forward=$forward_before" >/dev/null 2>&1 || true
  fi
}

stop_engine() {
  local bridges i
  bridges="$(our_bridges) ${bridges_seen[*]}"
  as_root kill -TERM "$dockerd_pid" 2>/dev/null || true
  for i in $(seq 1 200); do  # 20 s
    [ -d "/proc/$dockerd_pid" ] || break
    sleep 0.1
  done
  if [ -d "/proc/$dockerd_pid" ]; then
    log "dockerd (pid $dockerd_pid) still running after 20 s: SIGKILL"
    as_root kill -KILL "$dockerd_pid" 2>/dev/null || true
  fi
  wait "$dockerd_pid" 2>/dev/null || true
  # shellcheck disable=SC2086  # one bridge name a word
  undo_engine_network $bridges
  # dockerd leaves the mount of its default network namespace under its exec root even when it
  # stops cleanly, and one that did not stop cleanly leaves its overlay layers mounted too;
  # unmount them, deepest first, before the directory is removed.
  { findmnt -rn -o TARGET || true; } | { grep -F "$work/" || true; } | sort -r |
    while read -r mount; do as_root umount -l "$mount" 2>/dev/null || true; done
}

# shellcheck disable=SC2317  # reached from the EXIT trap
docker_test_end() {
  local status=$?
  trap '' INT TERM
  [ -n "$work" ] || exit "$status"
  phase "removing what the test created"
  local entry i
  for entry in "${created_projects[@]}"; do
    timeout 120 docker-compose -p "${entry%%|*}" -f "${entry#*|}" down -v --remove-orphans \
      -t 10 >"$work/compose-down.log" 2>&1 || { log "compose down failed:"; cat "$work/compose-down.log" >&2; }
  done
  for entry in "${created_containers[@]}"; do docker rm -f -v "$entry" >/dev/null 2>&1 || true; done
  for entry in "${created_networks[@]}"; do docker network rm "$entry" >/dev/null 2>&1 || true; done
  for entry in "${created_volumes[@]}"; do docker volume rm -f "$entry" >/dev/null 2>&1 || true; done
  if [ "$own_engine" -eq 1 ]; then
    stop_engine  # its data root goes with the directory
  else
    for ((i = ${#created_images[@]} - 1; i >= 0; i--)); do
      docker rmi "${created_images[i]}" >/dev/null 2>&1 || true
    done
    for entry in $(new_layers); do docker rmi "$entry" >/dev/null 2>&1 || true; done
  fi
  as_root rm -rf "$work"
  phase_summary
  exit "$status"
}

# Waits until GET url answers 200, at most `seconds`.
wait_ready() {  # url seconds
  local deadline=$((SECONDS + $2))
  until [ "$(local_curl -o /dev/null -w '%{http_code}' "$1" 2>/dev/null)" = 200 ]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}
