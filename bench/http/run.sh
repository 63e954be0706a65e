#!/usr/bin/env bash
# SignalForge HTTP benchmark: GET /healthz under wrk, against two peers.
#
#   bash bench/http/run.sh [--duration 10s] [--connections 64] [--threads 2]
#                          [--warmup 2s] [--mhd-threads 2] [--rounds 3]
#                          [--skip-signalforge] [--skip-hummingbird] [--no-build]
#
# Servers: c-mhd (bench/http/mhd_hello.c, libmicrohttpd, epoll, pool of 2),
# signalforge (.build/release/signalforge serve), hummingbird
# (bench/http/hummingbird/hb-hello, Hummingbird 2 release build).
# Order: ROUNDS times (c-mhd, signalforge, hummingbird), interleaved against
# drift. Prints each run, the mean per server, the ratio to c-mhd
# and the two verdict lines. See bench/http/README.md.
#
# Exit status: 0 when every server ran (targets missed or not), 1 when a
# server or a build failed, 2 on bad usage, 3 when a server answered
# non-2xx responses under load (the figures are then not valid).
# Env: SF_SERVE_ARGS (extra flags for `signalforge serve`),
#      SIGNALFORGE_LOG_LEVEL (default warning),
#      SIGNALFORGE_BIN (use this binary instead of building .build/release/signalforge).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$HERE/out

DURATION=10s
CONNECTIONS=64
THREADS=2
WARMUP=2s
MHD_THREADS=2
SKIP_SF=0
SKIP_HB=0
BUILD=1
ROUNDS=3
SKIP_GET=0

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
    case $1 in
        --duration) DURATION=${2:?}; shift 2 ;;
        --connections) CONNECTIONS=${2:?}; shift 2 ;;
        --threads) THREADS=${2:?}; shift 2 ;;
        --warmup) WARMUP=${2:?}; shift 2 ;;
        --mhd-threads) MHD_THREADS=${2:?}; shift 2 ;;
        --skip-signalforge) SKIP_SF=1; shift ;;
        --skip-hummingbird) SKIP_HB=1; shift ;;
        --no-build) BUILD=0; shift ;;
        --rounds) ROUNDS=${2:?}; shift 2 ;;
        --skip-get) SKIP_GET=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

for tool in wrk curl cc pkg-config; do
    command -v "$tool" >/dev/null || { echo "missing tool: $tool" >&2; exit 1; }
done
[ "$SKIP_SF" = 1 ] && [ "$SKIP_HB" = 1 ] || command -v swift >/dev/null \
    || { echo "missing tool: swift" >&2; exit 1; }

# shellcheck source=../../deploy/lib/postgres.sh
. "$ROOT/deploy/lib/postgres.sh"

SF_BIN=${SIGNALFORGE_BIN:-$ROOT/.build/release/signalforge}
MHD_BIN=$OUT/mhd_hello
HB_BIN=$OUT/.build-hummingbird/release/hb-hello
EXPECTED_BODY='{"status":"ok"}'

# ---------------------------------------------------------------- cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sf-bench-http.XXXXXX")
chmod 755 "$TMP"            # the postgres OS user must reach $TMP/pg when run as root
SERVER_PID=
WRK_PID=
PG_STARTED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [ -n "$WRK_PID" ]; then kill -TERM "$WRK_PID" 2>/dev/null || true; wait "$WRK_PID" 2>/dev/null || true; fi
    if [ -n "$SERVER_PID" ]; then stop_server; fi
    if [ "$PG_STARTED" = 1 ]; then sf_pg_stop "$TMP/pg"; fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'echo; echo "interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers
log() { printf '==> %s\n' "$*" >&2; }

