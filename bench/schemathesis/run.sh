#!/usr/bin/env bash
# Contract check: schemathesis against a real SignalForge server.
#
#   bash bench/schemathesis/run.sh [extra `st run` options…]
#
# Installs schemathesis (pinned) into ~/.cache/signalforge/schemathesis-venv,
# builds `signalforge` (debug; SIGNALFORGE_BIN=path uses that binary instead),
# starts a private PostgreSQL and a server with an admin token in a temporary
# folder, then runs
#
#   st run $URL/openapi.yaml --phases examples,coverage,fuzzing \
#       --checks not_a_server_error,response_schema_conformance
#
# with the settings in schemathesis.toml (the read operations of one real,
# finished experiment), and prints its summary. Exit status: schemathesis's
# (0 = every check held).
# Env: ST_MAX_EXAMPLES (per operation in the fuzzing phase; default 50),
#      ST_SEED (default 1), ST_WORKERS (default 2),
#      ST_SCHEMA (a spec file to test instead of the server's /openapi.yaml).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"
. deploy/lib/setup.sh
. deploy/lib/postgres.sh

SCHEMATHESIS_VERSION=4.32.5
VENV="${SF_SCHEMATHESIS_VENV:-$HOME/.cache/signalforge/schemathesis-venv}"
if ! "$VENV/bin/st" --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    echo "==> installing schemathesis $SCHEMATHESIS_VERSION into $VENV" >&2
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION"
fi

if [ -z "${SIGNALFORGE_BIN:-}" ]; then
    echo "==> building signalforge" >&2
    swift build --product signalforge >&2
    SIGNALFORGE_BIN="$ROOT/.build/debug/signalforge"
fi

tmp=$(mktemp -d /tmp/signalforge-schemathesis.XXXXXX)
chmod 755 "$tmp"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    sf_pg_stop "$tmp/pg"
    rm -rf "$tmp"
}
trap cleanup EXIT

sf_pg_start_any "$tmp/pg"
export SIGNALFORGE_DATA_DIR="$tmp/data"
export SIGNALFORGE_PORT
SIGNALFORGE_PORT=$(sf_free_port)
export SIGNALFORGE_ADDRESS=127.0.0.1
export SIGNALFORGE_TOKENS_FILE="$tmp/tokens"
export SIGNALFORGE_LOG_LEVEL=warning
export SIGNALFORGE_ACCESS_LOG=false
mkdir -p "$SIGNALFORGE_DATA_DIR"
TOKEN=$("$SIGNALFORGE_BIN" token new --name schemathesis --scope admin --file "$SIGNALFORGE_TOKENS_FILE" | grep -o 'sf_[A-Za-z0-9_-]*' | head -n 1)
# A little data, so that paths to real files exist.
"$SIGNALFORGE_BIN" sample-data --out "$SIGNALFORGE_DATA_DIR/samples" --symbols EURUSD --timeframe 1m --days 2 --seed 1 >/dev/null

"$SIGNALFORGE_BIN" serve 2>"$tmp/server.log" &
server_pid=$!
URL="http://127.0.0.1:$SIGNALFORGE_PORT"
for _ in $(seq 1 300); do
    curl -fsS "$URL/healthz" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.log" >&2; echo "the server exited" >&2; exit 1; }
    sleep 0.1
done
# A finished experiment for the read operations (see schemathesis.toml).
auth="Authorization: Bearer $TOKEN"
SF_EXPERIMENT_ID=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' "$URL/v1/experiments" \
    -d '{"name":"schemathesis","datasets":[{"symbol":"EURUSD","path":"samples/EURUSD_1m.csv"}],"timeframes":["1h"]}' \
    | sed -n 's/.*"id":"\([0-9a-f-]*\)".*/\1/p')
export SF_EXPERIMENT_ID
for _ in $(seq 1 600); do
    state=$(curl -fsS -H "$auth" "$URL/v1/experiments/$SF_EXPERIMENT_ID" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
    case $state in succeeded | failed | cancelled) break ;; esac
    sleep 0.2
done
echo "==> experiment $SF_EXPERIMENT_ID: $state" >&2
echo "==> schemathesis $SCHEMATHESIS_VERSION against $URL" >&2

status=0
"$VENV/bin/st" --config-file "$HERE/schemathesis.toml" run "${ST_SCHEMA:-$URL/openapi.yaml}" --url "$URL" \
    -H "Authorization: Bearer $TOKEN" \
    --phases examples,coverage,fuzzing \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "${ST_MAX_EXAMPLES:-50}" --seed "${ST_SEED:-1}" --workers "${ST_WORKERS:-2}" \
    --request-timeout 10 --report-dir "$tmp/report" \
    "$@" || status=$?
# Experiments that schemathesis started over made-up datasets fail: expected.
if grep -E 'level=(error|critical)' "$tmp/server.log" | grep -qv 'msg="experiment failed"'; then
    echo "==> server errors logged during the run:" >&2
    grep -E 'level=(error|critical)' "$tmp/server.log" | grep -v 'msg="experiment failed"' | head -n 20 >&2
fi
exit "$status"
