#!/usr/bin/env bash
# Issue 11's fault matrix, driven from outside: real `signalforge serve`
# processes (1 to 3 of them) on one private PostgreSQL and one data folder run
# the default experiment (all nine stages) while the script injects a fault
# in a chosen stage, then checks what the issue promises:
#
#   kill9    kill -9 of the owning instance (2 instances: the other finishes it)
#   pg5/pg60 PostgreSQL stopped (`pg_ctl stop -m fast`) for 5 s / 60 s, then started
#   tri-pg60 three instances + PostgreSQL stopped for 60 s
#   tri-pm   three instances + the postmaster (and its children) killed -9, restarted after 10 s
#   sigterm  SIGTERM to the only instance: exit within 2 s, `interrupted` (cause drain) and requeued; a new
#            instance resumes after the last completed stage and ends `succeeded`
#
# Checks after each scenario (against one undisturbed run of the same request
# at the start): final status `succeeded`; no `started` event while another
# owner still held the run; exactly one "experiment succeeded" line (stored and
# in the instances' own output); every artifact's sha256 equal to the
# undisturbed run's (report.json apart from the id and the "seconds" timing
# fields) and unchanged 3 s after `succeeded`; for the PostgreSQL outages also
# the stored signals, events (kind/stage/from/to), progress and report equal
# and every log line of the undisturbed run stored as often (none lost, none
# twice; digit runs compared as N).
#
# Prints one line per scenario (PASS/FAIL, reason, timings) and a summary; the
# exit status is 0 only when every scenario passed.
#
# Usage: bash bench/faults/run.sh [--quick] [--only REGEX] [--list]
#   --quick   a subset: kill9 × resample/forecast/export, pg5 × features/fusion,
#             pg60 × fusion, tri-pg60 × fusion, tri-pm × export, sigterm × merge/forecast/fusion
#   --only    scenarios whose name (e.g. `pg5-fusion`) matches the regex
#   env: BIN (a built `signalforge`; default: `swift build` it, debug, in .build),
#        DAYS (days of 1m bars per symbol; default 120), SYMBOLS (EURUSD,GBPUSD,USDJPY),
#        TIMEFRAMES (15m,1h,4h), KEEP (1 keeps the work folder), OUTAGE_LONG (60),
#        OUTAGE_SHORT (5), POSTMASTER_DOWN (10), FINISH_TIMEOUT (900 s per scenario)
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/deploy/lib/postgres.sh"

quick=0
only=""
list=0
while [ "$#" -gt 0 ]; do
    case "$1" in
    --quick) quick=1 ;;
    --only) only="$2"; shift ;;
    --list) list=1 ;;
    *) echo "usage: $0 [--quick] [--only REGEX] [--list]" >&2; exit 2 ;;
    esac
    shift
done

stages=(load resample merge features patterns forecast fusion export analysis)
long="${OUTAGE_LONG:-60}"
short="${OUTAGE_SHORT:-5}"
pmdown="${POSTMASTER_DOWN:-10}"
finish_timeout="${FINISH_TIMEOUT:-900}"

# The matrix: "kind stage".
matrix=()
if [ "$quick" = 1 ]; then
    matrix=("kill9 resample" "kill9 forecast" "kill9 export" "pg5 features" "pg5 fusion" "pg60 fusion"
        "tri-pg60 fusion" "tri-pm export" "sigterm merge" "sigterm forecast" "sigterm fusion")
else
    for s in "${stages[@]}"; do matrix+=("kill9 $s"); done
    for s in load features forecast fusion export analysis; do matrix+=("pg5 $s" "pg60 $s"); done
    for s in forecast fusion export; do matrix+=("tri-pg60 $s" "tri-pm $s"); done
    for s in "${stages[@]}"; do matrix+=("sigterm $s"); done
fi
if [ -n "$only" ]; then
    filtered=()
    for m in "${matrix[@]}"; do
        name="${m% *}-${m#* }"
        if [[ "$name" =~ $only ]]; then filtered+=("$m"); fi
    done
    matrix=("${filtered[@]}")
fi
if [ "$list" = 1 ]; then
    for m in "${matrix[@]}"; do echo "${m% *}-${m#* }"; done
    exit 0
fi
[ "${#matrix[@]}" -gt 0 ] || { echo "no scenario matches" >&2; exit 2; }

for tool in jq curl sha256sum; do
    command -v "$tool" >/dev/null || { echo "needs $tool" >&2; exit 2; }
done

