#!/bin/sh
# Benchmarks: trailkeepd vs syslog-ng vs rsyslog, TLS, same machine.
# Usage: sh tests/bench/run.sh BUILD_DIR      (what `make bench` runs)
# Runs tests/bench/$BENCH_SCRIPT: bench_table.py (the default: one table over
# every load, QUICK=1 for small counts) or bench.py (loggen against each
# receiver, MESSAGES, CONNECTIONS, REPEAT, RECEIVERS ...).
# BENCH_NETNS (1: run in a private network namespace when root).
# See tests/bench/README.md.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
[ -d "$build" ] || { echo "bench: no build folder '$build' (run: make build)" >&2; exit 1; }
build=$(cd "$build" && pwd)
script=${BENCH_SCRIPT:-bench_table.py}
[ -f "$here/$script" ] || { echo "bench: no script tests/bench/$script" >&2; exit 1; }

missing=""
[ -x "$build/bin/trailkeepd" ] || missing="$missing $build/bin/trailkeepd (make build)"
[ -x "$build/bin/trailkeep" ] || missing="$missing $build/bin/trailkeep (make build)"
[ -x "$build/peers/rsyslog/usr/sbin/rsyslogd" ] || missing="$missing $build/peers/rsyslog (make peers)"
[ -f "$build/peers/rsyslog/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so" ] || missing="$missing rsyslog-openssl in $build/peers (make peers)"
[ -x /usr/sbin/syslog-ng ] || missing="$missing /usr/sbin/syslog-ng (apt-get install syslog-ng-core)"
command -v loggen >/dev/null 2>&1 || missing="$missing loggen (apt-get install syslog-ng-core)"
command -v openssl >/dev/null 2>&1 || missing="$missing openssl"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
if [ -n "$missing" ]; then
  echo "bench: missing:$missing" >&2
  exit 1
fi

# The script stops every process it started (by PID) on exit, error or signal;
# this trap only forwards a signal sent to this shell and waits for it.
# A private network namespace (root only) keeps other processes' TCP traffic
# out of the TcpExtTCPAbortOnClose count and out of the port space; unshare
# and sh exec in place, so $pid below is the script's own PID.
pid=""
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; [ -n "$pid" ] && wait "$pid"; exit 130' INT TERM HUP
if [ "${BENCH_NETNS:-1}" = 1 ] && unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
  BENCH_NETNS_NOTE="private network namespace" unshare -n sh -c 'ip link set lo up && exec python3 "$0" "$1"' "$here/$script" "$build" &
else
  echo "bench: no private network namespace (needs root, unshare, ip): TCPAbortOnClose counts the whole machine" >&2
  BENCH_NETNS_NOTE="shared network namespace" python3 "$here/$script" "$build" &
fi
pid=$!
rc=0
wait "$pid" || rc=$?
exit "$rc"
