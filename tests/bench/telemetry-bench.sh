#!/usr/bin/env bash
# Sidecar RPS and CPU per request with metrics on vs off: one upstream, two sidecars (identical but
# for telemetry.metrics.enabled), wrk against each in turn, order reversed every other round.
# Loopback only; every run is bounded (wrk -d), and every process started here is stopped here.
# Usage: tests/bench/telemetry-bench.sh [rounds=3] [seconds=10] [connections=32]
set -euo pipefail
ROUNDS=${1:-3} DURATION=${2:-10} CONNS=${3:-32} WARMUP=8
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${BENCH_WORK:-/tmp/mesh-telemetry-bench}
mkdir -p "$WORK"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)"; exit 1; }
dotnet build -c Release "$ROOT/tests/bench/Mesh.Benchmarks" -v q -nologo | grep -E " error " && exit 1 || true
DLL="$ROOT/artifacts/bin/Mesh.Benchmarks/release/Mesh.Benchmarks.dll"

write_config() { # name outbound inbound admin metrics
  cat > "$WORK/$1.yaml" <<YAML
service: { name: bench-$1 }
listeners: { outbound: 127.0.0.1:$2, inbound: 127.0.0.1:$3, admin: 127.0.0.1:$4 }
drainTime: 0s
telemetry:
  metrics: { enabled: $5 }
endpoints:
  upstream:
    - { id: u1, address: 127.0.0.1, port: 15900 }
YAML
}
# drainTime 0s so stopping is quick
write_config on 15101 15106 15100 true
write_config off 15201 15206 15200 false

PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
dotnet "$DLL" upstream 15900 & PIDS+=($!)
dotnet "$DLL" sidecar "$WORK/on.yaml" & PIDS+=($!); PID_on=$!
dotnet "$DLL" sidecar "$WORK/off.yaml" & PIDS+=($!); PID_off=$!
for port in 15100 15200; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break || sleep 0.2; done
done

cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
run() { # name port seconds -> prints "rps cpu_us_per_req"
  local pid_var="PID_$1" before after out rps reqs
  before=$(cpu_ticks "${!pid_var}")
  out=$(wrk -t1 -c"$CONNS" -d"$3"s -H 'Host: upstream' "http://127.0.0.1:$2/")
  after=$(cpu_ticks "${!pid_var}")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  awk -v r="$rps" -v t=$((after - before)) -v n="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%s %.1f\n", r, t * 1e6 / hz / n }'
}
run on 15101 "$WARMUP" >/dev/null; run off 15201 "$WARMUP" >/dev/null
echo "round  metrics-on rps (cpu us/req)  metrics-off rps (cpu us/req)  on/off rps"
for round in $(seq "$ROUNDS"); do
  if (( round % 2 )); then a=$(run on 15101 "$DURATION"); b=$(run off 15201 "$DURATION")
  else b=$(run off 15201 "$DURATION"); a=$(run on 15101 "$DURATION"); fi
  read -r ra ca <<<"$a"; read -r rb cb <<<"$b"
  awk -v r="$round" -v ra="$ra" -v ca="$ca" -v rb="$rb" -v cb="$cb" 'BEGIN { printf "%5d  %10.0f (%5.1f)            %10.0f (%5.1f)             %.3f\n", r, ra, ca, rb, cb, ra / rb }'
done
curl -fs http://127.0.0.1:15100/metrics | grep -E '^http_client_request_duration_seconds_count' | head -3