if [ -z "${BIN:-}" ]; then
    swift build --package-path "$root" --product signalforge >&2 || exit 2
    BIN="$root/.build/debug/signalforge"
fi
[ -x "$BIN" ] || { echo "no executable at BIN=$BIN" >&2; exit 2; }
pgbin=$(sf_pg_bindir) || exit 2

work="$(mktemp -d /tmp/sf-faults.XXXXXX)"
chmod 755 "$work"
pgdir="$work/pg"
declare -A pids=()   # instance number -> pid
cleanup() {
    local i
    for i in "${!pids[@]}"; do kill -9 "${pids[$i]}" 2>/dev/null; wait "${pids[$i]}" 2>/dev/null; done
    sf_pg_stop "$pgdir"
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

sf_pg_start_any "$pgdir" || exit 2
pgport="${DATABASE_URL##*:}"; pgport="${pgport%%/*}"
export DATABASE_URL

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
sql() { "$pgbin/psql" "$DATABASE_URL" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

# ---- PostgreSQL faults ------------------------------------------------------

pg_stop() { sf_pg_as_owner "$pgbin/pg_ctl" -D "$pgdir" -m fast -w stop >/dev/null 2>&1; }
pg_start() { sf_pg_start "$pgdir" "$pgport" >/dev/null; }
# kill -9 the postmaster and every process it started (as a machine crash would).
pg_kill_postmaster() {
    local pm children
    pm=$(head -n 1 "$pgdir/postmaster.pid" 2>/dev/null) || return 1
    children=$(ps -o pid= --ppid "$pm" 2>/dev/null | tr -d ' ')
    kill -9 "$pm"
    # shellcheck disable=SC2086
    [ -n "$children" ] && kill -9 $children 2>/dev/null
    while kill -0 "$pm" 2>/dev/null; do sleep 0.05; done
    rm -f "$pgdir/postmaster.pid"
}

# ---- instances --------------------------------------------------------------

# start_instance N: a `signalforge serve` on a free port, output in inst-N.log.
declare -A ports=()
start_instance() {
    local n=$1 port
    port=$(sf_free_port)
    "$BIN" serve --port "$port" --data-dir "$work/data" --database-url "$DATABASE_URL" \
        --log-level info --access-log false >>"$work/inst-$n.log" 2>&1 &
    pids[$n]=$!
    ports[$n]=$port
    for _ in $(seq 1 400); do
        curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        kill -0 "${pids[$n]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "instance $n did not start:" >&2
    tail -n 20 "$work/inst-$n.log" >&2
    return 1
}
stop_all() {
    local i
    for i in "${!pids[@]}"; do kill -9 "${pids[$i]}" 2>/dev/null; wait "${pids[$i]}" 2>/dev/null; done
    pids=()
    ports=()
}
# api PATH: GET from any living instance.
api() {
    local i
    for i in "${!pids[@]}"; do
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            curl -fs --max-time 5 "http://127.0.0.1:${ports[$i]}$1" && return 0
        fi
    done
    return 1
}
# The instance number whose pid owns the experiment's lease now.
owner_instance() {
    local owner pid i
    owner=$(sql "SELECT lease_owner FROM experiments WHERE id = '$1'") || return 1
    pid=$(echo "$owner" | awk -F: '{ print $(NF-1) }')
    for i in "${!pids[@]}"; do [ "${pids[$i]}" = "$pid" ] && { echo "$i"; return 0; }; done
    return 1
}

# ---- the experiment ---------------------------------------------------------

days="${DAYS:-120}"
symbols="${SYMBOLS:-EURUSD,GBPUSD,USDJPY}"
timeframes="${TIMEFRAMES:-15m,1h,4h}"
"$BIN" sample-data --out "$work/data/samples" --symbols "$symbols" --timeframe 1m --days "$days" --seed 42 --sentiment >/dev/null || exit 2
json_list() { printf '%s' "$1" | jq -R 'split(",")'; }
body=$(jq -cn \
    --argjson symbols "$(json_list "$symbols")" \
    --argjson timeframes "$(json_list "$timeframes")" \
    --argjson stages "$(printf '%s\n' "${stages[@]}" | jq -R . | jq -s .)" \
    '{name: "faults", datasets: [$symbols[] | {symbol: ., path: "samples/\(.)_1m.csv"}],
      timeframes: $timeframes, stages: $stages,
      config: {export: {formats: ["csv", "parquet"]}, forecast: {horizon_bars: 4}, fusion: {quality_threshold: 0.5}}}')

create() {
    local i
    for i in "${!pids[@]}"; do
        curl -fs --max-time 10 -X POST -H 'Content-Type: application/json' -d "$body" \
            "http://127.0.0.1:${ports[$i]}/v1/experiments" | jq -r .id
        return
    done
}
status_of() { sql "SELECT status FROM experiments WHERE id = '$1'" 2>/dev/null; }
stage_of() { sql "SELECT coalesce(stage, '') FROM experiments WHERE id = '$1'" 2>/dev/null; }

# wait_stage ID STAGE: until the experiment runs STAGE; fails if STAGE was passed.
wait_stage() {
    local id=$1 stage=$2 deadline st
    deadline=$(( $(date +%s) + 600 ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        st=$(sql "SELECT status || '|' || coalesce(stage, '') || '|' || array_to_string(completed_stages, ',') FROM experiments WHERE id = '$id'")
        case ",${st##*|}," in *",$stage,"*) echo "stage $stage completed before the fault"; return 1 ;; esac
        case "${st%%|*}" in succeeded | failed | cancelled) echo "ended ${st%%|*} before $stage"; return 1 ;; esac
        # In the stage: fire now (waiting for its first progress row misses
        # stages of a few hundred ms, whose progress is written in batches).
        [ "$(echo "$st" | cut -d'|' -f1-2)" = "running|$stage" ] && return 0
        sleep 0.01
    done
    echo "never reached $stage"
    return 1
}

# wait_final ID [TIMEOUT]: until succeeded, failed or cancelled; prints the status.
wait_final() {
    local id=$1 deadline st
    deadline=$(( $(date +%s) + ${2:-$finish_timeout} ))
    while [ "$(date +%s)" -lt "$deadline" ]; do
        st=$(status_of "$id")
        case "$st" in succeeded | failed | cancelled) echo "$st"; return 0 ;; esac
        sleep 0.2
    done
    echo "timeout($(status_of "$id"))"
}

# ---- what a run leaves ------------------------------------------------------

# Artifacts: "name sha256" lines, report.json normalised (id, "seconds").
artifact_digests() {
    local id=$1 name path
    sql "SELECT name || ' ' || path FROM artifacts WHERE experiment_id = '$id' ORDER BY name" | while read -r name path; do
        [ -f "$path" ] || path="$work/data/$path"
        if [ "$name" = report.json ]; then
            echo "$name $(sed -e "s/$id/ID/g" -e 's/"seconds":[-+0-9.eE]*/"seconds":0/g' "$path" | sha256sum | cut -c1-64)"
        else
            echo "$name $(sha256sum "$path" | cut -c1-64)"
        fi
    done
}
stored_signals() {
    sql "SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s', symbol, timeframe, ts, direction, entry, stop, target,
            horizon_bars, quality, accepted, components, sources), E'\n' ORDER BY symbol, timeframe, ts, direction)) || ' ' || count(*)
         FROM signals WHERE experiment_id = '$1'"
}
stored_events() {
    sql "SELECT string_agg(kind || '/' || coalesce(stage, '') || '/' || coalesce(from_status, '') || '/' || coalesce(to_status, ''), ' ' ORDER BY id)
         FROM pipeline_events WHERE experiment_id = '$1' AND kind NOT IN ('memory_warning', 'memory_critical')"
}
stored_progress() {
    sql "SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s', node_path, kind, name, status, units_done, units_total), E'\n' ORDER BY node_path))
         FROM pipeline_progress WHERE experiment_id = '$1'"
}
stored_report() {
    sql "SELECT body FROM reports WHERE experiment_id = '$1'" \
        | jq -cS --arg id "$1" 'walk(if type == "object" then with_entries(select(.key != "seconds")) else . end) | walk(if . == $id then "ID" else . end)' \
        | sha256sum | cut -c1-64
}
# Overlapping owners: a `started` while the previous owner had not let go.
owner_overlaps() {
    sql "SELECT kind || ' ' || coalesce(to_status, '-') || ' ' || coalesce(details->>'owner', '-') FROM pipeline_events WHERE experiment_id = '$1' ORDER BY id" |
        awk '{ if ($1 == "started") { if (cur != "") n++; cur = $3 }
               else if ($2 ~ /^(queued|interrupted|succeeded|failed|cancelled)$/ || $1 == "requeued" || $1 == "interrupted") cur = "" }
             END { print n + 0 }'
}
succeeded_lines_stored() { sql "SELECT count(*) FROM pipeline_logs WHERE experiment_id = '$1' AND message = 'experiment succeeded'"; }
# Stored log lines by stage and message (digit runs as N), counted: what the
# experiment emitted, since an undisturbed run's lines are all stored.
log_counts() {
    sql "SELECT coalesce(stage, '-') || '|' || regexp_replace(message, '[0-9]+', 'N', 'g') FROM pipeline_logs WHERE experiment_id = '$1'" \
        | sort | uniq -c | awk '{ n = $1; sub(/^ *[0-9]+ /, ""); print $0 "\t" n }' | sort
}

