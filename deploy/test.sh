#!/usr/bin/env bash
# Runs the whole test suite against a throwaway PostgreSQL: installs what the
# build and the tests need, starts a cluster on a free port in a temporary
# folder, runs `swift test` with DATABASE_URL pointing at it, stops it, and
# exits with the tests' status. Works with CI=true and no standard input.
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/lib/setup.sh
. deploy/lib/postgres.sh
. deploy/lib/python.sh
. deploy/lib/browser.sh

# shellcheck disable=SC2086
sf_apt_install "${SF_PACKAGES[@]}" "${SF_TEST_PACKAGES[@]}" $SF_PYTHON_PACKAGES
sf_require_swift

# The Prometheus alert rules: valid, and firing as their unit tests expect.
echo "==> promtool: deploy/prometheus/alerts.yml" >&2
promtool check rules deploy/prometheus/alerts.yml
(cd deploy/prometheus && promtool test rules alerts_test.yml)
# The peers some tests compare with (pandas, pyarrow, polars, duckdb), in a
# virtualenv the project owns (~/.cache/signalforge/venv; reused when present).
sf_python_venv
# Headless Chromium for the web view's browser tests (Debian's package).
sf_browser >/dev/null

tmp=$(mktemp -d /tmp/signalforge-test.XXXXXX)
chmod 755 "$tmp"
cleanup() {
    sf_pg_stop "$tmp/pg"
    rm -rf "$tmp"
}
trap cleanup EXIT

sf_pg_start_any "$tmp/pg"
echo "==> PostgreSQL for the tests: $DATABASE_URL" >&2

# The tests start their own extra clusters (restarts, outages); they find the
# server binaries the same way this script does.
# Test selection (--filter/--skip and their values) goes to `swift test` only;
# every other argument (e.g. -c release) goes to both the build and the run.
build_args=()
test_args=()
while [ "$#" -gt 0 ]; do
    case "$1" in
    --filter | --skip)
        test_args+=("$1" "${2:-}")
        shift 2 || shift
        ;;
    --filter=* | --skip=*) test_args+=("$1"); shift ;;
    *) build_args+=("$1"); test_args+=("$1"); shift ;;
    esac
done
# Suites that measure latency under an attack of their own (the slow-client
# test holds 1,100 connections and times /healthz) run alone after the rest,
# so the other suites' CPU load on this 2-core machine is not part of what
# they measure. With an explicit --filter/--skip, exactly that selection runs.
isolated=SlowClientTests
selected=no
for a in ${test_args[@]+"${test_args[@]}"}; do
    case "$a" in --filter | --skip | --filter=* | --skip=*) selected=yes ;; esac
done
# Style: the Swift sources against .swift-format (scripts/lint.sh), on a whole
# run (not with --filter/--skip); SF_LINT=0 skips it. A finding fails the run,
# after the tests (they run anyway).
lint_status=0
if [ "$selected" = no ] && [ "${SF_LINT:-1}" != 0 ]; then
    echo "==> swift-format lint --strict (scripts/lint.sh)" >&2
    scripts/lint.sh || lint_status=$?
fi
# Servers the tests start compute every stage (the server's default is on,
# but tests compare runs with each other and the stage cache would restore one
# from the other): the stage cache's own tests turn it on (see docs/cache.md).
export SIGNALFORGE_CACHE="${SIGNALFORGE_CACHE:-off}"
status=0
swift build --build-tests ${build_args[@]+"${build_args[@]}"} || status=$?
if [ "$status" -eq 0 ]; then
    if [ "$selected" = yes ]; then
        swift test --skip-build ${test_args[@]+"${test_args[@]}"} || status=$?
    else
        swift test --skip-build --skip "$isolated" ${test_args[@]+"${test_args[@]}"} || status=$?
        echo "==> alone: $isolated" >&2
        swift test --skip-build --filter "$isolated" ${test_args[@]+"${test_args[@]}"} || status=$?
    fi
fi
if [ "$lint_status" -ne 0 ]; then
    echo "==> scripts/lint.sh found style findings (scripts/format.sh fixes most)" >&2
    [ "$status" -ne 0 ] || status=$lint_status
fi
exit "$status"
