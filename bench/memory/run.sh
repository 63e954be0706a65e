#!/usr/bin/env bash
# The memory budget through a real server (release build): CONCURRENT default
# experiments (all nine stages, 15m/1h/4h, SYMBOLS × DAYS of 1m bars) posted at
# once to `signalforge serve --memory-budget-mb BUDGET_MB`, RUNS experiments in
# all, CONCURRENT at a time. Prints the server's start-up RSS, its peak RSS
# (VmHWM) against the budget (target <= budget + 96 MB), the admission waits
# and memory events (with the stages that shrank or streamed), and its idle RSS once the runs are over (target: within
# 64 MB of start-up).
#
# Usage: bash bench/memory/run.sh
#   env: BUDGET_MB (256), CONCURRENT (3), RUNS (3; 20 for the idle figure of
#        issue 15), DAYS (365), SYMBOLS (EURUSD,GBPUSD,USDJPY),
#        SCRATCH (.build-st: the SwiftPM scratch path), SIGNALFORGE_CACHE (off:
#        the runs are identical, so with the stage cache on all but the first
#        would be restored rather than computed)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/deploy/lib/postgres.sh"

budget="${BUDGET_MB:-256}"
concurrent="${CONCURRENT:-3}"
runs="${RUNS:-3}"
days="${DAYS:-365}"
symbols="${SYMBOLS:-EURUSD,GBPUSD,USDJPY}"
scratch="${SCRATCH:-$root/.build-st}"
export SIGNALFORGE_CACHE="${SIGNALFORGE_CACHE:-off}"

swift build -c release --package-path "$root" --scratch-path "$scratch" --product signalforge >&2
bin="$scratch/release/signalforge"

work="$(mktemp -d /tmp/sf-memory-bench.XXXXXX)"
chmod 755 "$work"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    sf_pg_stop "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT

sf_pg_start_any "$work/pg"
"$bin" sample-data --out "$work/data/samples" --symbols "$symbols" --timeframe 1m --days "$days" --seed 42 >/dev/null

port=$(sf_free_port)
"$bin" serve --port "$port" --data-dir "$work/data" --log-level warning --memory-budget-mb "$budget" \
    --max-running "$concurrent" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    sleep 0.05
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }
sleep 1
field() { awk -v f="$1:" '$1 == f { print int($2 / 1024) }' "/proc/$server/status"; }
startup=$(field VmRSS)

body=$(jq -n --argjson symbols "$(printf '%s' "$symbols" | jq -R 'split(",")')" \
    '{name: "memory-bench", datasets: [$symbols[] | {symbol: ., path: "samples/\(.)_1m.csv"}], timeframes: ["15m", "1h", "4h"]}')
ids=()
for _ in $(seq 1 "$runs"); do
    ids+=("$(curl -fs -X POST -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/v1/experiments" | jq -r .id)")
done
t0=$(date +%s.%N)
failed=0
for id in "${ids[@]}"; do
    while :; do
        s=$(curl -fs "http://127.0.0.1:$port/v1/experiments/$id" | jq -r .status)
        case "$s" in succeeded) break ;; failed | cancelled) failed=$((failed + 1)); break ;; esac
        sleep 0.5
    done
done
t1=$(date +%s.%N)
peak=$(field VmHWM)
waits=0; warnings=0; criticals=0; streaming=0; streamed=""
for id in "${ids[@]}"; do
    items=$(curl -fs "http://127.0.0.1:$port/v1/experiments/$id/events?limit=1000")
    kinds=$(jq -r '.items[].kind' <<<"$items")
    waits=$((waits + $(grep -c '^admission_wait$' <<<"$kinds" || true)))
    warnings=$((warnings + $(grep -c '^memory_warning$' <<<"$kinds" || true)))
    criticals=$((criticals + $(grep -c '^memory_critical$' <<<"$kinds" || true)))
    streaming=$((streaming + $(grep -c '^memory_streaming$' <<<"$kinds" || true)))
    streamed+=$(jq -r '.items[] | select(.kind == "memory_streaming") | "\(.details.stage):\(.details.reaction) "' <<<"$items")
done
# Idle: the server trims when a run ends and once more 2 s later.
sleep 4
idle=$(field VmRSS)
echo "experiments: $runs ($concurrent at a time), $((runs - failed)) succeeded, $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
echo "events: admission_wait $waits, memory_warning $warnings, memory_critical $criticals, memory_streaming $streaming"
echo "stages that reacted (stage:reaction, count): $(tr ' ' '\n' <<<"$streamed" | sed '/^$/d' | sort | uniq -c | awk '{ printf "%s %s, ", $2, $1 }' | sed 's/, $//')"
echo "RSS: start-up $startup MB, peak (VmHWM) $peak MB with a $budget MB budget (target <= $((budget + 96)) MB): $([ "$peak" -le $((budget + 96)) ] && echo met || echo MISSED)"
echo "idle RSS after the runs: $idle MB, $((idle - startup)) MB over start-up (target <= 64 MB): $([ $((idle - startup)) -le 64 ] && echo met || echo MISSED)"
