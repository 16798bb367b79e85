#!/usr/bin/env bash
# Puts promtool, Prometheus's linter, on the PATH for tests/net/metrics_test.cc (every `make`
# target that builds runs it through `make deps`; the test is skipped without promtool). Debian
# ships promtool only inside its `prometheus` package, which is 96 MB installed and
# sets up a system user and the Prometheus service, so this takes only usr/bin/promtool out of
# the package instead of installing it. Idempotent.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
if ! apt-get download -q prometheus; then
  "${sudo_cmd[@]}" apt-get update -q
  apt-get download -q prometheus
fi
dpkg-deb --fsys-tarfile prometheus_*.deb | tar -x ./usr/bin/promtool
"${sudo_cmd[@]}" install -m 0755 usr/bin/promtool /usr/local/bin/promtool
echo "installed /usr/local/bin/promtool"
