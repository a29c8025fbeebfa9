#!/usr/bin/env bash
# tests/bench/proxy/native-rss.sh [-n ROUNDS] [-d SECONDS] [-c CONNECTIONS] [--tls] [--map] [--cpu] LABEL=BINARY[,VAR=VALUE...] ...
#
# Resident memory of native sidecars under load, builds or settings side by side: for each round,
# each LABEL in turn starts BINARY (with the environment variables given after it, and always
# DOTNET_GCgen0size=400000 as the mesh image sets it) as one sidecar in front of the 100-byte
# upstream (:5001, HTTP/1.1, as run.sh's aot-one), loads it with wrk for SECONDS, and reads
# /proc/PID/status: VmRSS after start (idle) and after load, split into RssAnon (heap, stacks) and
# RssFile (the binary's mapped pages); also the sidecar's CPU µs per request and the GC's LOH size.
# --tls: an mTLS pair instead (a one-node registry from the built mesh CLI as CA; app → A outbound
# → B inbound over mTLS/HTTP/2 → upstream, as run.sh's aot-tls-a/-b), RSS of A and B.
# --map: after each run, where the memory is (rss-map.py). --cpu: instead, start every target at
# once and compare CPU µs per request with wrk-compare.sh (-P), direct calls as the baseline.
# Prints one line per run and the median per label. Listeners bind port 0; the addresses are read
# from the sidecar's "listening:" line. Starts the upstream (peers.sh, in $PEERS_WORK, default
# /tmp/native-rss-peers) only if :5001 is silent, and stops it at exit.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
ROUNDS=3 DUR=8 CONNS=32 TLS=0 CPU=0 MAP=0 TARGETS=()
while [ $# -gt 0 ]; do
  case $1 in
    -n) ROUNDS=$2; shift 2 ;; -d) DUR=$2; shift 2 ;; -c) CONNS=$2; shift 2 ;;
    --tls) TLS=1; shift ;;
    --cpu) CPU=1; shift ;;
    --map) MAP=1; shift ;;
    *=*) TARGETS+=("$1"); shift ;;
    *) sed -n "2,18p" "$0"; exit 1 ;;
  esac
