#!/usr/bin/env bash
# fixed-rate.sh [-n ROUNDS] [-d SECONDS] [-r RPS] [-c WORKERS] [-H HOST] NAME=URL [NAME=URL ...]
#
# Latency at a fixed request rate, the figure wrk cannot give (it always runs flat out): hey sends
# RPS requests per second in total from WORKERS keep-alive connections (RPS/WORKERS each) to every
# target in turn, interleaved, the order reversed every other round, each run bounded by
# `timeout`. The first target is the baseline. Prints one line per run, then per target p50, p99
# and p99.9 over all its answers in every round, and the added p50/p99 vs the baseline, and last
# a line "FIXEDRATE {json}".
# Defaults: 3 rounds of 10 s at 1,000 rps from 8 workers. Exit status 2 if a target answered
# anything but 200 or served under half the rate.
# hey paces each worker on a ticker and waits for each answer, so a stall longer than the tick
# delays that worker's next requests (coordinated omission): at 1k rps and sub-millisecond answers
# that is rare, and every run's achieved rate is printed so a short run shows. Latencies have hey's
# resolution, 0.1 ms.
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

# hey -o csv: one line per answered request, "response-time(s),...,status-code,offset".
# Transport errors get no line: they show as a rate below the one asked for.
stats() { # csv files... -> "requests failed p50 p99 p999" (ms), over all their answers
  awk -F, 'FNR > 1 && NF >= 7 { n++; if ($7 != "200") bad++; print $1 * 1000 > "/dev/stdout" }
           END { print n + 0, bad + 0 > "/dev/stderr" }' "$@" 2> "$OUT/.counts" | sort -g > "$OUT/.sorted"
  read -r n bad < "$OUT/.counts"
  awk -v n="$n" -v bad="$bad" 'function at(q) { i = int(q * n + 0.999999); if (i < 1) i = 1; return a[i] }
    { a[NR] = $1 } END { printf "%d %d %.3f %.3f %.3f\n", n, bad, at(0.50), at(0.99), at(0.999) }' "$OUT/.sorted"
}

printf '%-4s %-14s %9s %9s %9s %7s\n' run target rps p50_ms p99_ms failed
for r in $(seq 1 "$ROUNDS"); do
  order=$(seq 0 $((${#NAMES[@]} - 1))); [ $((r % 2)) = 0 ] && order=$(echo "$order" | tac)
  for i in $order; do
    f="$OUT/${NAMES[$i]}.$r.csv"
    timeout $((DUR + 20)) hey -z "${DUR}s" -c "$WORKERS" -q "$PER" -o csv "${HOSTARG[@]}" "${URLS[$i]}" > "$f" 2>/dev/null
    read -r n bad p50 p99 _ < <(stats "$f")
    printf '%-4s %-14s %9.0f %9s %9s %7s\n' "$r" "${NAMES[$i]}" "$(awk -v n="$n" -v d="$DUR" 'BEGIN { print n / d }')" "$p50" "$p99" "$bad"
    sleep 1
  done
done

# Percentiles over every answer of all rounds together: one stall in one round moves a p99 of
# 8,000 answers a lot, and pooling weighs each round by what it really served.
echo
printf '%-14s %9s %9s %9s %9s %10s %10s %7s\n' target rps p50_ms p99_ms p999_ms added_p50 added_p99 failed
json="" b50="" b99="" status=0
for i in "${!NAMES[@]}"; do
  n=${NAMES[$i]}
  read -r count bad p50 p99 p999 < <(stats "$OUT/$n".*.csv)
  rps=$(awk -v n="$count" -v d="$DUR" -v r="$ROUNDS" 'BEGIN { printf "%.0f", n / d / r }')
  [ "$i" = 0 ] && { b50=$p50; b99=$p99; }
  # Under half the asked rate, or any non-200 answer: the target failed, not just slowed.
  [ "$bad" -gt 0 ] || [ $((rps * 2)) -lt "$RATE" ] && status=2
  d50=$(awk -v a="$p50" -v b="$b50" 'BEGIN { printf "%+.3f", a - b }')
  d99=$(awk -v a="$p99" -v b="$b99" 'BEGIN { printf "%+.3f", a - b }')
  printf '%-14s %9s %9s %9s %9s %10s %10s %7s\n' "$n" "$rps" "$p50" "$p99" "$p999" "$d50" "$d99" "$bad"
  json+="${json:+, }{\"target\": \"$n\", \"rps\": $rps, \"p50Ms\": $p50, \"p99Ms\": $p99, \"p999Ms\": $p999, \"addedP50Ms\": ${d50#+}, \"addedP99Ms\": ${d99#+}, \"failed\": $bad}"
done
echo "FIXEDRATE {\"rate\": $RATE, \"workers\": $WORKERS, \"rounds\": $ROUNDS, \"seconds\": $DUR, \"targets\": [$json]}"
exit $status
