#!/usr/bin/env bash
# Registry load benchmark: Mesh (and, with --peers, etcd 3.4 and ZooKeeper 3.8) as 3-node clusters on
# 127.0.0.1, the same load shapes against each, one comparison table. See README.md next to this file.
#
# usage: tests/bench/registry/run.sh [--quick] [--peers] [--systems LIST] [--scale] [--sidecars N] [--rounds N] [--failovers N] [--no-build]
#   --quick       smoke mode for CI: tiny counts, one round, Mesh only, a few seconds after the build
#   --peers       also install (Debian packages; needs root) and start etcd and ZooKeeper clusters and
#                 run the same shapes against them, interleaved test by test
#   --systems L   which of mesh3 (HTTP), meshzk (Mesh over the ZooKeeper protocol), etcd3, zk3 to run
#                 (comma-separated; default mesh3,meshzk, with --peers all four; meshzk needs a JDK and zookeeper.jar);
#                 mesh3w and meshzkw are the same on a second Mesh cluster running --raft-log $MESHW_LOG (default
#                 dotnext) from $MESHW_DLL (default the same build) while mesh3/meshzk run the default log (a new
#                 directory: the registry's own), so one interleaved run compares two logs or two builds
#   MESH_ENV, MESHW_ENV (env): "VAR=VALUE ..." set for the nodes of the first / second Mesh cluster (runtime
#                 settings compared in one interleaved run, e.g. MESHW_ENV="DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1");
#                 MESH_CLIENT_ENV, MESHW_CLIENT_ENV: the same for the load client of mesh3/meshzk... / mesh3w
#   MESH_FLAGS, MESHW_FLAGS (env): extra `mesh registry` flags for the nodes of the first / second Mesh
#                 cluster (e.g. MESHW_FLAGS="--snapshot-keep 0" to compare a setting in one interleaved run)
#   MESH_DLL, BENCH_DLL (env): the registry and the load client to run (default: this tree's Release build)
#   PORT_BASE=27000 (env): Mesh client ports +1..3, Raft ports +101..103, ZooKeeper ports +201..203
#                 (the mesh3w/meshzkw cluster: +51..53, +151..153, +251..253)
#   --scale       only the mesh-scale shapes instead: streaming watch fan-out at 1,000 and 10,000 watchers (etcd's
#                 watch fan-out next to it with --peers; ZooKeeper is not started) and --sidecars N (default
#                 1,000) simulated sidecars; output tests/bench/results/registry-scale-YYYY-MM-DD.json
#   --rounds N    repeat the perf shapes N times (default 1); --failovers N leader kills per system (default 3)
#   BENCH_TESTS="seq-write-2000 ..." (env): run only these shapes
# Output: $RUN/results.txt (one line per test), the table on stdout, and
#         tests/bench/results/registry-YYYY-MM-DD.json (not in --quick mode unless JSON_OUT is set).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
QUICK=0 PEERS=0 SCALE=0 SIDECARS=1000 ROUNDS=1 FAILOVERS=3 BUILD=1 WANT=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) QUICK=1;;
    --peers) PEERS=1;;
    --systems) WANT=$2; shift;;
    --scale) SCALE=1;;
    --sidecars) SIDECARS=$2; shift;;
    --rounds) ROUNDS=$2; shift;;
    --failovers) FAILOVERS=$2; shift;;
    --no-build) BUILD=0;;
    -h|--help) sed -n '2,18p' "$0"; exit 0;;
    *) echo "unknown option $1" >&2; exit 2;;
  esac
  shift
done

RUN=$(mktemp -d /tmp/mesh-regbench.XXXXXX)
export RESULTS=$RUN/results.txt PIDDIR=$RUN/pids
export REG_WORK=${REG_WORK:-/tmp/mesh-regbench-peers}
mkdir -p "$PIDDIR/mesh" "$RUN/mesh" "$PIDDIR/meshw" "$RUN/meshw"
: > "$RESULTS"

