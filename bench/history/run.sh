#!/usr/bin/env bash
# History at scale (issue 15): EXPERIMENTS finished experiments holding
# SIGNALS signals and LOGS log lines in total, generated with COPY (not by
# running pipelines), laid out as runs leave them: each experiment's signals
# together (the fusion stage stores them with one COPY), log lines of two
# experiments interleaved (two runs at a time, max_running 2). Against a real `signalforge serve`, measures p50/p99 of
#   GET /v1/experiments/{id}/signals?limit=100
#   GET /v1/experiments/{id}/logs?tail=100
#   GET /v1/experiments?limit=50
#   GET /v1/experiments/{id}/events
# (wrk, 1 connection, DURATION each) and the time of DELETE /v1/experiments/{id}
# for DELETES experiments; then the same with 2 experiments of the same size
# each. Targets: p99 <= 20 ms, DELETE <= 1 s. Also prints the plan of the
# signals page (EXPLAIN ANALYZE): an index led by experiment_id.
#
# Usage: bash bench/history/run.sh
#   env: EXPERIMENTS (200), SIGNALS (20000000), LOGS (20000000), DURATION (5s),
#        DELETES (3), SIGNALFORGE_BIN (default: a release build in SCRATCH),
#        SCRATCH (.build-st), BATCH (rows per COPY, 1000000),
#        PG_DIR (keep the PostgreSQL cluster there: a later run with the same
#        PG_DIR and sizes skips the load, which takes ~15-40 min at full
#        scale, and measures again; the deletes of a run are then missing from
#        the next one's data, which holds 3 experiments fewer)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/deploy/lib/postgres.sh"

experiments="${EXPERIMENTS:-200}"
signals="${SIGNALS:-20000000}"
logs="${LOGS:-20000000}"
duration="${DURATION:-5s}"
deletes="${DELETES:-3}"
batch="${BATCH:-1000000}"
scratch="${SCRATCH:-$root/.build-st}"

for tool in wrk curl jq; do command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }; done
if [ -n "${SIGNALFORGE_BIN:-}" ]; then
    bin="$SIGNALFORGE_BIN"
else
    swift build -c release --package-path "$root" --scratch-path "$scratch" --product signalforge >&2
    bin="$scratch/release/signalforge"
fi
pgbin="$(sf_pg_bindir)"

work="$(mktemp -d /tmp/sf-history-bench.XXXXXX)"
chmod 755 "$work"
server=""
stop_server() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi
}
pgdir="${PG_DIR:-$work/pg}"
mkdir -p "$pgdir"
[ -z "${PG_DIR:-}" ] || chown postgres "$PG_DIR" 2>/dev/null || true
cleanup() {
    stop_server
    sf_pg_stop "$pgdir"
    rm -rf "$work"
}
trap cleanup EXIT
sf_pg_start_any "$pgdir" >&2
base_url="$DATABASE_URL"

psql_() { sf_pg_as_owner "$pgbin/psql" -v ON_ERROR_STOP=1 -Atq "$@"; }

# load DB N_EXPERIMENTS N_SIGNALS N_LOGS: a fresh database, migrated, filled.
load() {
    local db=$1 n=$2 nsig=$3 nlog=$4 url from to
    url="${base_url%/*}/$db"
    if [ -n "${PG_DIR:-}" ] && [ "$(psql_ "$base_url" -c "SELECT count(*) FROM pg_database WHERE datname = '$db'")" = 1 ]; then
        # Kept from an earlier run: reused while enough experiments are left to delete.
        if [ "$(psql_ "$url" -c "SELECT count(*) FROM experiments")" -gt "$deletes" ]; then
            "$bin" migrate --database-url "$url" --log-level warning >/dev/null
            echo "$url"
            return
        fi
        psql_ "$base_url" -c "DROP DATABASE $db" >/dev/null
    fi
    psql_ "$base_url" -c "CREATE DATABASE $db" >/dev/null
    "$bin" migrate --database-url "$url" --log-level warning >/dev/null
    psql_ "$url" <<SQL >/dev/null
INSERT INTO experiments (id, name, status, priority, request, stage, percent, created_at, started_at, finished_at, completed_stages)
SELECT gen_random_uuid(), 'history-' || g, 'succeeded', 'medium',
       '{"name":"history","priority":"medium","datasets":[{"symbol":"EURUSD","path":"samples/EURUSD_1m.csv"}],"timeframes":["15m","1h","4h"],"stages":["load","resample","merge","features","patterns","forecast","fusion","export","analysis"],"config":{}}'::jsonb,
       'analysis', 100, now() - (($n - g) || ' minutes')::interval, now() - (($n - g) || ' minutes')::interval,
       now() - (($n - g) || ' minutes')::interval + interval '50 seconds',
       '{load,resample,merge,features,patterns,forecast,fusion,export,analysis}'
FROM generate_series(1, $n) g;
CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY created_at) - 1 AS k, id FROM experiments;
CREATE UNIQUE INDEX ON bench_ids (k);
SQL
    # Events and progress: a few dozen rows per experiment.
    psql_ "$url" -c "COPY (SELECT b.id, now(), k.kind, k.stage, 'running', 'running', 1000.0, '{}' FROM bench_ids b,
        (SELECT 'stage_completed' AS kind, s AS stage FROM unnest('{load,resample,merge,features,patterns,forecast,fusion,export,analysis}'::text[]) s) k) TO STDOUT" \
        | psql_ "$url" -c "COPY pipeline_events (experiment_id, ts, kind, stage, from_status, to_status, duration_ms, details) FROM STDIN"
    # Signals: row g belongs to experiment g / (nsig / n), in order.
    from=0
    while [ "$from" -lt "$nsig" ]; do
        to=$((from + batch < nsig ? from + batch : nsig))
        psql_ "$url" -c "COPY (SELECT b.id, (ARRAY['EURUSD','GBPUSD','USDJPY'])[1 + g % 3], (ARRAY['15m','1h','4h'])[1 + (g / 3) % 3],
              timestamptz '2020-01-01' + (g % ($nsig / $n)) * interval '15 minutes', CASE WHEN g % 2 = 0 THEN 'long' ELSE 'short' END,
              1.1, 1.09, 1.12, 12, (g % 1000) / 1000.0, g % 5 = 0,
              '{\"pattern_strength\":0.5,\"mtf_agreement\":0.5,\"regime_confidence\":0.5,\"volume_confirmation\":0.5,\"sentiment_alignment\":0.5,\"correlation_safety\":0.5}',
              '[\"forecast\",\"patterns\"]', '{0.5,0.5,0.5,0.5,0.5,0.5}', (g % 1000) / 1000.0, 'open'
            FROM generate_series($from, $to - 1) g JOIN bench_ids b ON b.k = g / ($nsig / $n)) TO STDOUT" \
            | psql_ "$url" -c "COPY signals (experiment_id, symbol, timeframe, ts, direction, entry, stop, target, horizon_bars, quality,
                accepted, components, sources, component_values, quality_prior, outcome) FROM STDIN"
        from=$to
    done
    from=0
    while [ "$from" -lt "$nlog" ]; do
        to=$((from + batch < nlog ? from + batch : nlog))
        psql_ "$url" -c "COPY (SELECT b.id, timestamptz '2020-01-01' + g * interval '1 millisecond', CASE WHEN g % 50 = 0 THEN 'warning' ELSE 'info' END,
              (ARRAY['load','resample','merge','features','patterns','forecast','fusion','export','analysis'])[1 + (g / $n) % 9],
              'processed chunk ' || g, '{\"rows\":\"1000\"}'
            FROM generate_series($from, $to - 1) g
            JOIN bench_ids b ON b.k = least($n - 1, 2 * (g / (2 * ($nlog / $n))) + g % 2)) TO STDOUT" \
            | psql_ "$url" -c "COPY pipeline_logs (experiment_id, ts, level, stage, message, fields) FROM STDIN"
        from=$to
    done
    psql_ "$url" -c "DROP TABLE bench_ids" -c "VACUUM ANALYZE" >/dev/null
    echo "$url"
}

