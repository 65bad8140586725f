# Thin wrapper over CMake/Ninja. Every target installs what is missing first
# (deploy/install-build-deps.sh, as root on Debian 12) and builds on first use.
BUILD   ?= build
WERROR  ?= OFF
DEV_DIR ?= .trailkeep-dev
JOBS    ?= $(shell nproc)
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard tests/fuzz/*_fuzz.cc)))

.PHONY: all deps configure build binaries run test unit integration bench bench-agent bench-api bench-tunnel bench-callgrind peers format clean package test-install fuzz

all: build

deps:
	@sh deploy/install-build-deps.sh

configure: deps
	@if [ ! -f $(BUILD)/build.ninja ] || [ "$$(grep -s '^TRAILKEEP_WERROR:BOOL=' $(BUILD)/CMakeCache.txt | cut -d= -f2)" != "$(WERROR)" ]; then \
	  cmake -S . -B $(BUILD) -G Ninja -DTRAILKEEP_WERROR=$(WERROR) >/dev/null; fi

build: configure
	@ninja -C $(BUILD) -j $(JOBS)

binaries: configure
	@ninja -C $(BUILD) -j $(JOBS) trailkeepd trailkeep

# Real peers the integration tests drive: rsyslog unpacked into a private
# folder (it conflicts with syslog-ng-core, which ships loggen).
peers: deps
	@sh tests/peers/fetch-rsyslog.sh $(BUILD)/peers

run: binaries
	$(BUILD)/bin/trailkeepd --dev $(DEV_DIR)

test: build peers
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

unit: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

integration: build peers
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L integration

bench: build peers
	@sh tests/bench/run.sh $(BUILD)

# The agent -> collector benchmark (tests/bench/agent_bench.py).
bench-agent: build peers
	@python3 tests/bench/agent_bench.py $(BUILD)

# The HTTPS API benchmark: export, tail latency, RSS with 100 subscribers (tests/bench/api_bench.py).
bench-api: build
	@python3 tests/bench/api_bench.py $(BUILD)

# Instructions per event on the ingest, agent and port-60 paths under callgrind, a figure the
# machine's load does not move (tests/bench/callgrind_paths.py; root for port 60). Not part of `make test`.
bench-callgrind: binaries
	@nice -n 5 python3 tests/bench/callgrind_paths.py $(BUILD) $(CALLGRIND_ARGS)

# Port 60 and reverse tunnels: 1 and 50 tunnels, auditd as the peer (tests/bench/tunnel_bench.py; root).
bench-tunnel: binaries
	@python3 tests/bench/tunnel_bench.py $(BUILD)

# Debian packages trailkeepd, trailkeep, trailkeep-common in $(BUILD)/packages (docs/operations.md).
package: build
	@ninja -C $(BUILD) package

# The install test in a fresh Debian 12 root made by debootstrap (kept in $(BUILD)/bookworm-minbase),
# where apt resolves the packages' Depends; CI runs the same test in an overlay of / (root).
test-install: build
	@command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap
	@python3 tests/install/install_test.py --build $(BUILD) --root debootstrap

# libFuzzer targets (tests/fuzz/README.md): a separate clang build with ASan
# and UBSan, then each target for FUZZ_SECONDS from its committed corpus, one
# at a time. `make fuzz FUZZ_SECONDS=1800 FUZZ_TARGETS=rfc5424_fuzz` for one.
fuzz:
	@sh deploy/install-build-deps.sh --fuzz
	@if [ ! -f $(FUZZ_BUILD)/build.ninja ]; then \
	  CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DTRAILKEEP_FUZZ=ON \
	    -DTRAILKEEP_BUILD_TESTS=OFF >/dev/null; fi
	@ninja -C $(FUZZ_BUILD) -j $(JOBS) fuzzers
	@sh tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
