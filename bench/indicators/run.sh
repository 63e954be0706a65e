#!/usr/bin/env bash
# Benchmark: the 8 indicators and 8 candlestick patterns on 10,000,000 bars,
# ns/bar next to TA-Lib (PyPI `ta-lib`, its bundled C library) measured in
# the same run, and the ratio. Usage: bash bench/indicators/run.sh [BARS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/out"
bars="${1:-10000000}"
mkdir -p "$out"

if [ ! -x "$out/venv/bin/python" ]; then
    python3 -m venv "$out/venv"
fi
"$out/venv/bin/python" -c "import talib, numpy" 2>/dev/null || "$out/venv/bin/pip" install -q ta-lib numpy

echo "== TA-Lib (ta-lib $("$out/venv/bin/python" -c 'import talib; print(talib.__ta_version__.decode())'))"
"$out/venv/bin/python" "$here/talib_bench.py" "$bars" "$out"

echo "== Swift release build"
swift build -c release --package-path "$here" --scratch-path "$root/.build-ind-rel" --product IndicatorsBench 2>&1 | tail -1
"$root/.build-ind-rel/release/IndicatorsBench" "$out/bars.f64" "$out/talib.tsv"
rm -f "$out/bars.f64"
