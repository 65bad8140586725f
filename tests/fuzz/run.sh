#!/bin/sh
# Runs libFuzzer targets one after another (tests/fuzz/README.md):
#   tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
# Each target starts from its committed seeds (tests/fuzz/corpus/TARGET) plus
# what earlier runs kept in BUILD_DIR/fuzz-corpus/TARGET (new inputs go
# there, never into the repository), for SECONDS seconds, one process at a
# time. Crashes, leaks and hangs (an input running over FUZZ_TIMEOUT seconds,
# default 10; libFuzzer measures wall time, so raise it on a loaded machine) are written to
# BUILD_DIR/fuzz-artifacts/TARGET/. Prints one summary line per target with
# libFuzzer's final figures; exits 1 when any target found something.
set -u
build=$1 seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)
failed=""
summary=""
for t in "$@"; do
  bin="$build/fuzz/$t"
  [ -x "$bin" ] || { echo "fuzz: $bin is missing (ninja -C $build fuzzers)" >&2; exit 2; }
  work="$build/fuzz-corpus/$t" art="$build/fuzz-artifacts/$t" log="$build/fuzz-logs/$t.log"
  mkdir -p "$work" "$art" "$build/fuzz-logs"
  echo "fuzz: $t for ${seconds}s (log $log)"
  "$bin" -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/" "$work" "$src/corpus/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -E '^#[0-9]+' "$log" | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -1)
  if [ "$rc" = 0 ]; then
    line="$t: ${runs:-?} runs, ${cov:-no coverage line}, nothing found"
  else
    found=$(ls "$art" 2>/dev/null | tr '\n' ' ')
    line="$t: FOUND (exit $rc) after ${runs:-?} runs, ${cov:-?}: $art/ $found"
    failed="$failed $t"
  fi
  echo "$line"
  summary="$summary$line
"
done
printf '\nfuzz summary (%ss each):\n%s' "$seconds" "$summary"
[ -z "$failed" ] || { echo "fuzz: found something in:$failed (see $build/fuzz-logs/)"; exit 1; }
