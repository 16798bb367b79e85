#!/usr/bin/env bash
# The compose cluster under a leader's death (part of `make docker-test`). Starts
# docker/docker-compose.cluster.yml (etcd and three brokers, R=3, min.insync.replicas 2) as a
# project of its own, with ports 8081-8083 on 127.0.0.1 (free ones if those are taken), then:
#  - creates a topic with one partition and 3 replicas through broker 1 and waits for its ISR
#    to hold all three;
#  - produces records with acks=all through broker 1, each request's offsets noted;
#  - finds the partition's leader in GET /v1/cluster and `docker kill`s its container;
#  - through another broker, reads every acknowledged record back at the offset it was
#    acknowledged at (retrying while the election answers 503, bounded), then produces with
#    acks=all through that broker;
#  - starts the killed container again and waits (bounded) until it is back in the ISR.
# `docker-compose down -v` removes its containers, network and volumes.
#
# Run alone, `bash docker/cluster-test.sh` builds the images and runs only this test
# (docker/smoke-test.sh with SLUICE_DOCKER_TEST=cluster); smoke-test.sh sources it.
# shellcheck disable=SC2154  # root, work, run_id and the image names are docker/lib.sh's
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  SLUICE_DOCKER_TEST=cluster exec bash "$(dirname "$0")/smoke-test.sh"
fi

# docker-compose (Debian 12's package, 1.29), or the compose plugin where there is one.
compose_cmd=()
find_compose() {
  if command -v docker-compose >/dev/null 2>&1; then
    compose_cmd=(docker-compose)
  elif docker compose version >/dev/null 2>&1; then
    compose_cmd=(docker compose)
  else
    log "installing Debian's docker-compose"
    apt_install docker-compose
    compose_cmd=(docker-compose)
  fi
}

# A port nothing listens on at 127.0.0.1 (or on every address), the first from `start` on.
free_port() {  # start
  local port=$1
  while ss -ltnH "sport = :$port" | grep -q .; do
    port=$((port + 1))
    ((port < 65535)) || return 1
  done
  echo "$port"
}

# One field of the partition's state in GET /v1/cluster on a port: leader, isr (ids separated
# by spaces) or replicas; empty when the broker does not answer.
partition_field() {  # port topic field
  local_curl -f "http://127.0.0.1:$1/v1/cluster" 2>/dev/null |
    TOPIC=$2 FIELD=$3 python3 -c '
import json, os, sys
state = json.load(sys.stdin)
for p in state["partitions"]:
    if p["topic"] == os.environ["TOPIC"] and p["partition"] == 0:
        v = p[os.environ["FIELD"]]
        print(" ".join(map(str, v)) if isinstance(v, list) else v)
' 2>/dev/null || true
}

