#!/usr/bin/env bash
# tests/bench/proxy/run.sh [--quick] [--no-build] [--json FILE] [-n ROUNDS] [-d SECONDS] [-c CONNECTIONS]
#
# Measures, interleaved in one run on loopback: direct calls to a 100-byte Kestrel upstream,
# bare YARP, nginx, haproxy, one Mesh sidecar (outbound → upstream), two Mesh sidecars as in a
# real mesh (app → sidecar A outbound → sidecar B inbound over h2c → upstream), and the same two
# over mTLS (certificates from a one-node Mesh registry's CA, B found through the registry); then
# the one-sidecar and mTLS cases again with the native (Native AOT) mesh-sidecar binary; then the
# stage table: one sidecar with its stages switched on one at a time over a floor with all of them
# off (stage-*), the mTLS pair with an authorization policy on B that allows A (stage-authz, next
# to mesh-tls), h2c to the upstream (mesh-1-h2c) and to B's app (mesh-2-h2c). cpu1/cpu2 are the
# first two listed processes: sidecar A and B of a pair (the upstream after a single proxy).
# Prints wrk-compare.sh's table: median RPS, added p50/p99 vs direct, CPU µs per request of the
# proxy process(es), and the sidecars' RSS idle and after load; then fixed-rate.sh's latency at
# 1,000 rps (hey), which wrk cannot give; then h2load-compare.sh (HTTP/2 clients, many streams).
# --quick: 1 round of 3 s, direct and the Mesh targets only, and a 2 s fixed-rate round (a smoke
#          test that the harness runs; ./test.sh runs it after the tests). --no-build: use the built artifacts as they are.
# --json FILE: also write the summary table (one object per target) and the RSS figures as JSON;
#          without it a full run writes tests/bench/results/proxy-DATE.json.
# Installs wrk, hey, nginx and haproxy from Debian's packages when missing (needs root).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
ROUNDS=3 DUR=10 CONNS=32 QUICK=0 BUILD=1 JSON=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1; ROUNDS=1; DUR=3; shift ;;
    --no-build) BUILD=0; shift ;;
    --json) JSON=$2; shift 2 ;;
    -n) ROUNDS=$2; shift 2 ;; -d) DUR=$2; shift 2 ;; -c) CONNS=$2; shift 2 ;;
    *) sed -n '2,15p' "$0"; exit 1 ;;
  esac
