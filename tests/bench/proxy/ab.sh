#!/usr/bin/env bash
# tests/bench/proxy/ab.sh [-n ROUNDS] [-d SECONDS] [-c CONNECTIONS] [-a SECONDS] [-o FILE] TARGET...
#
# Compares Mesh builds or sidecar settings on the same paths, interleaved in one wrk-compare.sh
# run (direct calls first, as the baseline), with CPU per request of both sidecars and the bytes
# each allocated per request (the runtime's counter on their /metrics: load-independent, so the
# figure to compare on a shared machine). Each TARGET is NAME:PATH[:DLL[:YAML]]:
#   PATH  1    one sidecar, outbound → the upstream over HTTP/1.1 (run.sh's mesh-1)
#         2    sidecar A outbound → B inbound over h2c → the upstream (mesh-2)
#         tls  the same pair over mTLS, HTTP/2 by ALPN, certificates from a one-node registry (mesh-tls)
#         authz  the mTLS pair with an authorization policy on B that allows A (stage-authz)
#   DLL   the mesh.dll to run (default: this tree's artifacts/bin/Mesh.Cli/release/mesh.dll), e.g.
#         another worktree's build as the "before"
#   YAML  extra top-level sidecar YAML for every sidecar of the target, e.g.
#         "limits: { maxStreamsPerConnection: 16 }"
# -a SECONDS: afterwards, profile what each target's sidecars allocate, by type, for SECONDS under
#   the same wrk load (allocs/AllocProfile: the runtime's allocation-tick events over EventPipe).
# Example (bytes per request before and after a change, the old build kept in /tmp/before):
#   tests/bench/proxy/ab.sh -n 3 -d 8 before-1:1:/tmp/before/mesh.dll after-1:1 before-2:2:/tmp/before/mesh.dll after-2:2
# Starts the upstream with peers.sh (and YARP, nginx, haproxy, which it leaves idle); builds nothing.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
ROUNDS=3 DUR=8 CONNS=32 OUT="" ALLOCS=0
while getopts "n:d:c:a:o:h" opt; do
  case $opt in n) ROUNDS=$OPTARG ;; d) DUR=$OPTARG ;; c) CONNS=$OPTARG ;; a) ALLOCS=$OPTARG ;; o) OUT=$OPTARG ;; *) sed -n '2,21p' "$0"; exit 1 ;; esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,21p' "$0"; exit 1; }
export PEERS_WORK=${PEERS_WORK:-/tmp/mesh-proxy-ab}
W=$PEERS_WORK; mkdir -p "$W/ab"
DEFAULT_DLL=$ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll
PIDS=()
stop_all() { # SIGTERM, then wait up to 40 s for each before SIGKILL
  kill "$@" 2>/dev/null || true
  for p in "$@"; do timeout 40 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
}
cleanup() {
  [ ${#PIDS[@]} -gt 0 ] && stop_all "${PIDS[@]}"
  [ -n "${REGISTRY:-}" ] && stop_all "$REGISTRY"
  "$HERE/peers.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

# Every target is checked before anything starts.
for t in "$@"; do
  IFS=: read -r name path dll _ <<< "$t"
  [[ $name =~ ^[a-z0-9-]+$ ]] || { echo "bad target name in '$t' (a-z, 0-9, -)"; exit 1; }
  case $path in 1|2|tls|authz) ;; *) echo "bad path '$path' in '$t' (1, 2, tls or authz)"; exit 1 ;; esac
  [ -f "${dll:-$DEFAULT_DLL}" ] || { echo "no mesh.dll at '${dll:-$DEFAULT_DLL}' (build first)"; exit 1; }
done

# The peers listen on fixed ports: a bench still running (or one left behind) would be measured instead.
if curl -s -o /dev/null --max-time 2 http://127.0.0.1:5001/; then echo "something already serves 127.0.0.1:5001 (another bench running?)"; exit 1; fi
cp "$HERE"/haproxy.cfg "$HERE"/nginx.conf.in "$W/" 2>/dev/null || true
"$HERE/peers.sh" start >/dev/null
UP=$(cat "$W/pids/up1.pid")

TOKEN=bench-join-token-0123456789 REG=17990
if printf '%s\n' "$@" | grep -qE '^[^:]*:(tls|authz)'; then
  rm -rf "$W/registry"
  dotnet "$DEFAULT_DLL" registry --id 1 --data "$W/registry" --client 127.0.0.1:$REG --join-token "bench=$TOKEN" > "$W/ab/registry.log" 2>&1 &
  REGISTRY=$!
  for i in $(seq 1 50); do curl -sf -o /dev/null http://127.0.0.1:$REG/readyz && break; sleep 0.2; done
fi

# sidecar NAME DLL BASEPORT UPSTREAM-PORT UPSTREAM-PROTOCOL SERVICE TLS(0/1) EXTRA-YAML: starts one
# sidecar (outbound BASE+1, inbound BASE+6, admin BASE) and sets its pid in $SC_PID.
sidecar() {
  local tls="" endpoints="endpoints: { upstream: [ { id: up-1, address: 127.0.0.1, port: $4 } ] }" protocols=h2c
  [ "$7" = 1 ] && { tls="registry: { addresses: [http://127.0.0.1:$REG] }
tls: { mode: strict, joinToken: $TOKEN }"; endpoints=""; protocols=http1AndHttp2; }
  cat > "$W/ab/$1.yaml" <<YAML
service: { name: ab-$1, namespace: bench }
app: { address: "http://127.0.0.1:5001", healthPath: / }
listeners:
  outbound: 127.0.0.1:$(($3 + 1))
  inbound: { address: "127.0.0.1:$(($3 + 6))", protocols: $protocols }
  admin: 127.0.0.1:$3
upstream: { protocol: $5 }
routes:
  - { name: all, service: $6, retries: { attempts: 1 } }
$endpoints
$tls
$8
YAML
  dotnet "$2" sidecar --config "$W/ab/$1.yaml" > "$W/ab/$1.log" 2>&1 &
  SC_PID=$!; PIDS+=($SC_PID)
}

# authz_policy SERVICE CALLER: a policy on SERVICE that denies another caller and allows CALLER,
# so both rules are evaluated for every request (the same one run.sh's stage-authz uses).
authz_policy() { sed "s|SERVICE|$1|; s|CALLER|$2|" "$HERE/authz-policy.yaml"; }

TARGETS=(direct=http://127.0.0.1:5001/) PARGS=(-P "direct=$UP") PORTS=() SIDECARS=() base=17000
for t in "$@"; do
  IFS=: read -r name path dll yaml <<< "$t"; dll=${dll:-$DEFAULT_DLL}
  case $path in
    1) sidecar "$name" "$dll" $base 5001 http1 upstream 0 "$yaml"; a=$SC_PID b="" ;;
    2) sidecar "$name-b" "$dll" $((base + 10)) 5001 http1 upstream 0 "$yaml"; b=$SC_PID
       sidecar "$name" "$dll" $base $((base + 16)) http2 upstream 0 "$yaml"; a=$SC_PID ;;
    tls) sidecar "$name-b" "$dll" $((base + 10)) 5001 http1 upstream 1 "$yaml"; b=$SC_PID
       sidecar "$name" "$dll" $base 0 http1 "ab-$name-b" 1 "$yaml"; a=$SC_PID ;;
    authz) sidecar "$name-b" "$dll" $((base + 10)) 5001 http1 upstream 1 "$yaml
