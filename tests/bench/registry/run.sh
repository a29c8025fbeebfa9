#!/usr/bin/env bash
# Registry load benchmark: Mesh (and, with --peers, etcd 3.4 and ZooKeeper 3.8) as 3-node clusters on
# 127.0.0.1, the same load shapes against each, one comparison table. See README.md next to this file.
#
# usage: tests/bench/registry/run.sh [--quick] [--peers] [--scale] [--sidecars N] [--rounds N] [--failovers N] [--no-build]
#   --quick       smoke mode for CI: tiny counts, one round, Mesh only, a few seconds after the build
#   --peers       also install (Debian packages; needs root) and start etcd and ZooKeeper clusters and
#                 run the same shapes against them, interleaved test by test
#   PORT_BASE=27000 (env): Mesh client ports +1..3, Raft ports +101..103
#   --scale       only the mesh-scale shapes instead: streaming watch fan-out at 1,000 and 10,000 watchers (etcd's
#                 watch fan-out next to it with --peers; ZooKeeper is not started) and --sidecars N (default
#                 1,000) simulated sidecars; output tests/bench/results/registry-scale-YYYY-MM-DD.json
#   --rounds N    repeat the perf shapes N times (default 1); --failovers N leader kills per system (default 3)
# Output: $RUN/results.txt (one line per test), the table on stdout, and
#         tests/bench/results/registry-YYYY-MM-DD.json (not in --quick mode unless JSON_OUT is set).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
QUICK=0 PEERS=0 SCALE=0 SIDECARS=1000 ROUNDS=1 FAILOVERS=3 BUILD=1
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1;;
    --peers) PEERS=1;;
    --scale) SCALE=1;;
    --sidecars) SIDECARS=$2; shift;;
    --rounds) ROUNDS=$2; shift;;
    --failovers) FAILOVERS=$2; shift;;
    --no-build) BUILD=0;;
    -h|--help) sed -n '2,15p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
  shift
done

RUN=$(mktemp -d /tmp/mesh-regbench.XXXXXX)
export RESULTS=$RUN/results.txt PIDDIR=$RUN/pids
export REG_WORK=${REG_WORK:-/tmp/mesh-regbench-peers}
mkdir -p "$PIDDIR/mesh" "$RUN/mesh"
: > "$RESULTS"

cleanup() {
  set +e
  local f
  for f in "$PIDDIR"/mesh/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; rm -f "$f"; done
  if [ $PEERS = 1 ]; then
    "$REG_WORK"/zk/stop.sh n1 n2 n3 >/dev/null 2>&1 || true
    "$REG_WORK"/etcd/stop.sh e1 e2 e3 >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $BUILD = 1 ]; then
  echo "== building Mesh (Release)"
  dotnet build "$ROOT/src/Mesh.Cli/Mesh.Cli.csproj" -c Release -nologo -v q >/dev/null
  dotnet build "$ROOT/tests/bench/Mesh.RegistryBench/Mesh.RegistryBench.csproj" -c Release -nologo -v q >/dev/null
fi
MESH_DLL=$ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll
BENCH_DLL=$ROOT/artifacts/bin/Mesh.RegistryBench/release/Mesh.RegistryBench.dll
# Ports: client API $PORT_BASE+1..3, Raft $PORT_BASE+101..103 (not docs/registry.md's 7001: the machine is shared).
PB=${PORT_BASE:-27000}
cport() { echo $((PB + $1)); }
rport() { echo $((PB + 100 + $1)); }
MESH_PEERS=1=127.0.0.1:$(rport 1)@127.0.0.1:$(cport 1),2=127.0.0.1:$(rport 2)@127.0.0.1:$(cport 2),3=127.0.0.1:$(rport 3)@127.0.0.1:$(cport 3)
MESH_EPS=http://127.0.0.1:$(cport 1),http://127.0.0.1:$(cport 2),http://127.0.0.1:$(cport 3)
export BENCH_DLL MESH_EPS
SCALE_JOIN_TOKEN=bench=bench-join-token-0123456789
# 10,000 watchers: a connection each in the client, about a third of them in each server.
if [ $SCALE = 1 ]; then
  ulimit -n "$(ulimit -Hn)"
  [ "$(ulimit -n)" -ge 16384 ] || { echo "--scale needs 16384 open files (ulimit -n is $(ulimit -n))" >&2; exit 1; }
