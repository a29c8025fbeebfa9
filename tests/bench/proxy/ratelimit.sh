#!/usr/bin/env bash
# tests/bench/proxy/ratelimit.sh [-n ROUNDS] [-d SECONDS] [-c CONNECTIONS]
#
# What a rate limit that never binds costs on the hot path: one Mesh sidecar without limits and
# one with a route token bucket far above the offered load (plus a per-header partitioned limit),
# same upstream, interleaved by wrk-compare.sh in one run. Prints median RPS, added p50/p99 vs
# direct and CPU µs per request of each sidecar. Needs wrk (installed by peers.sh when missing).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
ROUNDS=3 DUR=10 CONNS=32
while [ $# -gt 0 ]; do
  case $1 in
    -n) ROUNDS=$2; shift 2 ;; -d) DUR=$2; shift 2 ;; -c) CONNS=$2; shift 2 ;;
    *) sed -n '2,8p' "$0"; exit 1 ;;
  esac
done
export PEERS_WORK=${PEERS_WORK:-/tmp/mesh-ratelimit-bench}
W=$PEERS_WORK; mkdir -p "$W/mesh"
MESH="dotnet $ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; "$HERE/peers.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT

(cd "$ROOT" && dotnet build Mesh.sln -c Release -nologo -clp:ErrorsOnly >/dev/null)
cp "$HERE"/haproxy.cfg "$HERE"/nginx.conf.in "$W/" 2>/dev/null || true
"$HERE/peers.sh" start

write_sidecar() { # name outbound-port route-extra
  cat > "$W/mesh/$1.yaml" <<YAML
service: { name: bench-$1 }
listeners:
  outbound: 127.0.0.1:$2
  inbound: 127.0.0.1:$(($2 + 5))
  admin: 127.0.0.1:$(($2 - 1))
endpoints:
  upstream:
    - { id: up-1, address: 127.0.0.1, port: 5001 }
routes:
  - { name: all, service: upstream, retries: { attempts: 1 }$3 }
YAML
}
write_sidecar off 15401 ""
# Far above what this machine can offer (~10k rps): every request takes a permit, none waits.
write_sidecar on 15501 ", rateLimit: { requestsPerSecond: 10000000, burst: 1000000 }"
for s in off on; do
  $MESH sidecar --config "$W/mesh/$s.yaml" > "$W/mesh/$s.log" 2>&1 &
  PIDS+=($!); eval "PID_$s=$!"
done
sleep 4
for p in 15401 15501; do curl -sf -o /dev/null -H "Host: upstream" "http://127.0.0.1:$p/" || { echo "sidecar on :$p not answering"; cat "$W"/mesh/*.log; exit 1; }; done
UP=$(cat "$W/pids/up1.pid")
"$HERE/wrk-compare.sh" -n "$ROUNDS" -d "$DUR" -c "$CONNS" -w 5 -H "Host: upstream" \
  -P "direct=$UP" -P "limit-off=$PID_off,$UP" -P "limit-on=$PID_on,$UP" \
  direct=http://127.0.0.1:5001/ limit-off=http://127.0.0.1:15401/ limit-on=http://127.0.0.1:15501/