# Produces `count` records with acks=all through a port, in requests of 10; appends each
# acknowledged "offset value" to the file. Fails on any error.
produce_acked() {  # port topic first-number count file
  local port=$1 topic=$2 first=$3 count=$4 file=$5 n body reply
  for ((n = first; n < first + count; n += 10)); do
    body=$(python3 -c 'import json, sys
a, b = int(sys.argv[1]), int(sys.argv[2])
print(json.dumps({"records": [{"value": "record-%d" % i} for i in range(a, b)]}))' \
      "$n" "$((n + 10 < first + count ? n + 10 : first + count))")
    reply=$(local_curl -X POST -H 'Content-Type: application/vnd.kafka.json.v2+json' \
      "http://127.0.0.1:$port/topics/$topic/partitions/0?acks=all" -d "$body") ||
      fail "produce through port $port: no answer"
    BODY=$body python3 -c '
import json, os, sys
sent = json.loads(os.environ["BODY"])["records"]
reply = json.loads(sys.stdin.read())
offsets = reply.get("offsets")
if not offsets or len(offsets) != len(sent) or any(o.get("offset") is None for o in offsets):
    sys.exit("produce answered %s" % json.dumps(reply))
for r, o in zip(sent, offsets):
    print(o["offset"], r["value"])
' <<<"$reply" >>"$file" || fail "produce through port $port: $reply"
  done
}

# Reads the partition from offset 0 through a port until every acknowledged record is there,
# retrying while the answer is not 200 (an election: 503), at most `seconds`. Checks that each
# acknowledged record is at its offset; prints the seconds until the first answer with records.
read_back() {  # port topic acked-file seconds
  local port=$1 topic=$2 acked=$3 deadline=$((SECONDS + $4)) started=$SECONDS first=""
  local want code=000 last_code=200 offset=0 got=$work/read-back.json next
  want=$(($(sort -n "$acked" | tail -1 | cut -d' ' -f1) + 1))
  : >"$work/read-back.txt"
  while ((offset < want)); do
    ((SECONDS < deadline)) || fail "read back through port $port: offset $offset of $want after $4 s (last answer $code: $(head -c 300 "$got"))"
    # A request forwarded to the dead leader can take the resolver's timeout to fail (its
    # name no longer resolves on the compose network): wait for the answer longer than that.
    code=$(local_curl --max-time 25 -o "$got" -w '%{http_code}' -H 'Accept: application/vnd.kafka.json.v2+json' \
      "http://127.0.0.1:$port/topics/$topic/partitions/0/records?offset=$offset&timeout=1000" 2>/dev/null) || code=000
    if [ "$code" != "$last_code" ]; then
      log "  broker on port $port answers $code ($((SECONDS - started)) s): $(head -c 160 "$got" 2>/dev/null | tr -d '\n')"
      last_code=$code
    fi
    if [ "$code" != 200 ]; then
      sleep 0.5
      continue
    fi
    [ -n "$first" ] || first=$((SECONDS - started))
    next=$(python3 -c '
import json, sys
records = json.load(open(sys.argv[1]))
out = open(sys.argv[2], "a")
for r in records:
    out.write("%d %s\n" % (r["offset"], r["value"]))
print(records[-1]["offset"] + 1 if records else sys.argv[3])
' "$got" "$work/read-back.txt" "$offset")
    offset=$next
  done
  python3 - "$acked" "$work/read-back.txt" <<'EOF' || fail "records read back through port $port differ from those acknowledged"
import sys
acked = dict(line.split(" ", 1) for line in open(sys.argv[1]).read().splitlines())
read = dict(line.split(" ", 1) for line in open(sys.argv[2]).read().splitlines())
bad = [(o, v, read.get(o)) for o, v in acked.items() if read.get(o) != v]
for o, v, r in bad[:10]:
    print("offset %s: acknowledged %s, read %s" % (o, v, r), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
  echo "${first:-0}"
}

cluster_test() {
  local file=$root/docker/docker-compose.cluster.yml project=sluice-test-$run_id
  local topic=failover acked=$work/acked.txt ports=() p id cluster_id leader leader_port other
  local other_port killed_at deadline isr container first
  find_compose
  phase "cluster: docker-compose up (etcd, then three brokers)"
  p=8080
  for id in 1 2 3; do
    p=$(free_port $((p + 1))) || fail "no free port"
    ports+=("$p")
  done
  export SLUICE_IMAGE=$broker_image SLUICE_ETCD_IMAGE=$etcd_image
  export SLUICE_PORT_1=${ports[0]} SLUICE_PORT_2=${ports[1]} SLUICE_PORT_3=${ports[2]}
  SLUICE_CLUSTER_AUTH_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  export SLUICE_CLUSTER_AUTH_TOKEN
  compose() { "${compose_cmd[@]}" -p "$project" -f "$file" "$@"; }
  created_projects+=("$project|$file")
  # Waits for etcd's health check before it starts the brokers.
  if ! timeout 180 "${compose_cmd[@]}" -p "$project" -f "$file" up -d --no-build 2>&1 |
      while IFS= read -r line; do log "  $line"; done; then
    compose logs --tail 30 >&2 || true
    fail "docker-compose up failed"
  fi
  remember_bridges
  for id in 1 2 3; do
    wait_ready "http://127.0.0.1:${ports[id - 1]}/readyz" 120 ||
      { compose logs --tail 30 >&2; fail "broker $id not ready on port ${ports[id - 1]}"; }
  done
  log "brokers ready on 127.0.0.1:${ports[0]}, ${ports[1]}, ${ports[2]}"

  phase "cluster: topic with 3 replicas, acks=all produce through broker 1"
  cluster_id=$(local_curl -f "http://127.0.0.1:${ports[0]}/v1/cluster" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["cluster_id"])')
  local_curl -f -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"topic_name\":\"$topic\",\"partitions_count\":1,\"replication_factor\":3}" \
    "http://127.0.0.1:${ports[0]}/v3/clusters/$cluster_id/topics" || fail "topic creation"
  deadline=$((SECONDS + 60))
  until [ "$(partition_field "${ports[0]}" "$topic" isr | wc -w)" -eq 3 ]; do
    ((SECONDS < deadline)) || fail "ISR of $topic-0 is [$(partition_field "${ports[0]}" "$topic" isr)] after 60 s"
    sleep 0.5
  done
  : >"$acked"
  produce_acked "${ports[0]}" "$topic" 0 200 "$acked"
  log "200 records acknowledged (acks=all), offsets $(head -1 "$acked" | cut -d' ' -f1) to $(tail -1 "$acked" | cut -d' ' -f1)"

  phase "cluster: docker kill the leader, read every acknowledged record through another broker"
  leader=$(partition_field "${ports[0]}" "$topic" leader)
  [[ $leader =~ ^[123]$ ]] || fail "no leader for $topic-0 in /v1/cluster: '$leader'"
  leader_port=${ports[leader - 1]}
  other=$((leader % 3 + 1))
  other_port=${ports[other - 1]}
  container=$(compose ps -q "sluice-$leader")
  [ -n "$container" ] || fail "no container for sluice-$leader"
  docker kill "$container" >/dev/null
  killed_at=$SECONDS
  log "killed broker $leader (the leader of $topic-0); reading through broker $other"
  first=$(read_back "$other_port" "$topic" "$acked" 60)
  log "all $(wc -l <"$acked") acknowledged records read back at their offsets; first answer ${first} s after the kill"
  produce_acked "$other_port" "$topic" 200 50 "$acked"
  log "50 more records acknowledged through broker $other, leader now broker $(partition_field "$other_port" "$topic" leader), ISR [$(partition_field "$other_port" "$topic" isr)]"
  [ "$(docker inspect -f '{{.State.Running}}' "$container")" = false ] ||
    fail "the killed container was restarted by Docker before the test restarted it"

  phase "cluster: restart the killed broker, wait for it to rejoin the ISR"
  docker start "$container" >/dev/null
  wait_ready "http://127.0.0.1:$leader_port/readyz" 120 ||
    { compose logs --tail 30 "sluice-$leader" >&2; fail "broker $leader not ready after its restart"; }
  deadline=$((SECONDS + 90))
  until isr=$(partition_field "$other_port" "$topic" isr) && grep -qw "$leader" <<<"$isr"; do
    ((SECONDS < deadline)) || { compose logs --tail 30 >&2; fail "broker $leader not back in the ISR of $topic-0 after 90 s (ISR [$isr])"; }
    sleep 0.5
  done
  log "broker $leader back in the ISR [$isr] $((SECONDS - killed_at)) s after the kill"
  read_back "$leader_port" "$topic" "$acked" 30 >/dev/null
  log "passed: all $(wc -l <"$acked") acknowledged records read back through the restarted broker too"
}
