#!/usr/bin/env bash
# The market-data pipeline end to end, in release: `signalforge sample-data`
# writes SYMBOLS × DAYS of 1m bars, a real `signalforge serve` (against a
# throwaway PostgreSQL) runs load → resample → merge → export over them, and
# the script prints the generation time, file sizes, the experiment's wall
# time (POST to `succeeded`) and each stage's duration. Target: < 10 s.
#
# Usage: bash bench/pipeline/run.sh
#   env: DAYS (365), SYMBOLS (EURUSD,GBPUSD,USDJPY), TIMEFRAMES (15m,1h,4h),
#        FORMATS (csv,parquet), STAGES (load,resample,merge,export; the
#        default experiment is STAGES=load,resample,merge,features,patterns,forecast,fusion,export,analysis
#        — or `bash bench/pipeline/full.sh`, target < 30 s), SENTIMENT (1 adds the sentiment column),
#        SCRATCH (.build-st: the SwiftPM scratch path), KEEP (1 keeps the
#        exported files: the script prints where), BUDGET_MB (the server's
#        memory budget; the script prints the server's peak RSS either way)
#
# The large-dataset check (10,000,000 1m bars under a 256 MB budget, peak
# RSS <= 320 MB) is `bash bench/pipeline/big.sh`, which calls this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/deploy/lib/postgres.sh"

days="${DAYS:-365}"
symbols="${SYMBOLS:-EURUSD,GBPUSD,USDJPY}"
timeframes="${TIMEFRAMES:-15m,1h,4h}"
formats="${FORMATS:-csv,parquet}"
stages="${STAGES:-load,resample,merge,export}"
scratch="${SCRATCH:-$root/.build-st}"

swift build -c release --package-path "$root" --scratch-path "$scratch" --product signalforge >&2
bin="$scratch/release/signalforge"

work="$(mktemp -d /tmp/sf-pipeline-bench.XXXXXX)"
chmod 755 "$work"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    sf_pg_stop "$work/pg"
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work/data" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

sf_pg_start_any "$work/pg"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

sentiment=()
[ "${SENTIMENT:-0}" = 1 ] && sentiment=(--sentiment)
t0=$(now)
"$bin" sample-data --out "$work/data/samples" --symbols "$symbols" --timeframe 1m --days "$days" --seed 42 "${sentiment[@]}"
t1=$(now)
echo "sample-data: $(elapsed "$t0" "$t1") s wall"

port=$(sf_free_port)
budget=()
[ -n "${BUDGET_MB:-}" ] && budget=(--memory-budget-mb "$BUDGET_MB")
"$bin" serve --port "$port" --data-dir "$work/data" --log-level warning "${budget[@]}" >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 200); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    sleep 0.05
done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$work/server.log" >&2; exit 1; }

json_list() { printf '%s' "$1" | jq -R 'split(",")'; }
body=$(jq -n \
    --argjson symbols "$(json_list "$symbols")" \
    --argjson timeframes "$(json_list "$timeframes")" \
    --argjson formats "$(json_list "$formats")" \
    --argjson stages "$(json_list "$stages")" \
    '{name: "pipeline-bench",
      datasets: [$symbols[] | {symbol: ., path: "samples/\(.)_1m.csv"}],
      timeframes: $timeframes,
      stages: $stages,
      config: {merge: {join: "inner", tolerance: "0s"}, export: {formats: $formats, compression: "zstd"}}}')

t0=$(now)
id=$(curl -fs -X POST -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/v1/experiments" | jq -r .id)
status=""
while :; do
    status=$(curl -fs "http://127.0.0.1:$port/v1/experiments/$id" | jq -r .status)
    case "$status" in succeeded | failed | cancelled) break ;; esac
    sleep 0.02
done
t1=$(now)
if [ "$status" != succeeded ]; then
    curl -fs "http://127.0.0.1:$port/v1/experiments/$id" | jq . >&2
    exit 1
fi
bars=$(( $(echo "$symbols" | tr ',' '\n' | wc -l) * days * 1440 ))
peak_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$server/status")
echo "server peak RSS (VmHWM from /proc/$server/status): $((peak_kb / 1024)) MB; memory budget: ${BUDGET_MB:-default (half of RAM)} MB"
echo "experiment $id: $status in $(elapsed "$t0" "$t1") s wall (POST to succeeded) over $bars 1m bars, timeframes $timeframes, stages $stages"
curl -fs "http://127.0.0.1:$port/v1/experiments/$id/events?limit=1000" \
    | jq -r '.items[] | select(.kind == "stage_completed") | "  \(.stage)\t\(.duration_ms | floor) ms"'
echo "files:"
# (A succeeded experiment keeps no checkpoints: the chart's bars are in chart/.)
(cd "$work/data/experiments/$id" && ls -l features_* chart/* 2>/dev/null | awk '{ printf "  %-32s %10d bytes\n", $9, $5 }')
