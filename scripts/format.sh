#!/usr/bin/env bash
# Rewrites the Swift sources in place to match .swift-format (140 columns,
# 4 spaces), then lints what is left (findings the formatter cannot fix,
# such as names or `forEach`). Commit the result on its own.
#
#   scripts/format.sh                 # Package.swift, Sources, Tests, Plugins, bench, fuzz
#   scripts/format.sh Sources/Store   # only these paths
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/swift-format.sh
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=("${SF_FORMAT_PATHS[@]}")
sf=$(sf_swift_format)
"$sf" format --in-place --parallel --recursive "${paths[@]}"
echo "==> formatted; what the formatter cannot fix:" >&2
"$sf" lint --strict --parallel --recursive "${paths[@]}"