cleanup() {
  set +e
  local f
  for f in "$PIDDIR"/mesh/*.pid "$PIDDIR"/meshw/*.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; rm -f "$f"; done
  if [ $PEERS = 1 ]; then
    [ -x "$REG_WORK"/zk/stop.sh ] && "$REG_WORK"/zk/stop.sh n1 n2 n3 >/dev/null 2>&1
    [ -x "$REG_WORK"/etcd/stop.sh ] && "$REG_WORK"/etcd/stop.sh e1 e2 e3 >/dev/null 2>&1
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ $BUILD = 1 ]; then
  echo "== building Mesh (Release)"
  dotnet build "$ROOT/src/Mesh.Cli/Mesh.Cli.csproj" -c Release -nologo -v q >/dev/null
  dotnet build "$ROOT/tests/bench/Mesh.RegistryBench/Mesh.RegistryBench.csproj" -c Release -nologo -v q >/dev/null
fi
MESH_DLL=${MESH_DLL:-$ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll}
MESHW_DLL=${MESHW_DLL:-$MESH_DLL}
MESHW_LOG=${MESHW_LOG:-dotnext}
BENCH_DLL=${BENCH_DLL:-$ROOT/artifacts/bin/Mesh.RegistryBench/release/Mesh.RegistryBench.dll}
# Ports: client API $PORT_BASE+1..3, Raft $PORT_BASE+101..103, ZooKeeper +201..203 (not docs/registry.md's
# 7001 nor ZooKeeper's 2181: the machine is shared, and the zk3 peer uses 2181-2183).
PB=${PORT_BASE:-27000}
cport() { echo $((PB + $1)); }
rport() { echo $((PB + 100 + $1)); }
zport() { echo $((PB + 200 + $1)); }
MESH_PEERS=1=127.0.0.1:$(rport 1)@127.0.0.1:$(cport 1),2=127.0.0.1:$(rport 2)@127.0.0.1:$(cport 2),3=127.0.0.1:$(rport 3)@127.0.0.1:$(cport 3)
MESH_EPS=http://127.0.0.1:$(cport 1),http://127.0.0.1:$(cport 2),http://127.0.0.1:$(cport 3)
MESH_ZK=127.0.0.1:$(zport 1),127.0.0.1:$(zport 2),127.0.0.1:$(zport 3)
# The second cluster (mesh3w, meshzkw): the same ports + $WOFF, on the registry's own raft log.
WOFF=50
MESHW_PEERS=1=127.0.0.1:$(rport $((WOFF + 1)))@127.0.0.1:$(cport $((WOFF + 1))),2=127.0.0.1:$(rport $((WOFF + 2)))@127.0.0.1:$(cport $((WOFF + 2))),3=127.0.0.1:$(rport $((WOFF + 3)))@127.0.0.1:$(cport $((WOFF + 3)))
MESHW_EPS=http://127.0.0.1:$(cport $((WOFF + 1))),http://127.0.0.1:$(cport $((WOFF + 2))),http://127.0.0.1:$(cport $((WOFF + 3)))
MESHW_ZK=127.0.0.1:$(zport $((WOFF + 1))),127.0.0.1:$(zport $((WOFF + 2))),127.0.0.1:$(zport $((WOFF + 3)))
ZKBENCH_DIR=$REG_WORK/zkbench
export BENCH_DLL MESH_EPS MESH_ZK MESHW_EPS MESHW_ZK ZKBENCH_DIR
SCALE_JOIN_TOKEN=bench=bench-join-token-0123456789
# 10,000 watchers: a connection each in the client, about a third of them in each server.
if [ $SCALE = 1 ]; then
  ulimit -n "$(ulimit -Hn)"
  [ "$(ulimit -n)" -ge 16384 ] || { echo "--scale needs 16384 open files (ulimit -n is $(ulimit -n))" >&2; exit 1; }
fi
# The scale shapes hold up to 10,000 streams from one address (one caller) and give the simulated
# sidecars a join token for their certificates; every shape opens one connection per simulated client.
MESH_EXTRA=""
[ $SCALE = 1 ] && MESH_EXTRA="--max-watch-streams 20000 --join-token $SCALE_JOIN_TOKEN"

# One cluster serves both Mesh systems: mesh3 over HTTP, meshzk over --zk. Open mode (the Java client
# logs in with nothing) and the per-address limits raised for the watch shapes' 1,000 sessions from
# one address, as zoo.cfg here sets maxClientCnxns=0 (no limit).
# A script, not a function: failover.sh restarts a killed node (meshzk) with it too.
cat > "$RUN/mesh-start.sh" <<EOF
#!/usr/bin/env bash
# usage: mesh-start.sh N|nN|wN -- starts registry node N in the background, its PID in $PIDDIR/mesh/nN.pid
# (wN: node N of the second cluster, on --raft-log $MESHW_LOG from $MESHW_DLL, its PID in $PIDDIR/meshw/nN.pid)
case \$1 in
  w*) c=w off=$WOFF log=$MESHW_LOG dll="$MESHW_DLL" peers="$MESHW_PEERS" vars="${MESHW_ENV:-}" flags="${MESHW_FLAGS:-}";;
  *) c= off=0 log=auto dll="$MESH_DLL" peers="$MESH_PEERS" vars="${MESH_ENV:-}" flags="${MESH_FLAGS:-}";;
esac
i=\${1#[nw]}
# shellcheck disable=SC2086
env \$vars nohup dotnet "\$dll" registry --id "\$i" --peers "\$peers" --data "$RUN/mesh\$c/n\$i" --client "127.0.0.1:\$(($PB + off + i))" \\
  --zk "127.0.0.1:\$(($PB + 200 + off + i))" --zk-open --zk-max-client-cnxns 5000 --zk-max-connections 5000 --zk-session-rate 5000 $MESH_EXTRA \$flags \\
  --raft-log \$log >> "$RUN/mesh\$c/n\$i.log" 2>&1 < /dev/null &
echo \$! > "$PIDDIR/mesh\$c/n\$i.pid"
EOF
cat > "$RUN/meshw-start.sh" <<EOF
#!/usr/bin/env bash
# usage: meshw-start.sh nN -- mesh-start.sh wN (failover.sh restarts a node by its pid file's name)
exec "$RUN/mesh-start.sh" w\${1#n}
EOF
chmod +x "$RUN/meshw-start.sh"
chmod +x "$RUN/mesh-start.sh"
mesh_start() { "$RUN/mesh-start.sh" "$1"; }
zk_client_ready() { command -v javac >/dev/null && [ -f /usr/share/java/zookeeper.jar ]; }
zk_client_build() {   # the Java ZooKeeper load client, used for zk3 and meshzk alike
  mkdir -p "$ZKBENCH_DIR"
  cp "$HERE"/peers/zkbench/ZkBench.java "$HERE"/peers/zkbench/run.sh "$ZKBENCH_DIR"/
  (cd "$ZKBENCH_DIR" && javac -cp /usr/share/java/zookeeper.jar -d . ZkBench.java)
}
mesh_wait() {   # mesh_wait [w]: all three ready (a leader known, applied state caught up), at most 30 s
  local k i ok c=${1:-} off=0
  [ "$c" = w ] && off=$WOFF
  for k in $(seq 300); do
    ok=0
    for i in 1 2 3; do curl -sf -m 1 "127.0.0.1:$(cport $((off + i)))/readyz" >/dev/null && ok=$((ok+1)); done
    [ $ok = 3 ] && return 0
    for i in 1 2 3; do kill -0 "$(cat "$PIDDIR/mesh$c/n$i.pid")" 2>/dev/null || { echo "mesh$c node $i exited:" >&2; tail -n 3 "$RUN/mesh$c/n$i.log" >&2; return 1; }; done
    sleep 0.1
  done
  echo "mesh$c cluster not ready after 30 s" >&2; tail -5 "$RUN"/mesh$c/n*.log >&2; return 1
}
mesh_pids() { local c=${1:-}; echo "1=$(cat "$PIDDIR/mesh$c/n1.pid"),2=$(cat "$PIDDIR/mesh$c/n2.pid"),3=$(cat "$PIDDIR/mesh$c/n3.pid")"; }

for i in 1 2 3 $((WOFF + 1)) $((WOFF + 2)) $((WOFF + 3)); do
  for port in "$(cport $i)" "$(rport $i)" "$(zport $i)"; do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
      echo "port $port is in use (another registry?); stop it or set PORT_BASE" >&2; exit 1
    fi
  done
done
echo "== starting Mesh 3-node registry in $RUN"
for i in 1 2 3; do mesh_start $i; done
mesh_wait

if [ $QUICK = 1 ]; then
  json=${JSON_OUT:-$RUN/quick.json}
  timeout 90 dotnet "$BENCH_DLL" --endpoints $MESH_EPS --pids "$(mesh_pids)" --warmup 0.3 --json "$json" suite --quick
  # meshzk: the ZooKeeper load client's shapes at tiny counts against the --zk ports (needs a JDK).
  if zk_client_ready; then
    zk_client_build
    timeout 90 "$HERE/client.sh" meshzk quick
  else
    echo "meshzk smoke skipped: no javac or /usr/share/java/zookeeper.jar (apt-get install default-jdk-headless zookeeper)"
  fi
  echo "quick run OK; JSON in $json"
  exit 0
fi

if [ -n "$WANT" ]; then
  IFS=, read -r -a SYSTEMS <<< "$WANT"
elif [ $SCALE = 1 ]; then
  SYSTEMS=(mesh3); [ $PEERS = 1 ] && SYSTEMS=(mesh3 etcd3)
elif [ $PEERS = 1 ]; then
  SYSTEMS=(mesh3 meshzk etcd3 zk3)
else
  SYSTEMS=(mesh3 meshzk)
fi
has() { [[ " ${SYSTEMS[*]} " == *" $1 "* ]]; }
for s in "${SYSTEMS[@]}"; do
  case $s in mesh3|meshzk|mesh3w|meshzkw) ;; etcd3|zk3) [ $PEERS = 1 ] || { echo "$s needs --peers" >&2; exit 2; };; *) echo "unknown system $s" >&2; exit 2;; esac
done
if has mesh3w || has meshzkw; then
  echo "== starting the second Mesh 3-node registry (--raft-log $MESHW_LOG, $MESHW_DLL) in $RUN/meshw"
  for i in 1 2 3; do mesh_start w$i; done
  mesh_wait w
fi
if { has meshzk || has meshzkw; } && [ $PEERS = 0 ] && ! zk_client_ready; then
  echo "meshzk needs javac and /usr/share/java/zookeeper.jar (apt-get install default-jdk-headless zookeeper); left out" >&2
  SYSTEMS=(mesh3)
fi
if [ $PEERS = 1 ]; then
  peers=(zk)   # also for meshzk: the ZooKeeper client comes with ZooKeeper's package
  has etcd3 && peers+=(etcd)
  echo "== peers: installing/building ${peers[*]} in $REG_WORK"
  "$HERE/peers/setup.sh" "${peers[@]}" >/dev/null
  "$REG_WORK"/zk/stop.sh n1 n2 n3 >/dev/null 2>&1 || true
  "$REG_WORK"/etcd/stop.sh e1 e2 e3 >/dev/null 2>&1 || true
  rm -rf "$REG_WORK"/zk/n? "$REG_WORK"/etcd/e?.data "$REG_WORK"/failover
  z=-; e=-
  if has zk3; then
    "$REG_WORK"/zk/mkconf.sh; "$REG_WORK"/zk/start.sh n1 n2 n3 >/dev/null; ln -sfn "$REG_WORK/zk" "$PIDDIR/zk"; z=0
  fi
  if has etcd3; then
    "$REG_WORK"/etcd/start.sh e1 e2 e3 >/dev/null; ln -sfn "$REG_WORK/etcd" "$PIDDIR/etcd"; e=0
  fi
  for k in $(seq 60); do
    [ "$z" != - ] && z=$("$REG_WORK"/zk/status.sh | grep -cE "leader|follower" || true)
    [ "$e" != - ] && e=$("$REG_WORK"/etcd/status.sh 2>/dev/null | grep -c "3\.4\." || true)
    [[ $z == [-3] ]] && [[ $e == [-3] ]] && break; sleep 1
  done
  echo "   zk members up: $z, etcd members up: $e"
elif has meshzk || has meshzkw; then
  zk_client_build
fi

shape() {    # shape <system> <test>: the client arguments, empty if the system has no such shape
  local s=${1%w} t=$2 stale=stale zkc=0   # mesh3w and meshzkw run mesh3's and meshzk's shapes
  [ "$s" = etcd3 ] && stale=serializable
  case $s in zk3|meshzk) zkc=1;; esac   # the ZooKeeper client (zk3 and Mesh's --zk ports)
  case $t in
    seq-write-2000) echo "seq 2000";;
    # The same from a session on each node in turn (ZooKeeper client only): which node a session picks
    # (leader or follower) moves seq-write-2000 by up to 2x from round to round, for both servers.
    seq-write-each-3x700) [ $zkc = 1 ] && echo "seqeach 700";;
    conc-write-1x32-10s) echo "cwrite 1 32 10";;
    conc-write-8x4-10s) echo "cwrite 8 4 10";;
    seq-read-2000) [ $zkc = 0 ] && echo "rseq 2000";;                 # ZooKeeper reads are local only
    seq-read-stale-2000) [ $zkc = 1 ] && echo "rseq 2000" || echo "rseq 2000 $stale";;
    read-1x32-10s) [ $zkc = 0 ] && echo "read 1 32 10";;
    read-stale-1x32-10s) [ $zkc = 1 ] && echo "read 1 32 10" || echo "read 1 32 10 $stale";;
    watch-100) [ "$s" != etcd3 ] && echo "watch 100 10";;           # watch shapes: no etcd client for them yet
    watch-1000) [ "$s" != etcd3 ] && echo "watch 1000 5";;
    churn-1000) [ "$s" = mesh3 ] && echo "churn 1000 6";;          # instances register and leave
    swatch-1000) [ "$s" != zk3 ] && echo "swatch 1000 10";;         # streaming watches (etcd: gRPC watch streams)
    swatch-10000) [ "$s" != zk3 ] && echo "swatch 10000 10";;
    # The same, records with the node's data (data=true); etcd's events always carry the value, so its shape is swatch.
    swatch-data-1000) case $s in mesh3) echo "swatch 1000 10 data";; etcd3) echo "swatch 1000 10";; esac;;
    swatch-data-10000) case $s in mesh3) echo "swatch 10000 10 data";; etcd3) echo "swatch 10000 10";; esac;;
    # The same for Mesh, each stream read off its socket by the bench's lean reader (RawWatchStream), not the client library.
    swatch-data-raw-1000) [ "$s" = mesh3 ] && echo "swatch 1000 10 data raw";;
    swatch-data-raw-10000) [ "$s" = mesh3 ] && echo "swatch 10000 10 data raw";;
    sidecars) [ "$s" = mesh3 ] && echo "sidecars 60 --sidecars $SIDECARS --join-token $SCALE_JOIN_TOKEN";;
    sidecars-reread) [ "$s" = mesh3 ] && echo "sidecars 60 --sidecars $SIDECARS --join-token $SCALE_JOIN_TOKEN --stream-data false";;  # every change read (no data=true)
  esac
  return 0
}
TESTS=(seq-write-2000 conc-write-1x32-10s conc-write-8x4-10s seq-read-2000 seq-read-stale-2000
       read-1x32-10s read-stale-1x32-10s watch-100 watch-1000 churn-1000)
# BENCH_TESTS (env): a subset of the above, e.g. "seq-write-2000 conc-write-1x32-10s" (with --failovers 0)
# shellcheck disable=SC2206
[ -n "${BENCH_TESTS:-}" ] && TESTS=($BENCH_TESTS)
# shellcheck disable=SC2206
if [ $SCALE = 1 ]; then TESTS=(${BENCH_TESTS:-swatch-1000 swatch-10000 sidecars}); FAILOVERS=0; fi

n=${#SYSTEMS[@]}
for r in $(seq "$ROUNDS"); do
  for ti in "${!TESTS[@]}"; do
    t=${TESTS[$ti]}
    for k in $(seq 0 $((n-1))); do
      s=${SYSTEMS[$(( (ti + r + k) % n ))]}   # rotate which system goes first
      a=$(shape "$s" "$t"); [ -z "$a" ] && continue
      # shellcheck disable=SC2086
      # 1,000 ZooKeeper sessions take a while to open and close (each a replicated write on Mesh)
      limit=120; [ "$t" = watch-1000 ] && limit=300; [ $SCALE = 1 ] && limit=420
      "$HERE/measure.sh" "$s r$r $t" timeout $limit "$HERE/client.sh" "$s" $a || echo "   ($s $t failed)" >&2
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
      meshzk)   # the Java probe over --zk; the leader SIGKILLed 5 s in and restarted 12 s later, as for zk3
        mesh_wait; sleep 2
        MESH_PIDDIR=$PIDDIR/mesh MESH_RESTART=$RUN/mesh-start.sh REG_WORK=$REG_WORK timeout 90 "$HERE/peers/failover.sh" meshzk KILL | tee -a "$RESULTS";;
      mesh3w)
        mesh_wait w; sleep 2
        out=$(timeout 60 dotnet "$BENCH_DLL" --endpoints $MESHW_EPS --pids "$(mesh_pids w)" failover 3 8 || true)
        echo "$out" | grep '^FAILOVER' | sed 's/^FAILOVER mesh /FAILOVER meshw /' | tee -a "$RESULTS"
        killed=$(echo "$out" | sed -n 's/^FAILOVER mesh killed=n\([0-9]\).*/\1/p')
        [ -n "$killed" ] && mesh_start "w$killed";;
      meshzkw)
        mesh_wait w; sleep 2
        MESH_ZK=$MESHW_ZK MESH_EPS=$MESHW_EPS MESH_PIDDIR=$PIDDIR/meshw MESH_RESTART=$RUN/meshw-start.sh REG_WORK=$REG_WORK \
          timeout 90 "$HERE/peers/failover.sh" meshzk KILL | sed 's/^FAILOVER meshzk /FAILOVER meshzkw /' | tee -a "$RESULTS";;
    esac
  done
done

json=${JSON_OUT:-$ROOT/tests/bench/results/registry-$([ $SCALE = 1 ] && echo scale-)$(date +%F).json}
python3 "$HERE/summarize.py" "$RESULTS" --json "$json"
echo "results: $RESULTS ; JSON: $json"