stop_server() {
    local pid=$SERVER_PID i
    SERVER_PID=
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do          # 10 s, then SIGKILL
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "  pid $pid ignored SIGTERM for 10 s: SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# start_server NAME PORT CMD... : run CMD in the background, wait for /healthz.
start_server() {
    local name=$1 port=$2 i body
    shift 2
    local logf="$TMP/logs/$name.$port.log"
    mkdir -p "$TMP/logs"
    "$@" >"$logf" 2>&1 &
    SERVER_PID=$!
    for i in $(seq 1 300); do          # 30 s
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            wait "$SERVER_PID" 2>/dev/null && rc=0 || rc=$?
            SERVER_PID=
            echo "FAILED: $name exited (status $rc) before answering /healthz; its log:" >&2
            tail -n 40 "$logf" >&2
            exit 1
        fi
        if body=$(curl -fsS --max-time 1 "http://127.0.0.1:$port/healthz" 2>/dev/null); then
            if [ "$body" != "$EXPECTED_BODY" ]; then
                echo "  warning: $name /healthz body is '$body', expected '$EXPECTED_BODY'" >&2
            fi
            return 0
        fi
        sleep 0.1
    done
    echo "FAILED: $name did not answer http://127.0.0.1:$port/healthz within 30 s; its log:" >&2
    tail -n 40 "$logf" >&2
    exit 1
}

# run_wrk DURATION URL : wrk into $TMP/wrk.out. In the background plus `wait`,
# so that Ctrl-C interrupts the script at once: wrk handles SIGINT and exits 0,
# and bash would otherwise carry on with the next server.
WRK_HEADER=()
run_wrk() {
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$1" "${WRK_HEADER[@]}" "$2" >"$TMP/wrk.out" 2>&1 &
    WRK_PID=$!
    wait "$WRK_PID" || { echo "FAILED: wrk exited with an error:" >&2; cat "$TMP/wrk.out" >&2; exit 1; }
    WRK_PID=
}

declare -A RUNS NON2XX SOCKERR
ORDER=()
INVALID=0

# bench NAME : start the server for NAME, warm up, measure, stop.
bench() {
    local name=$1 port out rps non2xx sockerr
    port=$(sf_free_port)
    case $name in
        c-mhd) start_server "$name" "$port" "$MHD_BIN" "$port" "$MHD_THREADS" ;;
        hummingbird) start_server "$name" "$port" "$HB_BIN" "$port" ;;
        signalforge)
            mkdir -p "$TMP/data"
            # shellcheck disable=SC2086  # SF_SERVE_ARGS is split into flags on purpose
            start_server "$name" "$port" env SIGNALFORGE_LOG_LEVEL="${SIGNALFORGE_LOG_LEVEL:-warning}" \
                "$SF_BIN" serve --address 127.0.0.1 --port "$port" \
                --database-url "$DATABASE_URL" --data-dir "$TMP/data" ${SF_SERVE_ARGS:-} ;;
        signalforge-get)
            # GET /v1/experiments/{id} with a bearer token: auth, a pooled
            # PostgreSQL read and JSON, per request.
            mkdir -p "$TMP/data"
            # The experiment's dataset must exist when it is created (a 400 otherwise).
            printf 'timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,1,1,1,0\n2024-01-01T00:01:00Z,1,1,1,1,0\n' >"$TMP/data/a.csv"
            [ -s "$TMP/tokens" ] || "$SF_BIN" token new --name bench --scope admin --file "$TMP/tokens" >"$TMP/token"
            # shellcheck disable=SC2086
            start_server "$name" "$port" env SIGNALFORGE_LOG_LEVEL="${SIGNALFORGE_LOG_LEVEL:-warning}" \
                "$SF_BIN" serve --address 127.0.0.1 --port "$port" --tokens-file "$TMP/tokens" \
                --database-url "$DATABASE_URL" --data-dir "$TMP/data" ${SF_SERVE_ARGS:-} ;;
    esac
    local url="http://127.0.0.1:$port/healthz"
    WRK_HEADER=()
    if [ "$name" = signalforge-get ]; then
        local token id
        token=$(cat "$TMP/token")
        id=$(curl -fsS -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/experiments" \
            -d '{"name":"bench","datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}' | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
        url="http://127.0.0.1:$port/v1/experiments/$id"
        WRK_HEADER=(-H "Authorization: Bearer $token")
    fi
    log "$name on :$port: warm-up $WARMUP, then wrk -t$THREADS -c$CONNECTIONS -d$DURATION $url"
    run_wrk "$WARMUP" "$url"
    run_wrk "$DURATION" "$url"
    out=$(cat "$TMP/wrk.out")
    stop_server
    printf '%s\n' "$out" | sed 's/^/    /' >&2
    rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ {print $2}')
    non2xx=$(printf '%s\n' "$out" | awk -F': *' '/Non-2xx or 3xx responses/ {print $2}')
    sockerr=$(printf '%s\n' "$out" | sed -n 's/^ *Socket errors: *//p')
    [ -n "$rps" ] || { echo "FAILED: could not parse wrk output for $name" >&2; exit 1; }
    non2xx=${non2xx:-0}
    if [ "$non2xx" != 0 ]; then
        echo "FAILURE: $name answered $non2xx non-2xx/3xx responses under load" >&2
        INVALID=1
    fi
    [ -n "${RUNS[$name]+x}" ] || ORDER+=("$name")
    RUNS[$name]="${RUNS[$name]:-} $rps"
    NON2XX[$name]=$(( ${NON2XX[$name]:-0} + non2xx ))
    [ -z "$sockerr" ] || SOCKERR[$name]="${SOCKERR[$name]:+${SOCKERR[$name]}; }$sockerr"
}