done
[ ${#TARGETS[@]} -gt 0 ] || { sed -n "2,18p" "$0"; exit 1; }
W=$(mktemp -d /tmp/native-rss.XXXXXX)
PIDS=() STARTED_PEERS=0
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do timeout 30 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  [ $STARTED_PEERS = 1 ] && "$HERE/peers.sh" stop >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
if ! curl -sf -o /dev/null --max-time 2 http://127.0.0.1:5001/; then
  # Its own work folder (kept: the peers' build is reused), stopped again at exit.
  export PEERS_WORK=${PEERS_WORK:-/tmp/native-rss-peers}
  "$HERE/peers.sh" start; STARTED_PEERS=1
fi

kb() { awk -v k="$1:" '$1 == k { printf "%.1f\n", $2 / 1024 }' "/proc/$2/status"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# wait_listening LOG: the "listening:" line's outbound, inbound and admin URLs
wait_listening() {
  for _ in $(seq 1 300); do
    if line=$(grep -m1 'listening:' "$1" 2>/dev/null); then
      echo "$line" | sed -E 's/.*outbound ([^ ]+) inbound ([^ ]+) admin ([^ ]+).*/\1 \2 \3/'; return 0
    fi
    sleep 0.1
  done
  echo "no listening line in $1:" >&2; cat "$1" >&2; return 1
}
write_config() { # file name upstream-service extra-yaml
  cat > "$1" <<YAML
service: { name: $2, namespace: bench }
app: { address: "http://127.0.0.1:5001", healthPath: / }
listeners:
  outbound: 127.0.0.1:0
  inbound: { address: "127.0.0.1:0", protocols: ${5:-h2c} }
  admin: 127.0.0.1:0
upstream: { protocol: http1 }
routes:
  - { name: all, service: $3, retries: { attempts: 1 } }
  - { name: retry, service: $3, match: { pathPrefix: /never }, retries: { attempts: 3, retryOn: [503] } }
$4
YAML
}
# start LABEL-BINARY-SPEC CONFIG LOG: starts the binary with its environment; prints the pid
start() {
  local spec=$1 binary env=()
  IFS=, read -r -a parts <<< "$spec"; binary=${parts[0]}; env=("${parts[@]:1}")
  env DOTNET_GCgen0size=400000 "${env[@]}" "$binary" --config "$2" > "$3" 2>&1 &
  echo $!
}

if [ $TLS = 1 ]; then
  TOKEN=native-rss-join-token-0123456789
  dotnet "$ROOT/artifacts/bin/Mesh.Cli/release/mesh.dll" registry --id 1 --data "$W/registry" --client 127.0.0.1:0 \
    --join-token "bench=$TOKEN" > "$W/registry.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 300); do REG=$(grep -m1 -oE 'http://127\.0\.0\.1:[0-9]+' "$W/registry.log" 2>/dev/null || true); [ -n "$REG" ] && break; sleep 0.1; done
  [ -n "$REG" ] || { echo "registry did not start:"; cat "$W/registry.log"; exit 1; }
  for _ in $(seq 1 100); do curl -sf -o /dev/null "$REG/readyz" && break; sleep 0.2; done
fi

# start_target LABEL SPEC TAG: starts the sidecar (or the pair) of LABEL; sets url, admin, load_pids
start_target() {
  local label=$1 spec=$2 tag=$3 pid pb b tlsyaml
  if [ $TLS = 0 ]; then
    write_config "$W/$label.yaml" "rss-$label" upstream "endpoints: { upstream: [ { id: up-1, address: 127.0.0.1, port: 5001 } ] }"
    pid=$(start "$spec" "$W/$label.yaml" "$W/$label.log"); PIDS+=("$pid")
    read -r url _ admin < <(wait_listening "$W/$label.log")
    load_pids=("$pid") admins=("$admin")
  else
    # B registers in the registry under a name of its own, so A finds only the live B.
    b="rss-$label-b$tag" tlsyaml="registry: { addresses: [$REG] }
tls: { mode: strict, joinToken: $TOKEN }"
    write_config "$W/$label-b.yaml" "$b" upstream "$tlsyaml
endpoints: { upstream: [ { id: up-1, address: 127.0.0.1, port: 5001 } ] }" http1AndHttp2
    write_config "$W/$label-a.yaml" "rss-$label-a$tag" "$b" "$tlsyaml" http1AndHttp2
    pb=$(start "$spec" "$W/$label-b.yaml" "$W/$label-b.log"); PIDS+=("$pb")
    read -r _ _ admin_b < <(wait_listening "$W/$label-b.log")
    pid=$(start "$spec" "$W/$label-a.yaml" "$W/$label-a.log"); PIDS+=("$pid")
    read -r url _ admin < <(wait_listening "$W/$label-a.log")
    load_pids=("$pid" "$pb") admins=("$admin" "$admin_b")
  fi
  for _ in $(seq 1 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$url")" = 200 ] && break; sleep 0.2; done
}
rss_line() { # the RSS fields of load_pids (a= and b= prefixes for a pair)
  local i p who line=""
  for i in "${!load_pids[@]}"; do
    p=${load_pids[$i]} who=$([ $TLS = 0 ] && echo "" || { [ $i = 0 ] && echo a || echo b; })
    line+=" ${who}rss=$(kb VmRSS "$p") ${who}anon=$(kb RssAnon "$p") ${who}file=$(kb RssFile "$p")"
  done
  echo "$line"
}

echo "# $(date -u +%FT%TZ) rounds=$ROUNDS duration=${DUR}s connections=$CONNS tls=$TLS cpu=$CPU; uptime: $(uptime)"
if [ $CPU = 1 ]; then
  # All targets at once, measured by wrk-compare.sh in turns (direct calls first, the baseline).
  compare=(direct=http://127.0.0.1:5001/) procs=() all=()
  for target in "${TARGETS[@]}"; do
    label=${target%%=*}
    start_target "$label" "${target#*=}" cpu
    compare+=("$label=$url"); procs+=(-P "$label=$(IFS=,; echo "${load_pids[*]}")"); all+=("$label:${load_pids[*]}")
  done
  "$HERE/wrk-compare.sh" -n "$ROUNDS" -d "$DUR" -c "$CONNS" "${procs[@]}" "${compare[@]}"
  for entry in "${all[@]}"; do
    read -r -a load_pids <<< "${entry#*:}"
    echo "${entry%%:*} after all rounds:$(rss_line)"
  done
  echo "# uptime: $(uptime)"
  exit 0
fi
RESULTS=$W/results
for round in $(seq 1 "$ROUNDS"); do
  for target in "${TARGETS[@]}"; do
    label=${target%%=*} spec=${target#*=}
    start_target "$label" "$spec" "$round"
    idle=(); for p in "${load_pids[@]}"; do idle+=("$(kb VmRSS "$p")"); done
    t0=(); for p in "${load_pids[@]}"; do t0+=("$(ticks "$p")"); done
    requests=$(wrk -t1 -c"$CONNS" -d"${DUR}s" "$url" | awk '/requests in/ { print $1 }')
    line="$label round=$round rps=$((requests / DUR))"
    for i in "${!load_pids[@]}"; do
      p=${load_pids[$i]} who=$([ $i = 0 ] && echo a || echo b)
      cpu=$(( ($(ticks "$p") - ${t0[$i]}) * 10000 / (requests > 0 ? requests : 1) ))
      [ $TLS = 0 ] && who=""
      line+=" ${who}idle=${idle[$i]} ${who}rss=$(kb VmRSS "$p") ${who}anon=$(kb RssAnon "$p") ${who}file=$(kb RssFile "$p") ${who}cpu_us=$cpu ${who}threads=$(awk '$1 == "Threads:" { print $2 }' "/proc/$p/status")"
    done
    loh=$(curl -s "${admin}metrics" | awk '/dotnet_gc_last_collection_heap_size_bytes.*loh/ { printf "%.1f", $2 / 1048576 }')
    echo "$line loh=${loh:-?}" | tee -a "$RESULTS"
    if [ $MAP = 1 ]; then
      python3 "$HERE/rss-map.py" "${load_pids[@]}"
      for a in "${admins[@]}"; do # the GC's view: heap by generation after the last collection, committed
        curl -s "${a}metrics" | awk '/^dotnet_gc_(last_collection_heap_size|last_collection_memory_committed_size)_bytes/ {
          sub(/,?otel_scope_name="[^"]*"/, ""); printf "  %s %.1f MB\n", $1, $2 / 1048576 }'
      done
    fi
    for p in "${load_pids[@]}"; do kill "$p"; done
    for p in "${load_pids[@]}"; do timeout 30 tail --pid="$p" -f /dev/null 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
  done
done
echo "# medians; uptime: $(uptime)"
for target in "${TARGETS[@]}"; do
  label=${target%%=*} line=$label
  for key in $(awk -v l="$label" '$1 == l { for (i = 3; i <= NF; i++) { sub(/=.*/, "", $i); print $i } exit }' "$RESULTS"); do
    line+=" $key=$(awk -v l="$label" -v k="$key" '$1 == l { for (i = 3; i <= NF; i++) if (index($i, k "=") == 1) print substr($i, length(k) + 2) }' "$RESULTS" \
      | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')"
  done
  echo "$line"
done
