#!/usr/bin/env bash
# MarketData/Export benchmarks against pandas/pyarrow, measured in one run.
# Usage: bash bench/marketdata/run.sh   (env: CSV_ROWS, BARS to change the sizes)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$root/deploy/lib/python.sh"
sf_python_venv
csv_rows="${CSV_ROWS:-1000000}"
bars="${BARS:-10000000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

swift build -c release --package-path "$here" --scratch-path "$root/.build-md-rel" --product mdbench >&2
bin="$root/.build-md-rel/release/mdbench"
py="$SIGNALFORGE_PYTHON"

"$bin" gen-csv "$work/ohlcv.csv" "$csv_rows"
echo "CSV: $csv_rows rows, $(du -m "$work/ohlcv.csv" | cut -f1) MB; resample/Parquet: $bars 1m bars"

row() {  # name target swift-line peer-line
    awk -v name="$1" -v target="$2" -v s="$3" -v p="$4" 'BEGIN {
        split(s, a, " "); split(p, b, " ");
        sr = a[2] / a[3]; pr = b[2] / b[3];
        printf "%-20s swift %8.3f s %12.0f rows/s | peer %8.3f s %12.0f rows/s | ratio %6.2fx (target >= %s)\n",
            name, a[3], sr, b[3], pr, sr / pr, target }'
}
row "csv parse"        "2"   "$("$bin" csv "$work/ohlcv.csv")"          "$("$py" "$here/peer.py" csv "$work/ohlcv.csv")"
row "resample 1m->1h"  "5"   "$("$bin" resample "$bars")"               "$("$py" "$here/peer.py" resample "$bars")"
row "parquet zstd"     "0.5" "$("$bin" parquet "$bars" "$work/s.parquet")" "$("$py" "$here/peer.py" parquet "$bars" "$work/p.parquet")"
echo "parquet sizes: swift $(du -m "$work/s.parquet" | cut -f1) MB, pyarrow $(du -m "$work/p.parquet" | cut -f1) MB"