fi

# The scale shapes hold up to 10,000 streams from one address (one caller) and give the simulated
# sidecars a join token for their certificates; every shape opens one connection per simulated client.
MESH_ARGS=()
[ $SCALE = 1 ] && MESH_ARGS=(--max-watch-streams 20000 --join-token "$SCALE_JOIN_TOKEN")
mesh_start() {
  local i=$1
  nohup dotnet "$MESH_DLL" registry --id "$i" --peers $MESH_PEERS --data "$RUN/mesh/n$i" --client 127.0.0.1:"$(cport "$i")" "${MESH_ARGS[@]}" \
    >> "$RUN/mesh/n$i.log" 2>&1 < /dev/null &
  echo $! > "$PIDDIR/mesh/n$i.pid"
}
mesh_wait() {   # all three ready (a leader known, applied state caught up), at most 30 s
  local k i ok
  for k in $(seq 300); do
    ok=0
    for i in 1 2 3; do curl -sf -m 1 "127.0.0.1:$(cport $i)/readyz" >/dev/null && ok=$((ok+1)); done
    [ $ok = 3 ] && return 0
    for i in 1 2 3; do kill -0 "$(cat "$PIDDIR/mesh/n$i.pid")" 2>/dev/null || { echo "mesh node $i exited:" >&2; tail -n 3 "$RUN/mesh/n$i.log" >&2; return 1; }; done
    sleep 0.1
  done
  echo "mesh cluster not ready after 30 s" >&2; tail -5 "$RUN"/mesh/n*.log >&2; return 1
}
mesh_pids() { echo "1=$(cat "$PIDDIR/mesh/n1.pid"),2=$(cat "$PIDDIR/mesh/n2.pid"),3=$(cat "$PIDDIR/mesh/n3.pid")"; }

for i in 1 2 3; do
  if (exec 3<>/dev/tcp/127.0.0.1/"$(cport $i)") 2>/dev/null || (exec 3<>/dev/tcp/127.0.0.1/"$(rport $i)") 2>/dev/null; then
    echo "port $(cport $i) or $(rport $i) is in use (another registry?); stop it or set PORT_BASE" >&2; exit 1
  fi
done
echo "== starting Mesh 3-node registry in $RUN"
for i in 1 2 3; do mesh_start $i; done
mesh_wait

if [ $QUICK = 1 ]; then
  json=${JSON_OUT:-$RUN/quick.json}
  timeout 90 dotnet "$BENCH_DLL" --endpoints $MESH_EPS --pids "$(mesh_pids)" --warmup 0.3 --json "$json" suite --quick
  echo "quick run OK; JSON in $json"
  exit 0
fi

SYSTEMS=(mesh3)
if [ $PEERS = 1 ]; then
  echo "== peers: installing/building in $REG_WORK, starting etcd and ZooKeeper"
  "$HERE/peers/setup.sh" >/dev/null
  "$REG_WORK"/zk/stop.sh n1 n2 n3 >/dev/null 2>&1 || true
  "$REG_WORK"/etcd/stop.sh e1 e2 e3 >/dev/null 2>&1 || true
  rm -rf "$REG_WORK"/zk/n? "$REG_WORK"/etcd/e?.data "$REG_WORK"/failover
  "$REG_WORK"/zk/mkconf.sh
  [ $SCALE = 0 ] && "$REG_WORK"/zk/start.sh n1 n2 n3 >/dev/null
  "$REG_WORK"/etcd/start.sh e1 e2 e3 >/dev/null
  [ $SCALE = 0 ] && ln -sfn "$REG_WORK/zk" "$PIDDIR/zk"
  ln -sfn "$REG_WORK/etcd" "$PIDDIR/etcd"
  for k in $(seq 60); do
    z=3; [ $SCALE = 0 ] && z=$("$REG_WORK"/zk/status.sh | grep -cE "leader|follower" || true)
    e=$("$REG_WORK"/etcd/status.sh 2>/dev/null | grep -c "3\.4\." || true)
    [ "$z" = 3 ] && [ "$e" = 3 ] && break; sleep 1
  done
  echo "   zk members up: $z, etcd members up: $e"
  SYSTEMS=(mesh3 etcd3 zk3)
  [ $SCALE = 1 ] && SYSTEMS=(mesh3 etcd3)
fi