# p50 and p99 (ms) of GET $1 under wrk, one connection.
measure() {
    local out p50 p99
    out=$(wrk -t1 -c1 -d"$duration" --latency "$1")
    ms() { awk -v q="$1" '$1 == q { v = $2; if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }; printf "%.2f", v }'; }
    p50=$(ms 50% <<<"$out")
    p99=$(ms 99% <<<"$out")
    if grep -q "Non-2xx" <<<"$out"; then echo "non-2xx answers from $1" >&2; exit 3; fi
    printf '%s %s' "$p50" "$p99"
}

run_scale() {
    local label=$1 n=$2 nsig=$3 nlog=$4 db url port t0 t1 id ids k api
    db="history_$n"
    t0=$(date +%s.%N)
    url=$(load "$db" "$n" "$nsig" "$nlog")
    t1=$(date +%s.%N)
    printf '%s: loaded %d experiments, %d signals, %d log lines in %.0f s; database %s\n' "$label" "$n" "$nsig" "$nlog" \
        "$(echo "$t1 - $t0" | bc)" "$(psql_ "$url" -c "SELECT pg_size_pretty(pg_database_size(current_database()))")"
    port=$(sf_free_port)
    "$bin" serve --port "$port" --database-url "$url" --data-dir "$work/data-$n" --log-level warning --access-log false \
        >"$work/server-$n.log" 2>&1 &
    server=$!
    for _ in $(seq 1 200); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
    api="http://127.0.0.1:$port"
    # The experiment in the middle of the list (its rows are spread through the tables).
    mapfile -t ids < <(psql_ "$url" -c "SELECT id FROM experiments ORDER BY created_at")
    id=${ids[$((n / 2))]}
    echo "  plan of the signals page:"
    psql_ "$url" -c "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT id FROM signals WHERE experiment_id = '$id' AND id > 0 ORDER BY id LIMIT 100" | sed 's/^/    /'
    for path in "/v1/experiments/$id/signals?limit=100" "/v1/experiments/$id/logs?tail=100" "/v1/experiments?limit=50" "/v1/experiments/$id/events"; do
        read -r p50 p99 <<<"$(measure "$api$path")"
        printf '  %-20s p50 %7s ms  p99 %7s ms  %s\n' "$(sed -E 's#/v1/experiments/[0-9a-f-]{36}#…#' <<<"$path")" "$p50" "$p99" \
            "$(awk -v p="$p99" 'BEGIN { print (p <= 20 ? "ok (<= 20 ms)" : "MISSED (> 20 ms)") }')"
    done
    for k in $(seq 1 "$deletes"); do
        [ "$k" -le "$n" ] || break
        id=${ids[$(( (k * 7) % n ))]}
        local s
        s=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X DELETE "$api/v1/experiments/$id")
        printf '  DELETE #%d: HTTP %s in %.3f s %s\n' "$k" "${s% *}" "${s#* }" \
            "$(awk -v t="${s#* }" 'BEGIN { print (t <= 1 ? "ok (<= 1 s)" : "MISSED (> 1 s)") }')"
    done
    stop_server
}

per_signals=$((signals / experiments))
per_logs=$((logs / experiments))
echo "signalforge: $bin"
run_scale "history ($experiments experiments)" "$experiments" "$signals" "$logs"
run_scale "baseline (2 experiments)" 2 $((per_signals * 2)) $((per_logs * 2))
