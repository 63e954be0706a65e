#!/usr/bin/env bash
# The default experiment (every stage) on 3 symbols x 525,600 1m bars,
# resampled to 15m, 1h and 4h, end to end through a real server.
# Target: under 30 s from POST to succeeded.
#
# Usage: bash bench/pipeline/full.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
STAGES="${STAGES:-load,resample,merge,features,patterns,forecast,fusion,export,analysis}" \
    SENTIMENT="${SENTIMENT:-1}" bash "$here/run.sh"
