#!/usr/bin/env bash
# Builds the libFuzzer targets in tests/fuzz with clang (ASan and UBSan on) and runs each for
# FUZZ_SECONDS (default 60). Corpora grow in build/fuzz/corpus/<target>, seeded from
# tests/fuzz/seeds/<target>; a crash is written to build/fuzz/ and fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -q
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

targets=(fuzz_batch fuzz_base64 fuzz_produce fuzz_recovery fuzz_config fuzz_http fuzz_etcd
  fuzz_replica_fetch fuzz_offsets_record fuzz_basic_auth fuzz_acls)
cmake --preset fuzz >/dev/null
cmake --build build/fuzz -j "$(nproc)" --target "${targets[@]}"

seconds=${FUZZ_SECONDS:-60}
for t in "${targets[@]}"; do
  corpus=build/fuzz/corpus/$t
  mkdir -p "$corpus"
  seeds=tests/fuzz/seeds/$t
  [ -d "$seeds" ] || seeds=
  echo "== $t: ${seconds} s (log: build/fuzz/$t.log)"
  # shellcheck disable=SC2086
  if ! "build/fuzz/tests/fuzz/$t" -max_total_time="$seconds" -max_len=8192 \
      -artifact_prefix=build/fuzz/ "$corpus" $seeds >"build/fuzz/$t.log" 2>&1; then
    tail -40 "build/fuzz/$t.log"
    echo "$t found a failing input (saved in build/fuzz/ as crash-*, leak-* or timeout-*)"
    exit 1
  fi
  grep -E '^#[0-9]+[[:space:]]+DONE' "build/fuzz/$t.log" || true
done