$(authz_policy "ab-$name-b" "bench/ab-$name")"; b=$SC_PID
       sidecar "$name" "$dll" $base 0 http1 "ab-$name-b" 1 "$yaml"; a=$SC_PID ;;
  esac
  TARGETS+=("$name=http://127.0.0.1:$((base + 1))/"); PORTS+=($((base + 1))); SIDECARS+=("$name=$a${b:+,$b}")
  PARGS+=(-P "$name=$a${b:+,$b},$UP" -M "$name=http://127.0.0.1:$base/metrics${b:+,http://127.0.0.1:$((base + 10))/metrics}")
  base=$((base + 20))
done
for p in "${PORTS[@]}"; do
  for i in $(seq 1 150); do curl -sf -o /dev/null -H "Host: upstream" "http://127.0.0.1:$p/" && continue 2; sleep 0.2; done
  echo "sidecar on :$p not answering"; tail -n 20 "$W"/ab/*.log; exit 1
done
echo "# ab.sh $*"
echo "# $(git -C "$ROOT" log --oneline -1), $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
set +e
"$HERE/wrk-compare.sh" -n "$ROUNDS" -d "$DUR" -c "$CONNS" -w 5 -H "Host: upstream" "${PARGS[@]}" "${TARGETS[@]}" | tee "$W/ab/compare.txt"
rc=${PIPESTATUS[0]}
set -e
if [ "$ALLOCS" -gt 0 ]; then
  # Built outside the repository, like the peers, so it pins its own package versions.
  rm -rf "$W/allocs" && mkdir -p "$W/allocs" && cp "$HERE"/allocs/*.cs "$HERE"/allocs/*.csproj "$W/allocs/"
  dotnet publish "$W/allocs" -c Release -o "$W/allocs/out" -nologo -v q >/dev/null
  i=0
  for s in "${SIDECARS[@]}"; do
    name=${s%%=*}; port=${PORTS[$i]}; i=$((i + 1))
    IFS=, read -ra procs <<< "${s#*=}"
    for p in "${procs[@]}"; do
      timeout $((ALLOCS + 30)) wrk -t1 -c "$CONNS" -d $((ALLOCS + 4))s -H "Host: upstream" "http://127.0.0.1:$port/" > /dev/null &
      wrkpid=$!; sleep 2
      echo "## allocations of $name (pid $p) under wrk -c $CONNS, $ALLOCS s"
      timeout $((ALLOCS + 30)) dotnet "$W/allocs/out/AllocProfile.dll" "$p" "$ALLOCS" 25 || echo "(profile failed)"
      wait $wrkpid 2>/dev/null || true
    done
  done 2>&1 | tee "$W/ab/allocs.txt"
fi
[ -n "$OUT" ] && { { echo "# ab.sh $*"; cat "$W/ab/compare.txt"; [ "$ALLOCS" -gt 0 ] && cat "$W/ab/allocs.txt"; } > "$OUT"; }
exit $rc
