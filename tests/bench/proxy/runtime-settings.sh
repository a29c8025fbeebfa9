#!/usr/bin/env bash
# tests/bench/proxy/runtime-settings.sh [-n ROUNDS] [-d SECONDS] [NAME=ENV ...]
#
# The sidecar under different .NET runtime settings, interleaved with haproxy in one run: one
# `mesh sidecar` (JIT) per variant, each on its own ports in front of the bench's 100-byte upstream
# (HTTP/1.1; a NAME starting with "h2c-" uses the upstream's h2c port instead, "aot-" runs the native
# mesh-sidecar). ENV is a space-separated list of VAR=VALUE for that sidecar's process. Then
# wrk-compare.sh (CPU per request of each sidecar) and fixed-rate.sh (p99 at 1,000 rps).
# Without variants it compares the sidecar's own settings (SidecarProcessSettings) with the
# runtime's defaults, which an operator gets back by setting the variables:
#   default=""  runtime-defaults="DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=46"
# and the same two over h2c. Needs the built artifacts (run.sh builds them) and the peers
# (peers.sh start; started here when :5001 does not answer, and stopped again at the end).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
ROUNDS=3 DUR=8
while [ $# -gt 0 ]; do
  case $1 in
    -n) ROUNDS=$2; shift 2 ;; -d) DUR=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
OFF="DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=0 DOTNET_ThreadPool_UnfairSemaphoreSpinLimit=46"
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("default=" "runtime-defaults=$OFF" "h2c-default=" "h2c-runtime-defaults=$OFF")
export PEERS_WORK=${PEERS_WORK:-/tmp/mesh-runtime-settings}
W=$PEERS_WORK/sidecars; mkdir -p "$W"
MESH="$ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll"
NATIVE="$ROOT/artifacts/publish/Mesh.Sidecar.Native/release_linux-x64/mesh-sidecar"
PIDS=() STARTED_PEERS=0
cleanup() {
  [ ${#PIDS[@]} -gt 0 ] && kill "${PIDS[@]}" 2>/dev/null || true
  for p in "${PIDS[@]}"; do timeout 40 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  [ $STARTED_PEERS = 1 ] && "$HERE/peers.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
if ! curl -s -o /dev/null http://127.0.0.1:5001/; then
  cp "$HERE"/haproxy.cfg "$HERE"/nginx.conf.in "$PEERS_WORK/"; "$HERE/peers.sh" start >/dev/null; STARTED_PEERS=1
fi

TARGETS=(direct=http://127.0.0.1:5001/ haproxy=http://127.0.0.1:6003/)
UP=$(ss -ltnp | grep "127.0.0.1:5001 " | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2)
CPU=(-P "haproxy=$(pgrep -x haproxy | head -1),$UP")
i=0
for v in "${VARIANTS[@]}"; do
  name=${v%%=*} env=${v#*=}
  out=$((18001 + i * 10)) admin=$((18000 + i * 10)) up=5001 proto=http1; i=$((i + 1))
  case $name in h2c-*) up=5011 proto=http2 ;; esac
  cat > "$W/$name.yaml" <<YAML
service: { name: bench-$name, namespace: bench }
app: { address: "http://127.0.0.1:5001", healthPath: / }
listeners: { outbound: "127.0.0.1:$out", inbound: { address: "127.0.0.1:$((out + 5))", protocols: h2c }, admin: "127.0.0.1:$admin" }
upstream: { protocol: $proto }
routes:
  - { name: all, service: upstream, retries: { attempts: 1 } }
endpoints: { upstream: [ { id: up-1, address: 127.0.0.1, port: $up } ] }
YAML
  # shellcheck disable=SC2086
  case $name in
    aot-*) env DOTNET_GCgen0size=400000 $env "$NATIVE" --config "$W/$name.yaml" > "$W/$name.log" 2>&1 & ;;
    *) env $env dotnet "$MESH" sidecar --config "$W/$name.yaml" > "$W/$name.log" 2>&1 & ;;
  esac
  PIDS+=($!); CPU+=(-P "$name=$!,$UP"); TARGETS+=("$name=http://127.0.0.1:$out/")
  for _ in $(seq 120); do curl -s -o /dev/null "http://127.0.0.1:$out/" && break; sleep 0.5; done
  curl -s -o /dev/null "http://127.0.0.1:$out/" || { echo "sidecar $name did not answer; its log:"; tail -n 20 "$W/$name.log"; exit 1; }
done
for v in "${VARIANTS[@]}"; do echo "# ${v%%=*}: ${v#*=}"; done
uptime
"$HERE/wrk-compare.sh" -n "$ROUNDS" -d "$DUR" -w 8 -c 32 "${CPU[@]}" "${TARGETS[@]}"
"$HERE/fixed-rate.sh" -n "$ROUNDS" -d "$DUR" "${TARGETS[@]}"
uptime