done
export PEERS_WORK=${PEERS_WORK:-/tmp/mesh-proxy-bench}
W=$PEERS_WORK; mkdir -p "$W/mesh"
MESH="dotnet $ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll"
PIDS=()
# Sidecars first (they deregister from the registry as they stop), the registry last.
stop_all() { # SIGTERM, then wait up to 40 s for each before SIGKILL
  kill "$@" 2>/dev/null || true
  for p in "$@"; do timeout 40 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
}
cleanup() {
  [ ${#PIDS[@]} -gt 1 ] && stop_all "${PIDS[@]:1}"
  [ ${#PIDS[@]} -gt 0 ] && stop_all "${PIDS[0]}"
  "$HERE/peers.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

[ $BUILD = 1 ] && (cd "$ROOT" && dotnet build Mesh.sln -c Release -nologo -clp:ErrorsOnly >/dev/null)
# The native sidecar (what the mesh image runs next to every pod): published ahead of time.
NATIVE="$ROOT/artifacts/publish/Mesh.Sidecar.Native/release_linux-x64/mesh-sidecar"
if [ $BUILD = 1 ] || [ ! -x "$NATIVE" ]; then
  (cd "$ROOT" && dotnet publish src/Mesh.Sidecar.Native -c Release -r linux-x64 -nologo -clp:ErrorsOnly >/dev/null) \
    || { echo "could not publish the native mesh-sidecar (Native AOT needs clang or gcc, and zlib1g-dev)"; exit 1; }
fi
# The GC's smallest gen0 budget (hex, 4 MiB), as the mesh image sets it: see docs/benchmarks.md.
export MESH_SIDECAR_GC="DOTNET_GCgen0size=400000"
# peers.sh builds and starts the upstream (:5001), YARP (:6001), nginx (:6002), haproxy (:6003).
cp "$HERE"/haproxy.cfg "$HERE"/nginx.conf.in "$W/" 2>/dev/null || true
"$HERE/peers.sh" start

# A one-node registry: the mesh CA for the mTLS pair, and where sidecar B registers.
TOKEN=bench-join-token-0123456789
rm -rf "$W/registry"
$MESH registry --id 1 --data "$W/registry" --client 127.0.0.1:15700 --join-token "bench=$TOKEN" > "$W/mesh/registry.log" 2>&1 &
PIDS+=($!); PID_registry=$!

APP='address: "http://127.0.0.1:5001"'
write_sidecar() { # name outbound inbound admin upstream-port upstream-protocol [extra-yaml inbound-protocols service route-fields app-fields]
  local extra=${7:-"endpoints: { upstream: [ { id: up-1, address: 127.0.0.1, port: $5 } ] }"}
  cat > "$W/mesh/$1.yaml" <<YAML
service: { name: bench-$1, namespace: bench }
app: { ${11:-$APP}, healthPath: / }
listeners:
  outbound: 127.0.0.1:$2
  inbound: { address: "127.0.0.1:$3", protocols: ${8:-h2c} }
  admin: 127.0.0.1:$4
upstream: { protocol: $6 }
routes:
  - { name: all, service: ${9:-upstream}, ${10:-"retries: { attempts: 1 }"} }
  # Never matched (the route above takes everything): start-up builds a retry pipeline, which the
  # native binary must be able to do too.
  - { name: retry, service: ${9:-upstream}, match: { pathPrefix: /never }, retries: { attempts: 3, retryOn: [503] } }
$extra
YAML
}
# One sidecar: outbound straight to the upstream (HTTP/1.1).
write_sidecar one 15101 15106 15100 5001 http1
# Two sidecars: A's outbound → B's inbound (h2c, multiplexed) → B's app, the upstream.
write_sidecar b 15201 15206 15200 5001 http1
write_sidecar a 15301 15306 15300 15206 http2
# Two sidecars over mTLS (HTTP/2 by ALPN): tls-a finds tls-b's instance in the registry.
TLS="registry: { addresses: [http://127.0.0.1:15700] }
tls: { mode: strict, joinToken: $TOKEN }"
write_sidecar tls-b 15401 15406 15400 5001 http1 "$TLS" http1AndHttp2 upstream
write_sidecar tls-a 15501 15506 15500 0 http1 "$TLS" http1AndHttp2 bench-tls-b
# The native binary: one sidecar as mesh-1, and an mTLS pair as mesh-tls.
write_sidecar aot-one 15601 15606 15600 5001 http1
write_sidecar aot-tls-b 15801 15806 15800 5001 http1 "$TLS" http1AndHttp2 upstream
write_sidecar aot-tls-a 15901 15906 15900 0 http1 "$TLS" http1AndHttp2 bench-aot-tls-b
# The stage table: a floor with every optional stage off, then one stage on at a time (cumulative:
# outlier detection, metrics = mesh-1's defaults, retries, a rate limit that never refuses, the
# access log). Same listeners, Kestrel and handler settings as mesh-1.
UP1="endpoints: { upstream: [ { id: up-1, address: 127.0.0.1, port: 5001 } ] }"
OFF="telemetry: { metrics: { enabled: false } }
defaults: { outlierDetection: { consecutiveFailures: 0 } }"
RETRY='retries: { attempts: 3, retryOn: [503] }'
LIMIT="$RETRY, rateLimit: { requestsPerSecond: 100000000, burst: 100000000 }"
ALOG="telemetry: { accessLog: { enabled: true, path: $W/mesh/access.log } }"
if [ $QUICK = 0 ]; then
  write_sidecar stage-floor 16101 16106 16100 5001 http1 "$UP1
$OFF"
  write_sidecar stage-outlier 16201 16206 16200 5001 http1 "$UP1
telemetry: { metrics: { enabled: false } }"
  write_sidecar stage-retry 16301 16306 16300 5001 http1 "$UP1" h2c upstream "$RETRY"
  write_sidecar stage-ratelimit 16401 16406 16400 5001 http1 "$UP1" h2c upstream "$LIMIT"
  write_sidecar stage-accesslog 16501 16506 16500 5001 http1 "$UP1
$ALOG" h2c upstream "$LIMIT"
  # h2c to the upstream (:5011, the same 100-byte app over HTTP/2 prior knowledge).
  write_sidecar one-h2c 16601 16606 16600 5011 http2
  # The pair with B's app declared h2c (app.protocol).
  write_sidecar b-h2c 16701 16706 16700 5001 http1 "$UP1" h2c upstream "retries: { attempts: 1 }" 'address: "http://127.0.0.1:5011", protocol: h2c'
  write_sidecar a-h2c 16801 16806 16800 16706 http2
  # Authorization as its own stage: mesh-tls's pair, with a policy on B that evaluates a deny
  # rule and then allows A (authz-policy.yaml, the one ab.sh's authz path uses).
  write_sidecar authz-b 16901 16906 16900 5001 http1 "$TLS
$(sed "s|SERVICE|bench-authz-b|; s|CALLER|bench/bench-authz-a|" "$HERE/authz-policy.yaml")" http1AndHttp2 upstream
  write_sidecar authz-a 16951 16956 16950 0 http1 "$TLS" http1AndHttp2 bench-authz-b
fi
for i in $(seq 1 50); do curl -sf -o /dev/null http://127.0.0.1:15700/readyz && break; sleep 0.2; done
SIDECARS=(one b a tls-b tls-a aot-one aot-tls-b aot-tls-a)
[ $QUICK = 0 ] && SIDECARS+=(stage-floor stage-outlier stage-retry stage-ratelimit stage-accesslog one-h2c b-h2c a-h2c authz-b authz-a)
for s in "${SIDECARS[@]}"; do
  case $s in
    aot-*) env "$MESH_SIDECAR_GC" "$NATIVE" --config "$W/mesh/$s.yaml" > "$W/mesh/$s.log" 2>&1 & ;;
    *) $MESH sidecar --config "$W/mesh/$s.yaml" > "$W/mesh/$s.log" 2>&1 & ;;
  esac
  PIDS+=($!); eval "PID_${s//-/_}=$!"
done
answers() { for i in $(seq 1 100); do curl -sf -o /dev/null -H "Host: upstream" "http://127.0.0.1:$1/" && return 0; sleep 0.2; done; return 1; }
STAGE_PORTS=(); [ $QUICK = 0 ] && STAGE_PORTS=(16101 16201 16301 16401 16501 16601 16801 16951)
for p in 15101 15301 15501 15601 15901 "${STAGE_PORTS[@]}"; do answers $p || { echo "sidecar on :$p not answering"; tail -n 20 "$W"/mesh/*.log; exit 1; }; done
# Every sidecar's resident set in MB, as "name=MB name=MB ...".
rss_all() { for s in "${SIDECARS[@]}"; do eval "pid=\$PID_${s//-/_}"; printf '%s=%s ' "$s" "$(awk '/VmRSS/{printf "%.0f", $2/1024}' "/proc/$pid/status")"; done; }
RSS_IDLE=$(rss_all); echo "# sidecar RSS (MB) idle: $RSS_IDLE"

mapfile -t PEER < <("$HERE/peers.sh" pids)
UP=$(cat "$W/pids/up1.pid")
ARGS=(-n "$ROUNDS" -d "$DUR" -c "$CONNS" -w "$([ $QUICK = 1 ] && echo 1 || echo 8)" -H "Host: upstream")
TARGETS=(direct=http://127.0.0.1:5001/)
PARGS=(-P "direct=$UP")
if [ $QUICK = 0 ]; then
  TARGETS+=(yarp=http://127.0.0.1:6001/ nginx=http://127.0.0.1:6002/ haproxy=http://127.0.0.1:6003/)
  for l in "${PEER[@]}"; do case $l in yarp=*|nginx=*|haproxy=*) PARGS+=(-P "$l") ;; esac; done
fi
TARGETS+=(mesh-1=http://127.0.0.1:15101/ mesh-2=http://127.0.0.1:15301/ mesh-tls=http://127.0.0.1:15501/
  aot-1=http://127.0.0.1:15601/ aot-tls=http://127.0.0.1:15901/)
PARGS+=(-P "mesh-1=$PID_one,$UP" -P "mesh-2=$PID_a,$PID_b,$UP" -P "mesh-tls=$PID_tls_a,$PID_tls_b,$UP"
  -P "aot-1=$PID_aot_one,$UP" -P "aot-tls=$PID_aot_tls_a,$PID_aot_tls_b,$UP")
# Bytes allocated per request, from each sidecar's runtime counter on its admin port's /metrics.
M() { local url="" p; for p in "${@:2}"; do url+="${url:+,}http://127.0.0.1:$p/metrics"; done; PARGS+=(-M "$1=$url"); }
M mesh-1 15100; M mesh-2 15300 15200; M mesh-tls 15500 15400; M aot-1 15600; M aot-tls 15900 15800
if [ $QUICK = 0 ]; then
  UPH2=$UP  # the upstream serves :5011 (h2c) from the same process
  TARGETS+=(stage-floor=http://127.0.0.1:16101/ stage-outlier=http://127.0.0.1:16201/ stage-retry=http://127.0.0.1:16301/
    stage-ratelimit=http://127.0.0.1:16401/ stage-accesslog=http://127.0.0.1:16501/ mesh-1-h2c=http://127.0.0.1:16601/
    mesh-2-h2c=http://127.0.0.1:16801/ stage-authz=http://127.0.0.1:16951/)
  PARGS+=(-P "stage-floor=$PID_stage_floor,$UP" -P "stage-outlier=$PID_stage_outlier,$UP" -P "stage-retry=$PID_stage_retry,$UP"
    -P "stage-ratelimit=$PID_stage_ratelimit,$UP" -P "stage-accesslog=$PID_stage_accesslog,$UP" -P "mesh-1-h2c=$PID_one_h2c,$UPH2"
    -P "mesh-2-h2c=$PID_a_h2c,$PID_b_h2c,$UPH2" -P "stage-authz=$PID_authz_a,$PID_authz_b,$UP")
  # stage-floor and stage-outlier have metrics off, so no /metrics to read: their alloc is NA.
  M stage-retry 16300; M stage-ratelimit 16400; M stage-accesslog 16500; M mesh-1-h2c 16600; M mesh-2-h2c 16800 16700; M stage-authz 16950 16900
fi
set +e
"$HERE/wrk-compare.sh" "${ARGS[@]}" "${PARGS[@]}" "${TARGETS[@]}" | tee "$W/compare.txt"
rc=${PIPESTATUS[0]}
set -e
RSS_LOADED=$(rss_all); echo "# sidecar RSS (MB) after wrk at c=$CONNS: $RSS_LOADED"

# Latency at a fixed 1,000 rps (the "+p99 at 1k rps" figure): direct first, as the baseline.
FIXED=(direct=http://127.0.0.1:5001/)
[ $QUICK = 0 ] && FIXED+=(haproxy=http://127.0.0.1:6003/ nginx=http://127.0.0.1:6002/)
FIXED+=(mesh-1=http://127.0.0.1:15101/ mesh-2=http://127.0.0.1:15301/ mesh-tls=http://127.0.0.1:15501/
  aot-1=http://127.0.0.1:15601/ aot-tls=http://127.0.0.1:15901/)
set +e
"$HERE/fixed-rate.sh" -n "$ROUNDS" -d "$([ $QUICK = 1 ] && echo 2 || echo "$DUR")" -r 1000 -c 8 -H upstream "${FIXED[@]}" | tee "$W/fixed.txt"
[ "${PIPESTATUS[0]}" = 0 ] || rc=2
set -e
RSS_FIXED=$(rss_all); echo "# sidecar RSS (MB) after the 1k rps runs: $RSS_FIXED"
# HTTP/2 clients with many streams (h2load): direct to the h2c upstream, haproxy's h2 frontend and
# mesh-1's outbound listener (h2c beside HTTP/1.1); all three reach an HTTP/1.1 upstream except direct.
if [ $QUICK = 0 ]; then
  command -v h2load >/dev/null || apt-get install -y nghttp2-client >/dev/null 2>&1 || true
  HAPROXY_PID=$(for l in "${PEER[@]}"; do case $l in haproxy=*) echo "${l#haproxy=}" ;; esac; done)
  set +e
  "$HERE/h2load-compare.sh" -n "$ROUNDS" -d "$DUR" -c 8 -m 32 -H upstream -P "direct-h2c=$UPH2" -P "haproxy=$HAPROXY_PID,$UP" \
    -P "mesh-1=$PID_one,$UP" -P "mesh-1-h2c=$PID_one_h2c,$UPH2" \
    direct-h2c=http://127.0.0.1:5011/ haproxy=http://127.0.0.1:6013/ mesh-1=http://127.0.0.1:15101/ mesh-1-h2c=http://127.0.0.1:16601/ \
    | tee "$W/h2load.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || rc=2
  set -e
fi
FIXED_JSON=$(sed -n 's/^FIXEDRATE //p' "$W/fixed.txt")
[ -z "$JSON" ] && [ $QUICK = 0 ] && JSON="$ROOT/tests/bench/results/proxy-$(date -u +%Y-%m-%d).json"
if [ -n "$JSON" ]; then
  # The summary table of wrk-compare.sh (header "target med_rps ...") as JSON objects.
  awk -v date="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -v idle="$RSS_IDLE" -v loaded="$RSS_LOADED" -v fixedrss="$RSS_FIXED" -v fixed="${FIXED_JSON:-null}" -v rounds="$ROUNDS" -v dur="$DUR" -v conns="$CONNS" '
    /^target +med_rps/ { table = 1; next }
    function num(v) { return v == "NA" ? "null" : v + 0 }
    table && NF >= 13 && $1 !~ /^#/ {
      rows = rows (n++ ? ",\n" : "") sprintf("    {\"target\": \"%s\", \"medianRps\": %s, \"maxRps\": %s, \"p50Ms\": %s, \"p99Ms\": %s, \"rpsRatio\": %s, \"addedP50Ms\": %s, \"addedP99Ms\": %s, \"cpuUsPerRequest\": %s, \"proxyCpuUsPerRequest\": %s, \"secondProcessCpuUsPerRequest\": %s, \"proxyAllocatedBytesPerRequest\": %s, \"secondProcessAllocatedBytesPerRequest\": %s, \"errors\": %s}", $1, num($2), num($3), num($4), num($5), num($6), num($7), num($8), num($9), num($10), num($11), num($12), num($13), $14+0)
      next
    }
    table && NF < 13 { table = 0 }
    function obj(pairs,   n, a, i, kv, out) { # "one=74 a=75 " -> {"one": 74, "a": 75}
      n = split(pairs, a, " "); out = ""
      for (i = 1; i <= n; i++) { split(a[i], kv, "="); out = out (i > 1 ? ", " : "") sprintf("\"%s\": %s", kv[1], kv[2]) }
      return "{" out "}"
    }
    END {
      printf "{\n  \"date\": \"%s\",\n  \"rounds\": %s, \"seconds\": %s, \"connections\": %s,\n", date, rounds, dur, conns
      printf "  \"sidecarRssMb\": {\"idle\": %s, \"loaded\": %s, \"afterFixedRate\": %s},\n", obj(idle), obj(loaded), obj(fixedrss)
      printf "  \"fixedRate\": %s,\n", fixed
      printf "  \"targets\": [\n%s\n  ]\n}\n", rows
    }' "$W/compare.txt" > "$JSON"
  echo "# wrote $JSON"
fi
exit $rc
