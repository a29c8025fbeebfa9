#!/usr/bin/env bash
# tests/bench/benchmarks-ab.sh [-n ROUNDS] BEFORE AFTER [BENCHMARKDOTNET ARGS...]
#
# Runs the BenchmarkDotNet benchmarks of two builds of Mesh.Benchmarks in turns (before, after,
# before, after, ...: ROUNDS of each, default 2), in one run, so both see the same machine; a
# shared machine's load moves between minutes, and two runs an hour apart do not compare.
# BEFORE and AFTER are folders holding Mesh.Benchmarks.dll (a build's
# artifacts/bin/Mesh.Benchmarks/release); the arguments after them go to BenchmarkDotNet
# (--filter ..., --inProcess for the CPU/op column). Prints each run's result table, labelled.
#
#   tests/bench/benchmarks-ab.sh -n 2 /tmp/before/artifacts/bin/Mesh.Benchmarks/release \
#     artifacts/bin/Mesh.Benchmarks/release --filter '*OutboundStageBenchmarks*' --inProcess
set -euo pipefail
ROUNDS=2
if [ "${1:-}" = "-n" ]; then ROUNDS=$2; shift 2; fi
[ $# -ge 2 ] || { sed -n '2,13p' "$0"; exit 1; }
BEFORE=$(cd "$1" && pwd); AFTER=$(cd "$2" && pwd); shift 2
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
echo "# $(date -u +%FT%TZ) on $(hostname), $(nproc) cpus, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# before: $BEFORE"
echo "# after:  $AFTER"
echo "# args:   $*"
for round in $(seq 1 "$ROUNDS"); do
  for build in before after; do
    dir=$BEFORE; [ $build = after ] && dir=$AFTER
    out="$WORK/$build-$round"
    (cd "$WORK" && dotnet "$dir/Mesh.Benchmarks.dll" "$@" --artifacts "$out" > "$out.log" 2>&1) || { tail -20 "$out.log"; exit 1; }
    echo
    echo "## $build, round $round (ended $(date -u +%T), load: $(cut -d' ' -f1-3 /proc/loadavg))"
    # The summary tables, and what the access log benchmark reports of its own (lines dropped).
    grep -E '^\|' "$out.log" || true
    grep -E '^// (None|PerLine|Batched) ' "$out.log" || true
  done
done
