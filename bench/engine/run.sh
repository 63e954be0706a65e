#!/usr/bin/env bash
# Engine benchmarks in release against a throwaway PostgreSQL:
#   bash bench/engine/run.sh [bus|logs|pause|sse|followers|all]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
. deploy/lib/postgres.sh
swift build -c release --product sf-bench >&2
tmp=$(mktemp -d /tmp/sf-bench.XXXXXX)
chmod 755 "$tmp"
trap 'sf_pg_stop "$tmp/pg"; rm -rf "$tmp"' EXIT
sf_pg_start_any "$tmp/pg"
"$root/.build/release/sf-bench" "${1:-all}"
