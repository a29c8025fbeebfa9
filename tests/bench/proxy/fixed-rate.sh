#!/usr/bin/env bash
# fixed-rate.sh [-n ROUNDS] [-d SECONDS] [-r RPS] [-c WORKERS] [-H HOST] NAME=URL [NAME=URL ...]
#
# Latency at a fixed request rate, the figure wrk cannot give (it always runs flat out): hey sends
# RPS requests per second in total from WORKERS keep-alive connections (RPS/WORKERS each) to every
# target in turn, interleaved, the order reversed every other round, each run bounded by
# `timeout`. The first target is the baseline. Prints one line per run, then per target the median
# p50/p99/p99.9 and the added p50/p99 vs the baseline, and last a line "FIXEDRATE {json}".
# Defaults: 3 rounds of 10 s at 1,000 rps from 8 workers.
# hey paces each worker on a ticker and waits for each answer, so a stall longer than the tick
# delays that worker's next requests (coordinated omission): at 1k rps and sub-millisecond answers
# that is rare, and every run's achieved rate is printed so a short run shows.
set -u
ROUNDS=3 DUR=10 RATE=1000 WORKERS=8 HOST=""
while getopts "n:d:r:c:H:h" opt; do
  case $opt in
    n) ROUNDS=$OPTARG ;; d) DUR=$OPTARG ;; r) RATE=$OPTARG ;; c) WORKERS=$OPTARG ;; H) HOST=$OPTARG ;;
    *) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 1 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 1; }
command -v hey >/dev/null || { echo "fixed-rate.sh: hey is not installed (Debian package 'hey')" >&2; exit 1; }
NAMES=() URLS=()
for t in "$@"; do NAMES+=("${t%%=*}"); URLS+=("${t#*=}"); done
PER=$(( (RATE + WORKERS - 1) / WORKERS ))
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
HOSTARG=(); [ -n "$HOST" ] && HOSTARG=(-host "$HOST")

# hey's summary: "Requests/sec: N", latency lines "  99% in 0.0012 secs", and status codes.
parse() { # file -> "rps p50 p99 failures" (ms); failures = non-200 answers + transport errors
  awk '/Requests\/sec:/ { rps = $2 }
       /^ +50% in/ { p50 = $3 * 1000 } /^ +99% in/ { p99 = $3 * 1000 }
       /^Status code distribution/ { sec = "status"; next } /^Error distribution/ { sec = "errors"; next }
       sec != "" && /^ +\[[0-9]+\]/ { n = $1; gsub(/[^0-9]/, "", n)
         if (sec == "status") { if (n != "200") bad += $2 } else bad += n }
       END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad + 0 }' "$1"
}

printf '%-4s %-14s %9s %9s %9s %7s\n' run target rps p50_ms p99_ms failed
for r in $(seq 1 "$ROUNDS"); do
  order=$(seq 0 $((${#NAMES[@]} - 1))); [ $((r % 2)) = 0 ] && order=$(echo "$order" | tac)
  for i in $order; do
    f="$OUT/${NAMES[$i]}.$r"
    timeout $((DUR + 20)) hey -z "${DUR}s" -c "$WORKERS" -q "$PER" "${HOSTARG[@]}" "${URLS[$i]}" > "$f" 2>&1
    read -r rps p50 p99 bad < <(parse "$f")
    printf '%-4s %-14s %9s %9s %9s %7s\n' "$r" "${NAMES[$i]}" "$rps" "$p50" "$p99" "$bad"
    echo "$rps $p50 $p99 $bad" >> "$OUT/${NAMES[$i]}.all"
    sleep 1
  done
done

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "NA"; else if (NR % 2) printf "%.3f\n", a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2] + a[NR/2+1]) / 2 }'; }
echo
printf '%-14s %9s %9s %9s %10s %10s %7s\n' target med_rps med_p50 med_p99 added_p50 added_p99 failed
json="" b50="" b99=""
for i in "${!NAMES[@]}"; do
  n=${NAMES[$i]} a="$OUT/$n.all"
  rps=$(cut -d' ' -f1 "$a" | median); p50=$(cut -d' ' -f2 "$a" | median); p99=$(cut -d' ' -f3 "$a" | median)
  bad=$(awk '{ s += $4 } END { print s + 0 }' "$a")
  [ "$i" = 0 ] && { b50=$p50; b99=$p99; }
  d50=$(awk -v a="$p50" -v b="$b50" 'BEGIN { printf "%+.3f", a - b }')
  d99=$(awk -v a="$p99" -v b="$b99" 'BEGIN { printf "%+.3f", a - b }')
  printf '%-14s %9s %9s %9s %10s %10s %7s\n' "$n" "$rps" "$p50" "$p99" "$d50" "$d99" "$bad"
  json+="${json:+, }{\"target\": \"$n\", \"medianRps\": $rps, \"p50Ms\": $p50, \"p99Ms\": $p99, \"addedP50Ms\": ${d50#+}, \"addedP99Ms\": ${d99#+}, \"failed\": $bad}"
done
echo "FIXEDRATE {\"rate\": $RATE, \"workers\": $WORKERS, \"rounds\": $ROUNDS, \"seconds\": $DUR, \"targets\": [$json]}"