# ---- the undisturbed run ----------------------------------------------------

echo "faults: $(basename "$BIN") at $BIN; $days days of 1m bars × $symbols; work folder $work" >&2
start_instance 0 || exit 2
t0=$(now)
base=$(create)
[ -n "$base" ] && [ "$base" != null ] || { echo "cannot create the experiment" >&2; exit 2; }
st=$(wait_final "$base")
t1=$(now)
[ "$st" = succeeded ] || { echo "the undisturbed run ended $st" >&2; api "/v1/experiments/$base" >&2; exit 2; }
echo "undisturbed run $base: succeeded in $(elapsed "$t0" "$t1") s; stages (ms):" \
    "$(sql "SELECT string_agg(stage || '=' || round(duration_ms), ' ' ORDER BY id) FROM pipeline_events WHERE experiment_id = '$base' AND kind = 'stage_completed'")"
short_stages=$(sql "SELECT string_agg(stage, ',') FROM pipeline_events WHERE experiment_id = '$base' AND kind = 'stage_completed' AND duration_ms < 1000")
[ -n "$short_stages" ] && echo "warning: stages shorter than 1 s (raise DAYS): $short_stages" >&2
base_artifacts=$(artifact_digests "$base")
base_signals=$(stored_signals "$base")
base_events=$(stored_events "$base")
base_progress=$(stored_progress "$base")
base_report=$(stored_report "$base")
base_logs=$(log_counts "$base")
echo "$(echo "$base_artifacts" | wc -l) artifacts, signals $base_signals" >&2
stop_all
: >"$work/inst-0.log"

