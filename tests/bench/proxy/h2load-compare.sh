#!/usr/bin/env bash
# h2load-compare.sh - interleaved h2load comparison of HTTP/2 (h2c) targets: clients that send
# many streams on few connections, which wrk (HTTP/1.1) cannot.
#
# Usage: h2load-compare.sh [-n ROUNDS] [-d SECS] [-c CONNS] [-m STREAMS] [-H HOST] [-P NAME=PIDS ...] NAME=URL ...
# The first target is the baseline. -P: CPU µs per request of these processes (first one also alone).
# Every h2load run is bounded by `timeout` (duration + warm-up + 15 s).
set -u
RUNS=3 DUR=10 CONNS=8 STREAMS=32 HOST="" WARM=2
declare -A PIDS
while getopts "n:d:c:m:H:P:" opt; do
  case $opt in
    n) RUNS=$OPTARG ;; d) DUR=$OPTARG ;; c) CONNS=$OPTARG ;; m) STREAMS=$OPTARG ;; H) HOST=$OPTARG ;;
    P) PIDS[${OPTARG%%=*}]=${OPTARG#*=} ;; *) sed -n '2,8p' "$0"; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { sed -n '2,8p' "$0"; exit 1; }
command -v h2load >/dev/null || { echo "h2load not found (Debian: nghttp2-client)" >&2; exit 1; }
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)
cputicks() { local t=0 p f; for p in ${1//,/ }; do [ -r /proc/$p/stat ] || { echo NA; return; }
  f=$(sed 's/^.*) //' /proc/$p/stat) || { echo NA; return; }; set -- $f; t=$((t + ${12} + ${13})); done; echo $t; }
per() { awk -v a="$1" -v b="$2" -v n="$3" -v hz="$HZ" 'BEGIN{ if (a=="NA"||b=="NA"||n==0) print "NA"; else printf "%.1f", (b-a)/hz*1e6/n }'; }
median() { tr ' ' '\n' | grep -v -e '^NA$' -e '^$' | sort -g | awk '{a[NR]=$1} END{ if(NR==0){print "NA"; exit}
  if(NR%2) printf "%.1f\n", a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
NAMES=() URLS=()
for arg in "$@"; do NAMES+=("${arg%%=*}"); URLS+=("${arg#*=}"); done
NT=${#NAMES[@]}
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
HDR=(); [ -n "$HOST" ] && HDR=(-H ":authority: $HOST")
echo "# h2load: $NT targets x $RUNS runs, -c$CONNS -m$STREAMS -D${DUR}s (warm-up ${WARM}s), load: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A RPS CPU CPU1 FAIL
printf '%-4s %-14s %12s %10s %11s %9s\n' run target rps failed cpu_us/req cpu1_us
FAILED=0
for ((r = 1; r <= RUNS; r++)); do
  order=$(seq 0 $((NT - 1))); [ $((r % 2)) -eq 0 ] && order=$(seq $((NT - 1)) -1 0)
  for i in $order; do
    n=${NAMES[$i]}; f="$OUT/$r-$n.txt"; c0=NA; p0=NA
    [ -n "${PIDS[$n]:-}" ] && { c0=$(cputicks "${PIDS[$n]}"); p0=$(cputicks "${PIDS[$n]%%,*}"); }
    timeout -k 5 $((DUR + WARM + 15)) h2load -c "$CONNS" -m "$STREAMS" -D "$DUR" --warm-up-time "$WARM" "${HDR[@]}" "${URLS[$i]}" > "$f" 2>&1 || FAILED=1
    c1=NA; p1=NA
    [ -n "${PIDS[$n]:-}" ] && { c1=$(cputicks "${PIDS[$n]}"); p1=$(cputicks "${PIDS[$n]%%,*}"); }
    # "finished in 10.00s, 12345.60 req/s, ..." and "requests: N total, N started, N done, N succeeded, N failed, ..."
    read -r rps done failed < <(awk '/^finished in/{gsub(",","",$4); r=$4} /^requests:/{d=$8; fl=$10} END{print (r==""?"NA":r), (d==""?0:d), (fl==""?"NA":fl)}' "$f")
    [ "$rps" = NA ] || [ "$failed" != 0 ] && FAILED=1
    # CPU is counted over warm-up and measurement, so per request over what both sent.
    total=$(awk -v r="$rps" -v d="$DUR" -v w="$WARM" 'BEGIN{ if (r=="NA") print 0; else printf "%d", r * (d + w) }')
    cpu=$(per "$c0" "$c1" "$total"); cpu1=$(per "$p0" "$p1" "$total")
    RPS[$n]+="$rps "; CPU[$n]+="$cpu "; CPU1[$n]+="$cpu1 "; FAIL[$n]=$(( ${FAIL[$n]:-0} + ${failed/NA/1} ))
    printf '%-4s %-14s %12s %10s %11s %9s\n' "$r" "$n" "$rps" "$failed" "$cpu" "$cpu1"
    sleep 1
  done
done
echo
printf '%-14s %11s %9s %10s %9s %7s\n' target med_rps rps_ratio cpu_us/rq cpu1_us failed
b=$(echo ${RPS[${NAMES[0]}]} | median)
for n in "${NAMES[@]}"; do
  m=$(echo ${RPS[$n]} | median)
  ratio=$(awk -v m="$m" -v b="$b" 'BEGIN{ if (m=="NA"||b=="NA"||b==0) print "NA"; else printf "%.3f", m/b }')
  printf '%-14s %11s %9s %10s %9s %7s\n' "$n" "$m" "$ratio" "$(echo ${CPU[$n]} | median)" "$(echo ${CPU1[$n]} | median)" "${FAIL[$n]}"
done
echo "# finished $(date -u +%FT%TZ), load: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $((FAILED ? 2 : 0))
