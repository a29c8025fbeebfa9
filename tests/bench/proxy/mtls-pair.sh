#!/usr/bin/env bash
# tests/bench/proxy/mtls-pair.sh [-n ROUNDS] [-d SECONDS] [NAME="KEY=VALUE ..." ...]
#
# Variants of the strict-mTLS sidecar pair (app → A outbound → mTLS → B inbound → upstream), each
# pair on its own ports, interleaved in one wrk run with haproxy and one plaintext sidecar (mesh-1)
# as references: CPU per request of A (cpu1) and B (cpu2), their bytes allocated per request, and
# the pair's sum over haproxy's (the issue-21 ratio) in a last table. Both pairs take their
# certificates from one one-node registry (started here), as run.sh's mesh-tls does. A variant is
# a space-separated list of:
#   inbound=PROTOCOLS   B's inbound listener protocols (default http1AndHttp2; http1 makes ALPN
#                       pick HTTP/1.1, so A falls back to HTTP/1.1 over TLS)
#   plain=1             no TLS: A → B over h2c (run.sh's mesh-2), the plaintext pair
#   dll=PATH            run this mesh.dll instead of the built one (a before-build kept aside)
#   streams=N           B's limits.maxStreamsPerConnection (A opens another HTTP/2 connection
#                       when N streams are in flight; default 100, one connection at c=32)
#   a:VAR=VALUE b:VAR=VALUE env:VAR=VALUE   environment of A, of B, of both
# Without variants: the pair as built ("tls") and the plaintext pair ("plain").
# Needs the built artifacts (dotnet build src/Mesh.Cli -c Release) and the peers (started here
# when :5001 does not answer, and stopped again at the end).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
ROUNDS=3 DUR=8
while [ $# -gt 0 ]; do
  case $1 in
    -n) ROUNDS=$2; shift 2 ;; -d) DUR=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) break ;;
  esac