shape() {    # shape <system> <test>: the client arguments, empty if the system has no such shape
  local s=$1 t=$2 stale=stale
  [ "$s" = etcd3 ] && stale=serializable
  case $t in
    seq-write-2000) echo "seq 2000";;
    conc-write-1x32-10s) echo "cwrite 1 32 10";;
    conc-write-8x4-10s) echo "cwrite 8 4 10";;
    seq-read-2000) [ "$s" != zk3 ] && echo "rseq 2000";;              # ZooKeeper reads are local only
    seq-read-stale-2000) [ "$s" = zk3 ] && echo "rseq 2000" || echo "rseq 2000 $stale";;
    read-1x32-10s) [ "$s" != zk3 ] && echo "read 1 32 10";;
    read-stale-1x32-10s) [ "$s" = zk3 ] && echo "read 1 32 10" || echo "read 1 32 10 $stale";;
    watch-100) [ "$s" = mesh3 ] && echo "watch 100 10";;            # watch shapes: Mesh client only so far
    watch-1000) [ "$s" = mesh3 ] && echo "watch 1000 5";;
    churn-1000) [ "$s" = mesh3 ] && echo "churn 1000 6";;          # instances register and leave
    swatch-1000) [ "$s" != zk3 ] && echo "swatch 1000 10";;         # streaming watches (etcd: gRPC watch streams)
    swatch-10000) [ "$s" != zk3 ] && echo "swatch 10000 10";;
    sidecars) [ "$s" = mesh3 ] && echo "sidecars 60 --sidecars $SIDECARS --join-token $SCALE_JOIN_TOKEN";;
  esac
  return 0
}
TESTS=(seq-write-2000 conc-write-1x32-10s conc-write-8x4-10s seq-read-2000 seq-read-stale-2000
       read-1x32-10s read-stale-1x32-10s watch-100 watch-1000 churn-1000)
if [ $SCALE = 1 ]; then TESTS=(swatch-1000 swatch-10000 sidecars); FAILOVERS=0; fi

n=${#SYSTEMS[@]}
for r in $(seq "$ROUNDS"); do
  for ti in "${!TESTS[@]}"; do
    t=${TESTS[$ti]}
    for k in $(seq 0 $((n-1))); do
      s=${SYSTEMS[$(( (ti + r + k) % n ))]}   # rotate which system goes first
      a=$(shape "$s" "$t"); [ -z "$a" ] && continue
      # shellcheck disable=SC2086
      "$HERE/measure.sh" "$s r$r $t" timeout $([ $SCALE = 1 ] && echo 420 || echo 120) "$HERE/client.sh" "$s" $a || echo "   ($s $t failed)" >&2
    done
  done
done

# Leader failover: a probe writes every ~5 ms (200 ms per-write deadline) while the leader is SIGKILLed.
for f in $(seq "$FAILOVERS"); do
  for s in "${SYSTEMS[@]}"; do
    case $s in
      mesh3)
        mesh_wait; sleep 2
        out=$(timeout 60 dotnet "$BENCH_DLL" --endpoints $MESH_EPS --pids "$(mesh_pids)" failover 3 8 || true)
        echo "$out" | grep '^FAILOVER' | tee -a "$RESULTS"
        killed=$(echo "$out" | sed -n 's/^FAILOVER mesh killed=n\([0-9]\).*/\1/p')
        [ -n "$killed" ] && mesh_start "$killed";;
      etcd3)
        for k in $(seq 30); do [ "$("$REG_WORK"/etcd/status.sh 2>/dev/null | grep -c '3\.4\.' || true)" = 3 ] && break; sleep 1; done; sleep 2
        ETCD_DEADLINE_MS=200 timeout 90 "$REG_WORK"/failover.sh etcd KILL | tee -a "$RESULTS";;
      zk3)
        for k in $(seq 30); do [ "$("$REG_WORK"/zk/status.sh | grep -cE 'leader|follower' || true)" = 3 ] && break; sleep 1; done; sleep 2
        timeout 90 "$REG_WORK"/failover.sh zk KILL | tee -a "$RESULTS";;
    esac
  done
done

json=${JSON_OUT:-$ROOT/tests/bench/results/registry-$([ $SCALE = 1 ] && echo scale-)$(date +%F).json}
python3 "$HERE/summarize.py" "$RESULTS" --json "$json"
echo "results: $RESULTS ; JSON: $json"
