#!/usr/bin/env bash
# The signal path in release: the evaluation's random-entry baseline (runs/s),
# issue 13's acceptance scenarios with every calibration bin, and the fusion
# stage's work on the default demo's shape. CPU time (the machine is shared).
# Usage: bash bench/signals/run.sh [random|calibration [FROM TO]|edge|demo]
#   env: CALIBRATION_L2, MIN_HISTORY override the fusion defaults (experiments)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
swift build -c release --package-path "$here" --product SignalsBench >&2
"$here/.build/release/SignalsBench" "$@"