mean() { printf '%s\n' $1 | awk '{s += $1; n++} END {if (n) printf "%.0f", s / n}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}'; }

# ---------------------------------------------------------------- build
mkdir -p "$OUT"
if [ "$BUILD" = 1 ]; then
    log "building the C peer -> ${MHD_BIN#"$ROOT"/}"
    # shellcheck disable=SC2046
    cc -O2 -Wall -o "$MHD_BIN" "$HERE/mhd_hello.c" $(pkg-config --cflags --libs libmicrohttpd)
    if [ "$SKIP_SF" = 0 ] && [ -z "${SIGNALFORGE_BIN:-}" ]; then
        log "building SignalForge (release)"
        (cd "$ROOT" && swift build -c release --product signalforge) >&2
    fi
    if [ "$SKIP_HB" = 0 ]; then
        log "building the Hummingbird peer (release; minutes on a cold cache)"
        swift build -c release --package-path "$HERE/hummingbird/hb-hello" \
            --scratch-path "$OUT/.build-hummingbird" >&2
    fi
fi
for b in "$MHD_BIN" $([ "$SKIP_SF" = 1 ] || echo "$SF_BIN") $([ "$SKIP_HB" = 1 ] || echo "$HB_BIN"); do
    [ -x "$b" ] || { echo "FAILED: $b is missing (run without --no-build)" >&2; exit 1; }
done

if [ "$SKIP_SF" = 0 ]; then
    log "starting a throwaway PostgreSQL"
    PG_STARTED=1
    sf_pg_start_any "$TMP/pg"
fi

# ---------------------------------------------------------------- measure
log "$(nproc) cores shared by wrk and the server; wrk -t$THREADS -c$CONNECTIONS -d$DURATION (warm-up $WARMUP)"
SEQ=()
for _ in $(seq 1 "$ROUNDS"); do SEQ+=(c-mhd signalforge hummingbird signalforge-get); done
for s in "${SEQ[@]}"; do
    [ "$s" = signalforge ] && [ "$SKIP_SF" = 1 ] && continue
    [ "$s" = signalforge-get ] && { [ "$SKIP_SF" = 1 ] || [ "$SKIP_GET" = 1 ]; } && continue
    [ "$s" = hummingbird ] && [ "$SKIP_HB" = 1 ] && continue
    bench "$s"
done

# ---------------------------------------------------------------- report
C_MEAN=$(mean "${RUNS[c-mhd]}")
echo
echo "GET /healthz, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, keep-alive, $(nproc) cores shared by client and server"
printf '%-12s  %-24s  %9s  %8s  %7s\n' server "req/s per run" mean "vs c-mhd" non-2xx
for s in "${ORDER[@]}"; do
    m=$(mean "${RUNS[$s]}")
    printf '%-12s  %-24s  %9s  %8s  %7s\n' "$s" "$(printf '%.0f ' ${RUNS[$s]})" "$m" "$(ratio "$m" "$C_MEAN")" "${NON2XX[$s]}"
done
for s in "${ORDER[@]}"; do
    [ -z "${SOCKERR[$s]:-}" ] || echo "wrk socket errors, $s: ${SOCKERR[$s]}"
done
echo
if [ "$SKIP_SF" = 0 ]; then
    SF_MEAN=$(mean "${RUNS[signalforge]}")
    echo "signalforge / c-mhd = $(ratio "$SF_MEAN" "$C_MEAN") (target >= 0.85)"
    if [ "$SKIP_HB" = 0 ]; then
        echo "signalforge / hummingbird = $(ratio "$SF_MEAN" "$(mean "${RUNS[hummingbird]}")") (target > 1)"
    fi
    if [ "$SKIP_GET" = 0 ]; then
        echo "signalforge GET /v1/experiments/{id} (bearer token, PostgreSQL read) / c-mhd /healthz = $(ratio "$(mean "${RUNS[signalforge-get]}")" "$C_MEAN") (target >= 0.3)"
    fi
else
    echo "signalforge: skipped (--skip-signalforge)"
    [ "$SKIP_HB" = 1 ] || echo "hummingbird / c-mhd = $(ratio "$(mean "${RUNS[hummingbird]}")" "$C_MEAN")"
fi
if [ "$INVALID" = 1 ]; then
    echo "FAILURE: non-2xx responses under load (see the non-2xx column); these figures are not valid" >&2
    exit 3
fi
exit 0
