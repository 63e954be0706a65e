#!/usr/bin/env bash
# Checks the Swift sources against .swift-format (140 columns, 4 spaces) and
# fails on any finding. deploy/test.sh runs it; run it alone before a commit.
#
#   scripts/lint.sh                 # Package.swift, Sources, Tests, Plugins, bench, fuzz
#   scripts/lint.sh Sources/Store   # only these paths
#
# swift-format ships with the Swift toolchain (/opt/swift/usr/bin/swift-format);
# SWIFT_FORMAT overrides the path.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/swift-format.sh
paths=("$@")
[ ${#paths[@]} -gt 0 ] || paths=("${SF_FORMAT_PATHS[@]}")
"$(sf_swift_format)" lint --strict --parallel --recursive "${paths[@]}"
