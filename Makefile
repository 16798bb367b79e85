# Entry points. Every target installs what it needs first, so each works on a fresh machine.
JOBS ?= $(shell nproc)
CTEST_FLAGS ?= --output-on-failure -j $(JOBS) --timeout 600

.PHONY: deps build broker run cluster test chaos bench perf docker-test asan tsan fuzz format clean

deps:
	@bash scripts/install-deps.sh
	@bash scripts/install-promtool.sh

build: deps
	cmake --preset release >/dev/null
	cmake --build build/release -j $(JOBS)

# Only the broker binary, not the tests and benchmarks `build` adds, so that `run`, `cluster` and
# `docker-test` start sooner; ninja prints each step as [done/total].
broker: deps
	cmake --preset release >/dev/null
	cmake --build build/release -j $(JOBS) --target sluice

run: broker
	mkdir -p data
	./build/release/sluice serve --set log.dirs=./data --set listeners=http://127.0.0.1:8080

# etcd and three brokers as local processes on 127.0.0.1 (scripts/cluster.sh, docs/CLUSTER.md):
# brokers on 8081-8083, data and logs in ./data-cluster; Ctrl-C stops them all.
cluster: broker
	bash scripts/cluster.sh

test: build
	cd build/release && ctest $(CTEST_FLAGS)

# Random faults against etcd and three brokers under acks=all load, then a checker
# (tests/cluster/chaos_test.cc, docs/RELIABILITY.md): CHAOS_SECONDS (3600 here; `make test` runs
# 60), CHAOS_SEED, CHAOS_REPORT (a file for the report), CHAOS_LOGS (a directory for the
# brokers' logs). It runs copies of the binaries, so the tree may be rebuilt meanwhile.
CHAOS_SECONDS ?= 3600
chaos: build
	dir=$$(mktemp -d /tmp/sluice-chaos-XXXXXX) && \
	  cp build/release/sluice build/release/tests/cluster/cluster_tests "$$dir"/ && \
	  CHAOS_SECONDS=$(CHAOS_SECONDS) SLUICE_TEST_BINARY="$$dir/sluice" \
	  "$$dir/cluster_tests" --gtest_filter='ChaosTest.*'; rc=$$?; rm -rf "$$dir"; exit $$rc

bench: build
	./build/release/perf/sluice-bench --benchmark_counters_tabular=true
	./build/release/perf/sluice-net-bench --benchmark_counters_tabular=true

# Side-by-side HTTP load runs against Redis, nginx and fio (perf/compare.sh); under 15 minutes.
perf: deps
	bash perf/compare.sh

# The image gets the release build's broker binary (docker/lib.sh); `bash docker/smoke-test.sh`
# alone compiles it inside the image build, as `docker build` does.
docker-test: broker
	SLUICE_BROKER_BINARY=build/release/sluice bash docker/smoke-test.sh

# The sanitizer presets (CMakePresets.json) compile at -O1 with line tables only (-g1): the
# reports still name file and line, and a sanitizer build takes about 40% less time than at
# -O2 -g, which CI (.ci/run) runs twice.
asan: deps
	cmake --preset asan >/dev/null
	cmake --build build/asan -j $(JOBS)
	cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ctest $(CTEST_FLAGS)

tsan: deps
	cmake --preset tsan >/dev/null
	cmake --build build/tsan -j $(JOBS)
	cd build/tsan && ctest $(CTEST_FLAGS)

# libFuzzer runs (clang) of the parsers that read client bytes, FUZZ_SECONDS each (default 60).
fuzz: deps
	bash scripts/fuzz.sh

format:
	git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
