#!/usr/bin/env bash
# usage: zk-seq-ab.sh DLL_A DLL_B [ROUNDS] [N] -- two builds of mesh.dll side by side, each as a 3-node
# cluster on 127.0.0.1 (ports 20001.. and 22001..); N sequential creates over ZooKeeper (the bench's Java
# client, peers/zkbench, built by run.sh --peers into /tmp/mesh-regbench-peers) to each cluster's leader
# and to one follower, ROUNDS rounds, the clusters' order alternating. MESH_ENV="VAR=VALUE ..." for both.
A=$1; B=$2; ROUNDS=${3:-3}; N=${4:-1000}
RUN=$(mktemp -d /tmp/zkab.XXXX); pids=()
trap 'kill ${pids[@]} 2>/dev/null; wait 2>/dev/null; rm -rf $RUN' EXIT
start() { # start PB DLL
  local pb=$1 dll=$2 peers="1=127.0.0.1:$(($1+101)),2=127.0.0.1:$(($1+102)),3=127.0.0.1:$(($1+103))"
  for i in 1 2 3; do
    env ${MESH_ENV:-} dotnet "$dll" registry --id $i --peers "$peers" --data "$RUN/$pb-n$i" --client "127.0.0.1:$((pb+i))" \
      --zk "127.0.0.1:$((pb+200+i))" --zk-open > "$RUN/$pb-n$i.log" 2>&1 < /dev/null &
    pids+=($!)
  done
}
leader_of() { for i in 1 2 3; do curl -s 127.0.0.1:$(($1+i))/v1/status; echo; done | python3 -c "
import json,sys
for l in sys.stdin:
  l=l.strip()
  if l:
    d=json.loads(l)
    if d.get('leader'): print(d['leader']); break"; }
start 20000 "$A"; start 22000 "$B"
for pb in 20000 22000; do for k in $(seq 300); do ok=0; for i in 1 2 3; do curl -sf -m 1 127.0.0.1:$((pb+i))/readyz >/dev/null && ok=$((ok+1)); done; [ $ok = 3 ] && break; sleep 0.1; done; done
la=$(leader_of 20000); lb=$(leader_of 22000)
echo "A=$A leader $la; B=$B leader $lb; $(uptime)"
for r in $(seq $ROUNDS); do
  order="A B"; [ $((r % 2)) = 0 ] && order="B A"
  for who in $order; do
    pb=20000; l=$la; [ $who = B ] && { pb=22000; l=$lb; }
    f=$(( l % 3 + 1 ))
    for node in leader:$l follower:$f; do
      echo -n "$who ${node%%:*} r$r: "; REG_WORK=${REG_WORK:-/tmp/mesh-regbench-peers} timeout 120 ${REG_WORK:-/tmp/mesh-regbench-peers}/zkbench/run.sh 127.0.0.1:$((pb+200+${node#*:})) seq $N 2>&1 | tail -1
    done
  done
done
echo "$(uptime)"
