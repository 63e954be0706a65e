#!/usr/bin/env bash
# A sweep against one experiment (issue 14): a real release `signalforge serve`
# (against a throwaway PostgreSQL) over the demo data (`signalforge
# sample-data`: 3 × 525,600 1m bars with sentiment, 15m/1h/4h, every stage —
# the experiment of bench/pipeline/full.sh). Four phases, each with a fresh
# server (and a fresh stage cache):
#   1. one experiment, SIGNALFORGE_CACHE=off: wall time (POST → succeeded) and peak RSS;
#   2. the same with the cache on and empty (what storing the entries costs);
#   3. a sweep of 12 points — config.fusion.quality_threshold × config.analysis.max_holding_bars,
#      max_parallel 2 — with the cache on (empty at the start): wall time POST → every child
#      succeeded, and its ratio to phase 1 (target ≤ 2.5);
#   4. the same sweep with the cache off.
#
# Usage: bash bench/sweeps/run.sh
#   env: DAYS (365), SYMBOLS (EURUSD,GBPUSD,USDJPY), TIMEFRAMES (15m,1h,4h),
#        FORMATS (csv,parquet), THRESHOLDS (0.55,0.6,0.65,0.7), HOLDING (12,24,48),
#        MAX_PARALLEL (2), PHASES (1,2,3,4), LOG_LEVEL (the server's: warning), SIGNALFORGE_BIN (default: a release
#        build in SCRATCH), SCRATCH (.build-st), KEEP (1 keeps the work folder)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/deploy/lib/postgres.sh"

days="${DAYS:-365}"
symbols="${SYMBOLS:-EURUSD,GBPUSD,USDJPY}"
timeframes="${TIMEFRAMES:-15m,1h,4h}"
formats="${FORMATS:-csv,parquet}"
thresholds="${THRESHOLDS:-0.55,0.6,0.65,0.7}"
holding="${HOLDING:-12,24,48}"
max_parallel="${MAX_PARALLEL:-2}"
phases="${PHASES:-1,2,3,4}"
scratch="${SCRATCH:-$root/.build-st}"

for tool in curl jq; do command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }; done
if [ -n "${SIGNALFORGE_BIN:-}" ]; then
    bin="$SIGNALFORGE_BIN"
else
    swift build -c release --package-path "$root" --scratch-path "$scratch" --product signalforge >&2
    bin="$scratch/release/signalforge"
fi

work="$(mktemp -d /tmp/sf-sweep-bench.XXXXXX)"
chmod 755 "$work"
server=""
stop_server() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    server=""
}
cleanup() {
    stop_server
    sf_pg_stop "$work/pg"
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

sf_pg_start_any "$work/pg"
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

"$bin" sample-data --out "$work/data/samples" --symbols "$symbols" --timeframe 1m --days "$days" --seed 42 --sentiment >/dev/null
echo "demo data: $symbols, $days days of 1m bars each, timeframes $timeframes, export formats $formats"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)"

port=""
# Starts a server on the shared data folder, its stage cache removed first; $1: on or off.
start_server() {
    rm -rf "$work/data/cache"
    port=$(sf_free_port)
    SIGNALFORGE_CACHE="$1" "$bin" serve --port "$port" --data-dir "$work/data" --log-level "${LOG_LEVEL:-warning}" \
        >>"$work/server.log" 2>&1 &
    server=$!
    for _ in $(seq 1 200); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    cat "$work/server.log" >&2
    exit 1
}
peak_mb() { awk '/^VmHWM:/ { printf "%d", $2 / 1024 }' "/proc/$server/status"; }

json_list() { printf '%s' "$1" | jq -R 'split(",")'; }
numbers() { printf '%s' "$1" | jq -R 'split(",") | map(tonumber)'; }
base=$(jq -n \
    --argjson symbols "$(json_list "$symbols")" \
    --argjson timeframes "$(json_list "$timeframes")" \
    --argjson formats "$(json_list "$formats")" \
    '{name: "sweep-bench",
      datasets: [$symbols[] | {symbol: ., path: "samples/\(.)_1m.csv"}],
      timeframes: $timeframes,
      stages: ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"],
      config: {merge: {join: "inner", tolerance: "0s"}, export: {formats: $formats, compression: "zstd"}}}')

# Runs one experiment; prints its wall time.
experiment() {
    local t0 t1 id status
    t0=$(now)
    id=$(curl -fs -X POST -H 'Content-Type: application/json' -d "$base" "http://127.0.0.1:$port/v1/experiments" | jq -r .id)
    while :; do
        status=$(curl -fs "http://127.0.0.1:$port/v1/experiments/$id" | jq -r .status)
        case "$status" in succeeded | failed | cancelled) break ;; esac
        sleep 0.02
    done
    t1=$(now)
    [ "$status" = succeeded ] || { curl -fs "http://127.0.0.1:$port/v1/experiments/$id" | jq . >&2; exit 1; }
    echo "$id" >"$work/last_id"
    elapsed "$t0" "$t1"
}