done
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=("tls=" "plain=plain=1")
export PEERS_WORK=${PEERS_WORK:-/tmp/mesh-proxy-bench}
W=$PEERS_WORK/mtls-pair; rm -rf "$W"; mkdir -p "$W"
MESH="$ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll"
PIDS=() STARTED_PEERS=0
stop_all() { # SIGTERM, then up to 40 s each before SIGKILL
  kill "$@" 2>/dev/null || true
  for p in "$@"; do timeout 40 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
}
cleanup() {
  # Sidecars first (they deregister as they stop), the registry last.
  [ ${#PIDS[@]} -gt 1 ] && stop_all "${PIDS[@]:1}"
  [ ${#PIDS[@]} -gt 0 ] && stop_all "${PIDS[0]}"
  [ $STARTED_PEERS = 1 ] && "$HERE/peers.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
if ! curl -s -o /dev/null http://127.0.0.1:5001/; then
  cp "$HERE"/haproxy.cfg "$HERE"/nginx.conf.in "$PEERS_WORK/"; "$HERE/peers.sh" start >/dev/null; STARTED_PEERS=1
fi

TOKEN=bench-join-token-0123456789
dotnet "$MESH" registry --id 1 --data "$W/registry" --client 127.0.0.1:17190 --join-token "bench=$TOKEN" > "$W/registry.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 50); do curl -sf -o /dev/null http://127.0.0.1:17190/readyz && break; sleep 0.2; done

# write NAME OUTBOUND INBOUND ADMIN INBOUND-PROTOCOLS ROUTE-SERVICE EXTRA-YAML
write() {
  cat > "$W/$1.yaml" <<YAML
service: { name: $1, namespace: bench }
app: { address: "http://127.0.0.1:5001", healthPath: / }
listeners:
  outbound: 127.0.0.1:$2
  inbound: { address: "127.0.0.1:$3", protocols: $5 }
  admin: 127.0.0.1:$4
upstream: { protocol: ${8:-http1} }
routes:
  - { name: all, service: $6, retries: { attempts: 1 } }
$7
YAML
}
start() { # NAME ENV DLL
  # shellcheck disable=SC2086
  env $2 dotnet "$3" sidecar --config "$W/$1.yaml" > "$W/$1.log" 2>&1 &
  PIDS+=($!)
}
answers() { for _ in $(seq 1 150); do curl -sf -o /dev/null -H "Host: upstream" "http://127.0.0.1:$1/" && return 0; sleep 0.2; done; return 1; }
UP=$(ss -ltnp | grep "127.0.0.1:5001 " | grep -o "pid=[0-9]*" | head -1 | cut -d= -f2)
TARGETS=(direct=http://127.0.0.1:5001/ haproxy=http://127.0.0.1:6003/)
CPU=(-P "haproxy=$(pgrep -x haproxy | head -1),$UP")
METRICS=()
# mesh-1: one plaintext sidecar, HTTP/1.1 to the upstream (run.sh's mesh-1).
write one 17101 17106 17100 h2c upstream "endpoints: { upstream: [ { id: up-1, address: 127.0.0.1, port: 5001 } ] }"
start one "" "$MESH"; PID_ONE=$!
TARGETS+=(mesh-1=http://127.0.0.1:17101/); CPU+=(-P "mesh-1=$PID_ONE,$UP"); METRICS+=(-M "mesh-1=http://127.0.0.1:17100/metrics")
i=0
for v in "${VARIANTS[@]}"; do
  name=${v%%=*} spec=${v#*=}
  base=$((17200 + i * 100)); i=$((i + 1))
  inbound=http1AndHttp2 plain=0 dll=$MESH envA="" envB="" limits=""
  for kv in $spec; do
    case $kv in
      inbound=*) inbound=${kv#inbound=} ;;
      plain=*) plain=${kv#plain=} ;;
      dll=*) dll=${kv#dll=} ;;
      streams=*) limits="
limits: { maxStreamsPerConnection: ${kv#streams=} }" ;;
      a:*) envA+=" ${kv#a:}" ;;
      b:*) envB+=" ${kv#b:}" ;;
      env:*) envA+=" ${kv#env:}"; envB+=" ${kv#env:}" ;;
      *) echo "unknown key in variant $name: $kv"; exit 1 ;;
    esac
  done
  if [ "$plain" = 1 ]; then
    [ "$inbound" = http1AndHttp2 ] && inbound=h2c
    write "$name-b" $((base + 51)) $((base + 56)) $((base + 50)) "$inbound" upstream "endpoints: { upstream: [ { id: up-1, address: 127.0.0.1, port: 5001 } ] }$limits"
    write "$name-a" $((base + 1)) $((base + 6)) $((base + 0)) h2c upstream "endpoints: { upstream: [ { id: b-1, address: 127.0.0.1, port: $((base + 56)) } ] }" http2
  else
    TLS="registry: { addresses: [http://127.0.0.1:17190] }
tls: { mode: strict, joinToken: $TOKEN }"
    write "$name-b" $((base + 51)) $((base + 56)) $((base + 50)) "$inbound" upstream "$TLS$limits"
    write "$name-a" $((base + 1)) $((base + 6)) $((base + 0)) http1AndHttp2 "$name-b" "$TLS"
  fi
  start "$name-b" "$envB" "$dll"; pb=$!
  start "$name-a" "$envA" "$dll"; pa=$!
  answers $((base + 1)) || { echo "pair $name not answering"; tail -n 20 "$W/$name-a.log" "$W/$name-b.log"; exit 1; }
  TARGETS+=("$name=http://127.0.0.1:$((base + 1))/")
  CPU+=(-P "$name=$pa,$pb,$UP")
  METRICS+=(-M "$name=http://127.0.0.1:$((base + 0))/metrics,http://127.0.0.1:$((base + 50))/metrics")
done
for v in "${VARIANTS[@]}"; do echo "# ${v%%=*}: ${v#*=}"; done
uptime
"$HERE/wrk-compare.sh" -n "$ROUNDS" -d "$DUR" -w 8 -c 32 -H "Host: upstream" "${CPU[@]}" "${METRICS[@]}" "${TARGETS[@]}" | tee "$W/compare.txt"
uptime
# The issue-21 ratio: the sidecars' CPU per request over haproxy's (cpu1: the proxy alone), from
# the median table; a pair's second process is B, mesh-1's is the upstream (not counted).
awk '/^target +med_rps/ { t = 1; next }
  t && NF >= 13 { if ($1 == "haproxy") h = $10; c1[$1] = $10; c2[$1] = $11; names[n++] = $1 }
  t && NF < 13 { t = 0 }
  END {
    printf "\n%-12s %9s %9s %9s %9s\n", "target", "A_us", "B_us", "sidecars", "x_haproxy"
    for (k = 0; k < n; k++) {
      s = names[k]; if (s == "direct" || s == "haproxy") continue
      b = s == "mesh-1" ? 0 : c2[s]
      printf "%-12s %9s %9s %9.1f %9.2f\n", s, c1[s], s == "mesh-1" ? "-" : c2[s], c1[s] + b, (c1[s] + b) / h
    }
    printf "haproxy %s us/request\n", h
  }' "$W/compare.txt"
