#!/usr/bin/env bash
# Sets up SignalForge on a Debian 12 machine and runs it: installs the Debian
# packages it needs, builds the release binary, starts a private PostgreSQL
# under .data/postgres (unless DATABASE_URL is set), migrates, serves on
# 127.0.0.1:8080 and prints a development token and a curl line to try.
# Idempotent; Ctrl-C stops the server and the private cluster cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/lib/setup.sh
. deploy/lib/postgres.sh

sf_apt_install "${SF_PACKAGES[@]}"
sf_require_swift

echo "==> building (release)" >&2
swift build -c release --product signalforge
BIN="$PWD/.build/release/signalforge"

DATA_DIR="${SIGNALFORGE_DATA_DIR:-$PWD/.data}"
mkdir -p "$DATA_DIR"
chmod 755 "$DATA_DIR"
export SIGNALFORGE_DATA_DIR="$DATA_DIR"
export SIGNALFORGE_ADDRESS="${SIGNALFORGE_ADDRESS:-127.0.0.1}"
export SIGNALFORGE_PORT="${SIGNALFORGE_PORT:-8080}"

PG_DIR="$DATA_DIR/postgres"
server_pid=""
cleanup() {
    trap - EXIT INT TERM
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ -n "${SF_PRIVATE_PG:-}" ]; then
        echo "==> stopping the private PostgreSQL" >&2
        sf_pg_stop "$PG_DIR"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "${DATABASE_URL:-}" ]; then
    SF_PRIVATE_PG=1
    port_file="$DATA_DIR/postgres.port"
    [ -s "$port_file" ] || sf_free_port >"$port_file"
    pg_port=$(cat "$port_file")
    if [ -f "$PG_DIR/postmaster.pid" ] && ! sf_pg_as_owner "$(sf_pg_bindir)/pg_ctl" -D "$PG_DIR" status >/dev/null 2>&1; then
        rm -f "$PG_DIR/postmaster.pid"  # left by a killed run
    fi
    echo "==> private PostgreSQL in $PG_DIR (port $pg_port)" >&2
    sf_pg_start "$PG_DIR" "$pg_port"
fi

# A development token, kept for the developer in .data/dev-token; the server
# itself only ever sees the hash in the tokens file.
export SIGNALFORGE_TOKENS_FILE="${SIGNALFORGE_TOKENS_FILE:-$DATA_DIR/tokens}"
if [ ! -s "$DATA_DIR/dev-token" ] || ! grep -q "^dev " "$SIGNALFORGE_TOKENS_FILE" 2>/dev/null; then
    [ -f "$SIGNALFORGE_TOKENS_FILE" ] && sed -i '/^dev /d' "$SIGNALFORGE_TOKENS_FILE"
    (umask 077 && "$BIN" token new --name dev --scope admin --file "$SIGNALFORGE_TOKENS_FILE" >"$DATA_DIR/dev-token")
fi
TOKEN=$(cat "$DATA_DIR/dev-token")

"$BIN" migrate
"$BIN" serve &
server_pid=$!

url="http://$SIGNALFORGE_ADDRESS:$SIGNALFORGE_PORT"
for _ in $(seq 1 100); do
    curl -fsS "$url/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { echo "the server exited; see the log above" >&2; exit 1; }
    sleep 0.1
done

# The main job: sample data (three correlated FX-like symbols, one year of
# 1m bars, ~525,000 each; made once) and a demo experiment over it.
if [ ! -s "$DATA_DIR/samples/USDJPY_1m.csv" ]; then
    echo "==> writing sample data to $DATA_DIR/samples" >&2
    "$BIN" sample-data --out "$DATA_DIR/samples" --symbols EURUSD,GBPUSD,USDJPY --timeframe 1m --days 365 --seed 42 --sentiment
fi
demo=$(cat <<'JSON'
{"name": "demo: fx majors", "priority": "high",
 "datasets": [{"symbol": "EURUSD", "path": "samples/EURUSD_1m.csv"},
              {"symbol": "GBPUSD", "path": "samples/GBPUSD_1m.csv"},
              {"symbol": "USDJPY", "path": "samples/USDJPY_1m.csv"}],
 "timeframes": ["15m", "1h", "4h"]}
JSON
)
created=$(curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -H "Idempotency-Key: demo-$(date -u +%Y%m%d%H%M%S)" "$url/v1/experiments" -d "$demo")
id=$(printf '%s' "$created" | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')

# "No edge" next to "edge" (docs/evaluation.md): two years of 1h random walks,
# and the same with a planted, forecastable trend (--edge 0.35). The report's
# evaluation.overall.verdict should read no_edge (or insufficient_data) for the
# first and edge for the second.
if [ ! -s "$DATA_DIR/samples-edge/USDJPY_1h.csv" ]; then
    "$BIN" sample-data --out "$DATA_DIR/samples" --symbols EURUSD,USDJPY --timeframe 1h --days 730 --seed 7 >/dev/null
    "$BIN" sample-data --out "$DATA_DIR/samples-edge" --symbols EURUSD,USDJPY --timeframe 1h --days 730 --seed 7 --edge 0.35 >/dev/null
fi
pair_ids=""
for variant in "no edge:samples" "edge:samples-edge"; do
    label=${variant%%:*}
    dir=${variant#*:}
    body=$(printf '{"name": "demo: %s", "priority": "high", "datasets": [{"symbol": "EURUSD", "path": "%s/EURUSD_1h.csv"}, {"symbol": "USDJPY", "path": "%s/USDJPY_1h.csv"}], "timeframes": ["1h"]}' "$label" "$dir" "$dir")
    made=$(curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -H "Idempotency-Key: demo-$dir-$(date -u +%Y%m%d%H%M%S)" "$url/v1/experiments" -d "$body")
    pair_ids="$pair_ids $(printf '%s' "$made" | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')"
done
set -- $pair_ids
noedge_id=${1:-}
edge_id=${2:-}

cat >&2 <<MSG

SignalForge is serving on $url   (Ctrl-C stops it and the private PostgreSQL)
Development token (scope admin; also in $DATA_DIR/dev-token):

    export SIGNALFORGE_TOKEN=$TOKEN

The web view, opened on the demo experiment and its charts (the link hands
the token to the page, which keeps it for the tab):

    $url/ui/#token=$TOKEN&go=/experiments/$id

A demo experiment (the default: every stage) is running over the sample data: $id
Watch it:

    curl -s -H "Authorization: Bearer \$SIGNALFORGE_TOKEN" $url/v1/experiments/$id
    curl -s -H "Authorization: Bearer \$SIGNALFORGE_TOKEN" $url/v1/experiments/$id/progress
    curl -sN -H "Authorization: Bearer \$SIGNALFORGE_TOKEN" "$url/v1/experiments/$id/logs?follow=true"
    curl -s -H "Authorization: Bearer \$SIGNALFORGE_TOKEN" $url/v1/experiments/$id/artifacts
    curl -s -H "Authorization: Bearer \$SIGNALFORGE_TOKEN" "$url/v1/experiments/$id/signals?accepted=true&limit=20"
    curl -s -H "Authorization: Bearer \$SIGNALFORGE_TOKEN" $url/v1/experiments/$id/report

Two more tell "no edge" from "edge" (random walks: $noedge_id; a planted trend: $edge_id):

    signalforge experiments report $noedge_id    # verdict: no_edge or insufficient_data
    signalforge experiments report $edge_id      # verdict: edge

MSG
wait "$server_pid"