# Each stage of the last experiment (to stderr): its duration, and the time
# from its end to the next stage's start (storing its cache entry, bookkeeping).
stages() {
    curl -fs "http://127.0.0.1:$port/v1/experiments/$(cat "$work/last_id")/events?limit=1000" | python3 -c '
import json, sys
from datetime import datetime
def t(e): return datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()
items = [e for e in json.load(sys.stdin)["items"] if e["kind"] in ("stage_started", "stage_completed", "stage_cached")]
items.sort(key=lambda e: e["id"])
for i, e in enumerate(items):
    if e["kind"] != "stage_completed": continue
    nxt = next((x for x in items[i + 1:] if x["kind"] in ("stage_started", "stage_cached")), None)
    gap = " then %5d ms to the next stage" % ((t(nxt) - t(e)) * 1000) if nxt else ""
    print("     %-9s %6d ms%s" % (e["stage"], e["duration_ms"], gap), file=sys.stderr)
'
}

# Runs the sweep; prints its wall time (POST → every child ended; every child must succeed).
sweep() {
    local body t0 t1 id detail count finished succeeded
    body=$(jq -n --argjson base "$base" --argjson t "$(numbers "$thresholds")" --argjson h "$(numbers "$holding")" \
        --argjson p "$max_parallel" \
        '{name: "sweep-bench", base: $base, max_parallel: $p,
          parameters: {"config.fusion.quality_threshold": $t, "config.analysis.max_holding_bars": $h}}')
    t0=$(now)
    id=$(curl -fs -X POST -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:$port/v1/sweeps" | jq -r .id)
    while :; do
        detail=$(curl -fs "http://127.0.0.1:$port/v1/sweeps/$id")
        count=$(jq -r .count <<<"$detail")
        finished=$(jq -r .finished <<<"$detail")
        [ "$finished" = "$count" ] && break
        sleep 0.05
    done
    t1=$(now)
    succeeded=$(jq -r '.counts.succeeded // 0' <<<"$detail")
    [ "$succeeded" = "$count" ] || { jq . <<<"$detail" >&2; exit 1; }
    echo "$id" >"$work/last_sweep"
    echo "$(elapsed "$t0" "$t1") $count"
}

# The last sweep's children, stage by stage (to stderr): how many computed it
# and how many restored it from the cache, with the stage's summed duration.
children() {
    local ids
    ids=$(curl -fs "http://127.0.0.1:$port/v1/sweeps/$(cat "$work/last_sweep")/leaderboard" | jq -r '.items[].experiment_id')
    for id in $ids; do curl -fs "http://127.0.0.1:$port/v1/experiments/$id/events?limit=1000"; echo; done | python3 -c '
import json, sys
order, computed, cached, ms = [], {}, {}, {}
for line in sys.stdin:
    if not line.strip(): continue
    items = json.loads(line)["items"]
    restored = {e["stage"] for e in items if e["kind"] == "stage_cached"}
    for e in items:
        if e["kind"] != "stage_completed": continue
        s = e["stage"]
        if s not in order: order.append(s)
        if s in restored: cached[s] = cached.get(s, 0) + 1
        else: computed[s] = computed.get(s, 0) + 1
        ms[s] = ms.get(s, 0) + e["duration_ms"]
for s in order:
    print("     %-9s computed by %2d, restored by %2d, %7d ms in all" % (s, computed.get(s, 0), cached.get(s, 0), ms[s]), file=sys.stderr)
'
}

one_off=""
if [[ ",$phases," == *,1,* ]]; then
    start_server off
    one_off=$(experiment)
    echo "1. one experiment, cache off:            ${one_off} s wall, server peak RSS $(peak_mb) MB"
    stages
    stop_server
fi
if [[ ",$phases," == *,2,* ]]; then
    start_server on
    one_on=$(experiment)
    echo "2. one experiment, cache on (cold):      ${one_on} s wall, server peak RSS $(peak_mb) MB; entries $(du -sm "$work/data/cache" | cut -f1) MB"
    stages
    warm=$(experiment)
    echo "   the same again (warm):                ${warm} s wall"
    stop_server
fi
if [[ ",$phases," == *,3,* ]]; then
    start_server on
    read -r t n < <(sweep)
    line="3. sweep of $n points, cache on (cold):  ${t} s wall, server peak RSS $(peak_mb) MB"
    [ -n "$one_off" ] && line="$line; $(ratio "$t" "$one_off")× one experiment (target ≤ 2.5×)"
    echo "$line"
    children
    stop_server
fi
if [[ ",$phases," == *,4,* ]]; then
    start_server off
    read -r t n < <(sweep)
    line="4. sweep of $n points, cache off:        ${t} s wall, server peak RSS $(peak_mb) MB"
    [ -n "$one_off" ] && line="$line; $(ratio "$t" "$one_off")× one experiment"
    echo "$line"
    stop_server
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
