#!/usr/bin/env bash
# usage: measure.sh <label> <command...>
# Waits (at most $QUIET_WAIT s, default 20) until processes other than the servers listed in the
# $PIDDIR/*.pid files use less than $QUIET_PCT% (default 15) of the machine, runs the command and
# appends one line to $RESULTS: label | RESULT/EXTRA/errors lines | wall, server, client and
# foreign CPU seconds. summarize.py reads that file. Derived from shared/bench/registry/measure.sh.
set -u
label=$1; shift
: "${RESULTS:?}" "${PIDDIR:?}"
ncpu=$(nproc)
mypids() { cat "$PIDDIR"/*.pid "$PIDDIR"/*/*.pid 2>/dev/null; }
srvcpu() { local s=0 p; for p in $(mypids); do [ -r /proc/$p/stat ] && s=$((s + $(sed 's/.*) //' /proc/$p/stat | awk '{print $12+$13}'))); done; echo $s; }
busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }
w=0
while :; do
  b0=$(busy); s0=$(srvcpu); sleep 1; b1=$(busy); s1=$(srvcpu)
  f=$(( ( (b1-b0) - (s1-s0) ) / ncpu ))   # percent of the machine over 1 s (100 ticks/s)
  [ "$f" -lt "${QUIET_PCT:-15}" ] && break
  w=$((w+1)); [ $w -ge "${QUIET_WAIT:-20}" ] && { echo "(gave up waiting for quiet; foreign=${f}%)" >&2; break; }
done
b0=$(busy); s0=$(srvcpu)
out=$(/usr/bin/time -f "TIME %e %U %S" "$@" 2>&1)
b1=$(busy); s1=$(srvcpu)
ct=$(echo "$out" | awk '/^TIME/{print $3+$4}'); wall=$(echo "$out" | awk '/^TIME/{print $2}')
tot=$(echo "($b1-$b0)/100" | bc -l); srv=$(echo "($s1-$s0)/100" | bc -l); frn=$(echo "$tot-$srv-${ct:-0}" | bc -l)
res=$(echo "$out" | grep -E '^RESULT|^EXTRA|^errors|^error codes' | tr '\n' ' ')
line=$(printf "%s | %s | wall=%.1fs server_cpu=%.1fs client_cpu=%.1fs foreign_cpu=%.1fs cores=%d (pre-wait %ss)" \
  "$label" "$res" "${wall:-0}" "$srv" "${ct:-0}" "$frn" "$ncpu" "$w")
echo "$line" | tee -a "$RESULTS"
echo "$out" | grep -E '^FAILOVER' >> "$RESULTS"
echo "$out" | grep -vE '^RESULT|^EXTRA|^errors|^error codes|^TIME|^FAILOVER' | tail -5 >&2
