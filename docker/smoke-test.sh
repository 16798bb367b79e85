#!/usr/bin/env bash
# `make docker-test`: builds the broker image from docker/Dockerfile once and checks it end to
# end twice (with SLUICE_BROKER_BINARY, the image holds that binary instead of compiling one;
# `make docker-test` passes build/release/sluice):
#  1. one broker: a container on a loopback port with a named volume takes records, stops
#     cleanly on `docker stop`, and a new container on the same volume serves them back and
#     reports healthy;
#  2. the compose cluster (docker/cluster-test.sh): etcd and three brokers from
#     docker/docker-compose.cluster.yml survive `docker kill` of a partition's leader without
#     losing an acknowledged record, and the killed broker rejoins the ISR.
# Each phase is logged with the time; the phases' durations are printed at the end.
#
# Everything it creates (containers, networks, volumes, images under its own names, and the
# Docker engine it had to start, with its data) is removed on exit: docker/lib.sh has the
# details. Exits 0 with "skipped" when no engine can be started on this machine.
#
# SLUICE_DOCKER_TEST=smoke runs only the first test, =cluster only the second.
set -euo pipefail

log_name=docker-test
# shellcheck source=docker/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=docker/cluster-test.sh
. "$(dirname "$0")/cluster-test.sh"

which=${SLUICE_DOCKER_TEST:-all}
case $which in
  all | smoke | cluster) ;;
  *) echo "SLUICE_DOCKER_TEST must be all, smoke or cluster, not '$which'" >&2; exit 2 ;;
esac

# One broker on a network of its own, port 8080 on a free loopback port; prints that port.
run_broker() {  # container name (already in created_containers: this runs in a subshell)
  local name=$1
  # The engine forwards no packets on purpose; the client warns that it does not.
  docker run -d --name "$name" --network "$smoke_network" -p 127.0.0.1::8080 \
    -v "$smoke_volume:/var/lib/sluice" "$broker_image" 2>&1 >/dev/null |
    { grep -v 'IPv4 forwarding is disabled' || true; } >&2
  local port
  port=$(docker port "$name" 8080/tcp | head -1 | sed 's/.*://')
  if ! wait_ready "http://127.0.0.1:$port/readyz" 60; then
    docker logs "$name" >&2 || true
    return 1
  fi
  echo "$port"
}

smoke_test() {
  smoke_network=sluice-smoke-$run_id
  smoke_volume=sluice-smoke-$run_id
  local first=sluice-smoke-1-$run_id second=sluice-smoke-2-$run_id port reply records status
  phase "single broker: produce, docker stop, serve the records from the volume again"
  create_network "$smoke_network"
  created_volumes+=("$smoke_volume")
  created_containers+=("$first" "$second")

  port=$(run_broker "$first") || fail "the first container never became ready"
  reply=$(local_curl -f -X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' \
    "http://127.0.0.1:$port/topics/smoke" -d '{"records":[{"key":"k","value":{"n":1}},{"value":"two"}]}')
  grep -q '"offset":1' <<<"$reply" || fail "produce answered $reply"
  docker stop -t 30 "$first" >/dev/null
  docker logs "$first" 2>&1 | grep -q "stopped cleanly" || fail "docker stop did not stop the broker cleanly"
  log "first container stopped cleanly"

  port=$(run_broker "$second") || fail "the second container never became ready"
  records=$(local_curl -f -H 'Accept: application/vnd.kafka.json.v2+json' \
    "http://127.0.0.1:$port/topics/smoke/partitions/0/records?offset=0&timeout=0")
  if ! grep -q '"value":{"n":1}' <<<"$records" || ! grep -q '"value":"two"' <<<"$records"; then
    fail "records not served back from the volume: $records"
  fi
  status=""
  for _ in $(seq 1 60); do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$second")
    [ "$status" = healthy ] && break
    sleep 1
  done
  [ "$status" = healthy ] || fail "health check status $status"
  log "passed: records kept across containers, clean stop, healthy"
}

docker_test_begin
phase "Docker engine"
if ! start_engine; then
  log "skipped: no Docker engine could be started on this machine"
  exit 0
fi
phase "base image: debootstrap bookworm from Debian's mirror"
build_base_image
if [ -n "${SLUICE_BROKER_BINARY:-}" ]; then
  phase "broker image (the runtime stage and $SLUICE_BROKER_BINARY)"
else
  phase "broker image (compiles sluice; the longest phase)"
fi
build_broker_image
if [ "$which" != smoke ]; then
  phase "etcd image"
  build_etcd_image
fi
[ "$which" = cluster ] || smoke_test
[ "$which" = smoke ] || cluster_test
phase_done
log "passed"
