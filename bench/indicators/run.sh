#!/usr/bin/env bash
# Benchmark: the 8 indicators and 8 candlestick patterns on 10,000,000 bars,
# ns/bar next to TA-Lib (PyPI `ta-lib`, its bundled C library), measured in
# the same run: in the Swift process itself (the wheel's C library loaded with
# dlopen, interleaved rounds) and through the Python wrapper. See README.md.
# Usage: bash bench/indicators/run.sh [BARS]
#   BENCH_ROUNDS, BENCH_ONLY, BENCH_CHECK: see Sources/IndicatorsBench/main.swift
#   SCRATCH: the Swift build directory (default: <repo>/.build-ind-rel)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$here/out"
bars="${1:-10000000}"
scratch="${SCRATCH:-$root/.build-ind-rel}"
mkdir -p "$out"

if [ ! -x "$out/venv/bin/python" ]; then
    python3 -m venv "$out/venv"
fi
py="$out/venv/bin/python"
"$py" -c "import talib, numpy" 2>/dev/null || "$out/venv/bin/pip" install -q ta-lib numpy
# The C library inside the wheel (auditwheel puts it in ta_lib.libs/).
lib="$("$py" - <<'PY'
import glob, os, talib
site = os.path.dirname(os.path.dirname(talib.__file__))
hits = sorted(glob.glob(os.path.join(site, "ta_lib.libs", "libta-lib*"))
              + glob.glob(os.path.join(site, "ta_lib", ".dylibs", "libta-lib*")))
print(hits[0] if hits else "")
PY
)"

echo "== Swift release build"
swift build -c release --package-path "$here" --scratch-path "$scratch" --product IndicatorsBench 2>&1 | tail -1

echo "== TA-Lib $("$py" -c 'import talib; print(talib.__ta_version__.decode())') via Python (also writes the bars)"
"$py" "$here/talib_bench.py" "$bars" "$out"

echo "== Swift and TA-Lib C (${lib:-not found})"
"$scratch/release/IndicatorsBench" "$out/bars.f64" "$out/talib.tsv" $lib
rm -f "$out/bars.f64"
