#!/usr/bin/env bash
# shellcheck shell=bash
# SignalForge — the headless browser that the web view's tests drive
# (Tests/BrowserTests): Debian's `chromium`, through the DevTools protocol.
#
# Source it and call sf_browser, or run it:
#
#   . deploy/lib/browser.sh && sf_browser     # exports SIGNALFORGE_CHROMIUM
#   deploy/lib/browser.sh                     # prints the path
#
# sf_browser installs the packages in SF_BROWSER_PACKAGES with apt-get when
# one is missing (idempotent: no apt-get at all once they are there; sudo when
# not root; works with no standard input), checks that the browser starts
# headless, exports SIGNALFORGE_CHROMIUM=<path> (the tests look there first)
# and prints the path on standard output. Messages go to standard error.

# The browser, and fonts so that screenshots have real glyphs.
SF_BROWSER_PACKAGES=(chromium fonts-liberation fonts-dejavu-core)

sf_browser() {
    local missing=() p
    for p in "${SF_BROWSER_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing ${missing[*]} (headless browser for the web view's tests)" >&2
        local sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2 || {
            echo "sf_browser: apt-get update failed" >&2
            return 1
        }
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >&2 || {
            echo "sf_browser: apt-get install ${missing[*]} failed" >&2
            return 1
        }
    fi
    local path
    path="$(command -v chromium 2>/dev/null || true)"
    [ -n "$path" ] || [ ! -x /usr/bin/chromium ] || path=/usr/bin/chromium
    if [ -z "$path" ]; then
        echo "sf_browser: the chromium package is installed but no chromium binary was found" >&2
        return 1
    fi
    if ! "$path" --headless=new --no-sandbox --version </dev/null >/dev/null 2>&1; then
        echo "sf_browser: $path does not run: $("$path" --headless=new --no-sandbox --version 2>&1 </dev/null | tail -n 3)" >&2
        return 1
    fi
    export SIGNALFORGE_CHROMIUM="$path"
    echo "$path"
}

# Run directly: install if needed and print the path.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    sf_browser
fi