# ---- scenarios ----------------------------------------------------------------

passed=0
failed=0
results=()
report() { # NAME VERDICT REASON TIMING
    local line
    line=$(printf '%-18s %-4s %s%s' "$1" "$2" "$3" "${4:+  [$4]}")
    echo "$line"
    results+=("$line")
    if [ "$2" = PASS ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
}

run_scenario() {
    local kind=$1 stage=$2 name="$1-$2" id n=1 victim why="" timing="" st t_fault t_end problems=()
    rm -f "$work"/inst-*.log
    case "$kind" in kill9) n=2 ;; tri-*) n=3 ;; esac
    local i
    for i in $(seq 0 $((n - 1))); do start_instance "$i" || { report "$name" FAIL "instance $i did not start"; stop_all; return; }; done
    t0=$(now)
    id=$(create)
    if [ -z "$id" ] || [ "$id" = null ]; then report "$name" FAIL "cannot create"; stop_all; return; fi
    if ! why=$(wait_stage "$id" "$stage"); then report "$name" FAIL "$why"; stop_all; return; fi
    t_fault=$(now)
    case "$kind" in
    kill9)
        victim=$(owner_instance "$id") || { report "$name" FAIL "no living owner"; stop_all; return; }
        kill -9 "${pids[$victim]}"; wait "${pids[$victim]}" 2>/dev/null; unset "pids[$victim]"
        ;;
    pg5 | pg60 | tri-pg60)
        local d=$short
        [ "$kind" = pg5 ] || d=$long
        pg_stop
        sleep "$d"
        pg_start || { report "$name" FAIL "PostgreSQL did not restart"; stop_all; return; }
        ;;
    tri-pm)
        pg_kill_postmaster
        sleep "$pmdown"
        pg_start || { report "$name" FAIL "PostgreSQL did not restart"; stop_all; return; }
        ;;
    sigterm)
        local pid=${pids[0]} t_sig exit_s
        t_sig=$(now)
        kill -TERM "$pid"
        wait "$pid" 2>/dev/null
        exit_s=$(elapsed "$t_sig" "$(now)")
        unset "pids[0]"
        timing="exit ${exit_s} s"
        awk -v e="$exit_s" 'BEGIN { exit !(e <= 2.0) }' || problems+=("exit took ${exit_s} s (> 2 s)")
        st=$(status_of "$id")
        # Interrupted and requeued in one transaction (any instance resumes it).
        [ "$st" = queued ] || problems+=("after SIGTERM: $st, not queued")
        local last2
        last2=$(sql "SELECT string_agg(k, ',' ORDER BY id DESC) FROM (SELECT id, kind || ':' || coalesce(details->>'cause', '') AS k FROM pipeline_events WHERE experiment_id = '$id' ORDER BY id DESC LIMIT 2) t")
        [ "$last2" = "requeued:,interrupted:drain" ] || problems+=("events after SIGTERM: $last2, not interrupted (drain) then requeued")
        local before
        before=$(sql "SELECT array_to_string(completed_stages, ',') FROM experiments WHERE id = '$id'")
        start_instance 1 || { report "$name" FAIL "the second instance did not start"; stop_all; return; }
        ;;
    esac
    st=$(wait_final "$id")
    t_end=$(now)
    timing="${timing:+$timing; }fault at $(elapsed "$t0" "$t_fault") s, end at $(elapsed "$t0" "$t_end") s"
    [ "$st" = succeeded ] || problems+=("ended $st: $(sql "SELECT coalesce(error, '') FROM experiments WHERE id = '$id'" | head -c 160)")
    if [ "$st" = succeeded ]; then
        local arts
        arts=$(artifact_digests "$id")
        local diff_names
        diff_names=$(join -a1 -a2 -e MISSING -o 0,1.2,2.2 <(echo "$base_artifacts") <(echo "$arts") | awk '$2 != $3 { print $1 }' | tr '\n' ' ')
        [ -z "$diff_names" ] || problems+=("artifacts differ: ${diff_names% }")
        sleep 3
        [ "$(artifact_digests "$id")" = "$arts" ] || problems+=("artifacts rewritten after succeeded")
    fi
    local ov s1 s2
    ov=$(owner_overlaps "$id")
    [ "$ov" = 0 ] || problems+=("$ov overlapping owner(s) in events")
    s1=$(succeeded_lines_stored "$id")
    [ "$s1" = 1 ] || problems+=("'experiment succeeded' stored $s1 times")
    if [ "$kind" = sigterm ] && [ "$st" = succeeded ]; then
        # Resumed after its last completed stage: those stages were skipped, not run again.
        local s
        for s in ${before//,/ }; do
            [ "$(sql "SELECT count(*) FROM pipeline_events WHERE experiment_id = '$id' AND kind = 'stage_started' AND stage = '$s'")" -le 1 ] \
                || problems+=("completed stage $s ran again")
        done
    fi
    case "$kind/$st" in
    pg5/succeeded | pg60/succeeded)
        [ "$(stored_signals "$id")" = "$base_signals" ] || problems+=("signals differ ($(stored_signals "$id") vs $base_signals)")
        [ "$(stored_events "$id")" = "$base_events" ] || problems+=("events differ")
        [ "$(stored_progress "$id")" = "$base_progress" ] || problems+=("progress differs")
        [ "$(stored_report "$id")" = "$base_report" ] || problems+=("report differs")
        # Every line of the undisturbed run is stored as many times (none lost,
        # none twice); lines it did not have (outage warnings) may be added.
        local lost doubled
        lost=$(join -t $'\t' -a1 -e 0 -o 0,1.2,2.2 <(echo "$base_logs") <(log_counts "$id") | awk -F'\t' '$3 < $2 { n += $2 - $3 } END { print n + 0 }')
        doubled=$(join -t $'\t' -o 0,1.2,2.2 <(echo "$base_logs") <(log_counts "$id") | awk -F'\t' '$3 > $2 { n += $3 - $2 } END { print n + 0 }')
        [ "$lost" = 0 ] || problems+=("$lost log lines lost")
        [ "$doubled" = 0 ] || problems+=("$doubled log lines stored twice")
        ;;
    esac
    stop_all
    if [ "${#problems[@]}" = 0 ]; then
        report "$name" PASS "ok" "$timing"
    else
        local joined
        joined=$(printf '%s; ' "${problems[@]}")
        report "$name" FAIL "${joined%; }" "$timing"
    fi
    # An outage may leave PostgreSQL down if a start failed.
    sf_pg_as_owner "$pgbin/pg_ctl" -D "$pgdir" status >/dev/null 2>&1 || pg_start
}

for m in "${matrix[@]}"; do
    run_scenario "${m% *}" "${m#* }"
done

echo
echo "summary: $passed passed, $failed failed of $((passed + failed)) (undisturbed run $base)"
[ "$failed" = 0 ]
