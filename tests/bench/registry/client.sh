#!/usr/bin/env bash
# usage: client.sh mesh3|meshzk|mesh3w|meshzkw|etcd3|zk3 <mode> args...   -- runs that system's load client (used by run.sh)
# (mesh3w/meshzkw: the second Mesh cluster, on --raft-log $MESHW_LOG from $MESHW_DLL, at MESHW_EPS / MESHW_ZK, pids in $PIDDIR/meshw)
# MESH_CLIENT_ENV / MESHW_CLIENT_ENV (env): "VAR=VALUE ..." for the .NET load client of mesh3 / mesh3w.
# shellcheck disable=SC2086
# needs BENCH_DLL, MESH_EPS, MESH_ZK, PIDDIR (Mesh pid files in $PIDDIR/mesh) and REG_WORK in the environment.
# meshzk is Mesh's --zk ports driven by zk3's client (peers/zkbench, the official Java client), unchanged.
s=$1; shift
case $s in
  mesh3) exec env ${MESH_CLIENT_ENV:-} dotnet "$BENCH_DLL" --endpoints "$MESH_EPS" \
           --pids "1=$(cat "$PIDDIR/mesh/n1.pid"),2=$(cat "$PIDDIR/mesh/n2.pid"),3=$(cat "$PIDDIR/mesh/n3.pid")" "$@";;
  etcd3) ETCD_PIDS="1=$(cat "$REG_WORK/etcd/e1.pid"),2=$(cat "$REG_WORK/etcd/e2.pid"),3=$(cat "$REG_WORK/etcd/e3.pid")" \
         exec "$REG_WORK"/etcdbench/run.sh http://127.0.0.1:2379,http://127.0.0.1:22379,http://127.0.0.1:32379 "$@";;
  zk3)   exec "$REG_WORK"/zkbench/run.sh 127.0.0.1:2181,127.0.0.1:2182,127.0.0.1:2183 "$@";;
  meshzk) exec "$REG_WORK"/zkbench/run.sh "$MESH_ZK" "$@";;
  mesh3w) exec env ${MESHW_CLIENT_ENV:-} dotnet "$BENCH_DLL" --endpoints "$MESHW_EPS" \
           --pids "1=$(cat "$PIDDIR/meshw/n1.pid"),2=$(cat "$PIDDIR/meshw/n2.pid"),3=$(cat "$PIDDIR/meshw/n3.pid")" "$@";;
  meshzkw) exec "$REG_WORK"/zkbench/run.sh "$MESHW_ZK" "$@";;
  *) echo "unknown system $s" >&2; exit 2;;
esac
