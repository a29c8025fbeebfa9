#!/usr/bin/env bash
# tests/bench/proxy/upstream-protocol.sh
#
# Does the upstream hop's protocol change sidecar overhead? One sidecar, HTTP/1.1 clients (wrk),
# its hop to the 100-byte upstream in HTTP/1.1 (:5001) or h2c (:5011), interleaved with direct
# calls in one run (wrk-compare.sh's table; cpu1 is the sidecar's own CPU µs per request).
# Needs a Release build (artifacts/bin/Mesh.Cli) and peers.sh's tools, like run.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
export PEERS_WORK=${PEERS_WORK:-/tmp/mesh-upstream-protocol-bench}
W=$PEERS_WORK; mkdir -p "$W/mesh"
MESH="dotnet $ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; "$HERE/peers.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
cp "$HERE"/haproxy.cfg "$HERE"/nginx.conf.in "$W/" 2>/dev/null || true
"$HERE/peers.sh" start
w() { cat > "$W/mesh/$1.yaml" <<YAML
service: { name: bench-$1 }
app: { address: "http://127.0.0.1:5001" }
listeners:
  outbound: 127.0.0.1:$2
  inbound: { address: "127.0.0.1:$3", protocols: h2c }
  admin: 127.0.0.1:$4
upstream: { protocol: $6 }
endpoints:
  upstream:
    - { id: up-1, address: 127.0.0.1, port: $5 }
routes:
  - { name: all, service: upstream, retries: { attempts: 1 } }
YAML
}
w h1 15401 15406 15400 5001 http1
w h2 15411 15416 15410 5011 http2
for s in h1 h2; do $MESH sidecar --config "$W/mesh/$s.yaml" > "$W/mesh/$s.log" 2>&1 & PIDS+=($!); eval "PID_$s=$!"; done
sleep 4
for p in 15401 15411; do curl -sf -o /dev/null -H "Host: upstream" "http://127.0.0.1:$p/" || { echo "no answer on $p"; cat "$W"/mesh/*.log; exit 1; }; done
UP=$(cat "$W/pids/up1.pid")
"$HERE/wrk-compare.sh" -n 3 -d 8 -c 32 -w 3 -H "Host: upstream" -P "direct=$UP" -P "mesh-h1=$PID_h1,$UP" -P "mesh-h2=$PID_h2,$UP" \
  direct=http://127.0.0.1:5001/ mesh-h1=http://127.0.0.1:15401/ mesh-h2=http://127.0.0.1:15411/
