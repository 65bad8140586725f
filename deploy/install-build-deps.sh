#!/bin/sh
# Installs what building and testing trailkeep needs on Debian 12, as root.
# With --fuzz, also what `make fuzz` needs (clang and its libFuzzer runtime).
# Idempotent: does nothing when every package is present. Packages that ship
# daemons (syslog-ng-core, openssh-server, auditd) are installed with a
# policy-rc.d that forbids starting services, so no system daemon starts.
set -eu

# auditd: its ausyscall generates the syscall name tables at build time
# (common/audit/), and ausearch is the reference audit_interpret_test checks.
BUILD_PKGS="cmake ninja-build ccache g++ pkg-config make clang-format \
  libboost-dev libssl-dev librocksdb-dev libprotobuf-dev protobuf-compiler \
  libspdlog-dev libfmt-dev libssh2-1-dev libgtest-dev libgmock-dev \
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev libre2-dev libjemalloc-dev libsystemd-dev \
  auditd"
# `make fuzz` only: clang with libFuzzer and the sanitizer runtimes.
FUZZ_PKGS="clang libclang-rt-14-dev"
# sslscan, nmap: tests/integration/tls_scan_test.py scans every TLS endpoint.
# systemd-journal-remote: tests/integration/journal_input_test.py writes journal files with it.
TEST_PKGS="lintian openssl syslog-ng-core openssh-server bsdutils python3 procps iproute2 curl libestr0 libfastjson4 tmux audispd-plugins \
  sslscan nmap systemd-journal-remote"

wanted="$BUILD_PKGS $TEST_PKGS"
[ "${1:-}" = "--fuzz" ] && wanted="$wanted $FUZZ_PKGS"
missing=""
for p in $wanted; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "install-build-deps: missing packages:$missing (run as root, or install them)" >&2
  exit 1
fi

created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

echo "install-build-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
