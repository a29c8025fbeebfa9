#!/usr/bin/env bash
# The registry partition run's long mode: N seeded runs (default 100) of the raw-HTTP partition
# run, one after another, each with its own seed (BASE_SEED+1 .. BASE_SEED+N) so any run can be
# replayed alone with the MESH_RELIABILITY_* line its report prints. Needs root (network
# namespaces). Every run appends one JSON line to artifacts/reliability/runs.jsonl; this script
# prints how many runs passed and where the failed ones' reports are.
# Usage: scripts/registry-partition-runs.sh [RUNS] [BASE_SEED]
#   MESH_RELIABILITY_DURATION (default 30s), MESH_RELIABILITY_CYCLE (6s) and
#   MESH_RELIABILITY_FAULTS (partition,leaderisolation,bridge,flap,oneway) apply as usual.
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-100}"
base="${2:-$(date +%s)}"
export MESH_RELIABILITY_DURATION="${MESH_RELIABILITY_DURATION:-30s}"
dotnet build tests/Mesh.Reliability.Tests -c Release -nologo -clp:ErrorsOnly || exit 1
mkdir -p artifacts/reliability
passed=0; failed=0
for i in $(seq 1 "$runs"); do
  seed=$((base + i))
  if MESH_RELIABILITY_SEED=$seed dotnet test tests/Mesh.Reliability.Tests -c Release --no-build -nologo \
      --filter "FullyQualifiedName~RegistryCluster_UnderPartitions" > "artifacts/reliability/partition-run-$seed.log" 2>&1; then
    passed=$((passed + 1)); rm -f "artifacts/reliability/partition-run-$seed.log"
  else
    failed=$((failed + 1)); echo "run $i (seed $seed) FAILED: artifacts/reliability/partition-run-$seed.log"
  fi
  echo "after $i runs: $passed passed, $failed failed"
done
[ "$failed" -eq 0 ]
