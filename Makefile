# Thin wrapper over CMake/Ninja. Every target installs what is missing first
# (deploy/install-build-deps.sh, as root on Debian 12) and builds on first use.
BUILD   ?= build
WERROR  ?= OFF
DEV_DIR ?= .trailkeep-dev
JOBS    ?= $(shell nproc)
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(basename $(notdir $(wildcard tests/fuzz/*_fuzz.cc)))

.PHONY: all deps configure build binaries run test unit integration bench bench-agent bench-idle bench-api bench-tunnel bench-callgrind peers format clean package test-install fuzz test-diskfull
.PHONY: sanitize sanitize-asan sanitize-tsan sanitize-ci

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

# One table: trailkeepd, syslog-ng and rsyslog on the same loads (tests/bench/bench_table.py);
# QUICK=1 for small counts (under 2 minutes).
bench: build peers
	@QUICK=$(QUICK) sh tests/bench/run.sh $(BUILD)

# The agent -> collector benchmark (tests/bench/agent_bench.py).
bench-agent: build peers
	@python3 tests/bench/agent_bench.py $(BUILD)

# Collector RSS with IDLE (10000) idle mutual-TLS connections (tests/bench/idle_bench.py).
bench-idle: binaries
	@python3 tests/bench/idle_bench.py $(BUILD)

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

# The disk-full policy's matrix outside CI (root): halt and rotate on a tmpfs
# (tests/integration/disk_full_matrix.py); block for every source runs in CI
# (disk_full_test).
test-diskfull: binaries
	@TRAILKEEP_BIN=$(BUILD)/bin python3 tests/integration/disk_full_test.py
	@TRAILKEEP_BIN=$(BUILD)/bin python3 tests/integration/disk_full_matrix.py

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

# Sanitizer builds (docs: README "Other commands", tests/sanitizer/README.md): gcc, -O1,
# no jemalloc, each in its own folder. `make sanitize` runs the whole suite under
# ASan+UBSan (leaks included) and the threaded parts under TSan; `make sanitize-ci`
# is the part .ci/run takes. Every finding fails its test: the unit tests abort or
# exit non-zero, and tests/integration/harness.py fails a test whose binaries wrote a report.
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
SAN_NICE   ?= nice -n 10
SAN_CMAKE   = cmake -S . -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1"
# A 64 MiB quarantine (256 by default) keeps the RSS bounds of bad_input_test meaningful.
SAN_ENV     = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1:quarantine_size_mb=64 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/sanitizer/lsan.supp:print_suppressions=0 \
  TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tests/sanitizer/tsan.supp
# TSan: the tests of what runs on several threads (io_threads, committer, tail hub,
# tunnels, the agent's sender and spool); the unit binaries run whole, the rest by ctest name.
TSAN_UNIT        ?= ingest_pipeline_test audit_grouping_unit_test chain_verifier_test rocksdb_store_test \
  store_utf8_test tunnel_unit_test space_watch_test agent_spool_test agent_message_builder_test \
  agent_file_tailer_test agent_verify_export_test
TSAN_INTEGRATION ?= tls_ingest_test|restart_test|store_poison_test|tail_test|tunnel_test|tunnel_e2e_test|agent_delivery_test|agent_tamper_test|agent_disk_full_test|audit_grouping_test|audisp_shim_test
# CI (.ci/run): the parsers of outside bytes, the store and the spool, then the
# tests that drive the real agent binary over the audit and NDcPP corpora. An ASan
# trailkeepd costs about twice the unit tests' build again, more than CI's 5 minutes
# (figures in tests/sanitizer/README.md); `make sanitize` runs its tests.
SANITIZE_CI_UNIT        ?= octet_framer_test syslog_parser_test base_test utf8_test proto_utf8_test \
  audit_remote_frame_test hmac_chain_test rocksdb_store_test store_utf8_test agent_spool_test
SANITIZE_CI_BINS        ?= trailkeep
SANITIZE_CI_INTEGRATION ?= audit_interpret_test|ndcpp_corpus_test

ASAN_CONFIGURE = [ -f $(ASAN_BUILD)/build.ninja ] || $(SAN_CMAKE) -B $(ASAN_BUILD) -DTRAILKEEP_SANITIZE=address >/dev/null

sanitize: sanitize-asan sanitize-tsan

# The whole suite but install_test, which packages and installs the build's
# binaries in a system root (sanitizer runtimes are no package dependency).
sanitize-asan: deps
	@$(ASAN_CONFIGURE)
	@$(SAN_NICE) ninja -C $(ASAN_BUILD) -j $(JOBS)
	@sh tests/peers/fetch-rsyslog.sh $(ASAN_BUILD)/peers
	@cd $(ASAN_BUILD) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) --timeout 1800 -E '^install_test$$'

sanitize-tsan: deps
	@[ -f $(TSAN_BUILD)/build.ninja ] || $(SAN_CMAKE) -B $(TSAN_BUILD) -DTRAILKEEP_SANITIZE=thread >/dev/null
	@$(SAN_NICE) ninja -C $(TSAN_BUILD) -j $(JOBS) trailkeepd trailkeep $(TSAN_UNIT)
	@sh tests/peers/fetch-rsyslog.sh $(TSAN_BUILD)/peers
	@for t in $(TSAN_UNIT); do echo "== $$t (TSan)"; $(SAN_ENV) $(TSAN_BUILD)/tests/$$t --gtest_brief=1 || exit 1; done
	@cd $(TSAN_BUILD) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) --timeout 1800 -R '^($(TSAN_INTEGRATION))$$'

sanitize-ci: deps
	@$(ASAN_CONFIGURE)
	@$(SAN_NICE) ninja -C $(ASAN_BUILD) -j $(JOBS) $(SANITIZE_CI_BINS) $(SANITIZE_CI_UNIT)
	@for t in $(SANITIZE_CI_UNIT); do echo "== $$t (ASan+UBSan)"; $(SAN_ENV) $(ASAN_BUILD)/tests/$$t --gtest_brief=1 || exit 1; done
	@cd $(ASAN_BUILD) && $(SAN_ENV) ctest --output-on-failure -j $(JOBS) --timeout 900 -R '^($(SANITIZE_CI_INTEGRATION))$$'

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD)
