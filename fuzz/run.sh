#!/usr/bin/env bash
# Builds a libFuzzer target and fuzzes it, then merges what it found into the
# committed corpus (minimised: only inputs that add coverage are kept).
#
#   bash fuzz/run.sh csv|json [SECONDS]      (default 600)
#
# The working corpus is fuzz/.work/<name> (seeded from fuzz/seeds/<name> and
# fuzz/corpus/<name>); crashes, hangs (> 1 s) and out-of-memory inputs are
# written to fuzz/.work/<name>-artifacts/ and the script exits non-zero. Fix
# the bug, copy the input into fuzz/corpus/<name>/ as a regression, run again.
set -euo pipefail
cd "$(dirname "$0")"
name=${1:?usage: fuzz/run.sh csv|json [SECONDS]}
seconds=${2:-600}
case $name in
    csv) product=FuzzCSV; max_len=8192 ;;
    json) product=FuzzJSON; max_len=4096 ;;
    *) echo "unknown target '$name' (csv or json)" >&2; exit 2 ;;
esac
# lld: gold crashes formatting a diagnostic for the instrumented MarketData.
swift build -c release -Xswiftc -sanitize=fuzzer -Xswiftc -use-ld=lld --product "$product" >&2
bin=.build/release/$product
work=.work/$name
artifacts=.work/$name-artifacts
mkdir -p "$work" "$artifacts" "corpus/$name"
cp -n "seeds/$name"/* "corpus/$name"/* "$work"/ 2>/dev/null || true
# Swift's own crash reporter would exit before libFuzzer saves the input.
export SWIFT_BACKTRACE=enable=no
"$bin" -max_total_time="$seconds" -timeout=1 -max_len="$max_len" -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$work"
# Minimise (a set cover of the features) into a fresh folder; regression-* files stay as they are.
fresh=$(mktemp -d)
"$bin" -set_cover_merge=1 -max_len="$max_len" "$fresh" "seeds/$name" "$work" >/dev/null 2>&1
find "corpus/$name" -type f ! -name 'regression-*' -delete
cp "$fresh"/* "corpus/$name"/
rm -rf "$fresh"
echo "corpus/$name: $(ls "corpus/$name" | wc -l) files, $(du -sh "corpus/$name" | cut -f1)" >&2
