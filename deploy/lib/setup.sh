# Shared set-up for run.sh and test.sh: Debian packages and the Swift toolchain.
# Source it; it defines functions only.

# sf_apt_install PKG...: installs the packages that are missing (idempotent).
sf_apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing ${missing[*]}" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo="sudo"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
}

# The packages the product needs to build and run.
SF_PACKAGES=(libmicrohttpd-dev libpq-dev postgresql libzstd-dev zlib1g-dev pkg-config curl ca-certificates)

# What only the tests need: promtool (Debian ships it in `prometheus`; its
# service is not started) checks deploy/prometheus/alerts.yml.
SF_TEST_PACKAGES=(prometheus)

# sf_require_swift: puts Swift 6 on PATH (from /opt/swift when not already there).
sf_require_swift() {
    if ! command -v swift >/dev/null 2>&1 && [ -x /opt/swift/usr/bin/swift ]; then
        export PATH="/opt/swift/usr/bin:$PATH"
    fi
    if ! command -v swift >/dev/null 2>&1; then
        echo "Swift 6 is not installed: put a Swift 6.x toolchain at /opt/swift (or on PATH) and run again" >&2
        return 1
    fi
}
