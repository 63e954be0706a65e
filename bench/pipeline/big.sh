#!/usr/bin/env bash
# A dataset larger than the memory budget: 10,000,800 1m bars of one symbol
# (6,945 days, a ~640 MB CSV; its bars would need ~560 MB in memory) through
# load → resample → merge → export to 1h, 4h and 1d with a 256 MB budget.
# `load` validates the file without keeping its bars and `resample` streams it
# from disk; the script prints the server's peak RSS (target <= 320 MB).
#
# Usage: bash bench/pipeline/big.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out=$(DAYS="${DAYS:-6945}" SYMBOLS="${SYMBOLS:-EURUSD}" TIMEFRAMES="${TIMEFRAMES:-1h,4h,1d}" FORMATS="${FORMATS:-csv,parquet}" \
    BUDGET_MB="${BUDGET_MB:-256}" bash "$here/run.sh")
echo "$out"
peak=$(echo "$out" | sed -n 's/^server peak RSS.*: \([0-9]*\) MB;.*/\1/p')
echo "peak RSS ${peak} MB with a ${BUDGET_MB:-256} MB budget (target <= 320 MB): $([ "$peak" -le 320 ] && echo met || echo MISSED)"
