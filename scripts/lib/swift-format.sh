# shellcheck shell=bash
# What scripts/lint.sh and scripts/format.sh share: the tool and the paths.

# Every Swift file of the project (the package and the fuzz package).
SF_FORMAT_PATHS=(Package.swift Sources Tests Plugins bench fuzz)

# The path of swift-format: $SWIFT_FORMAT, the one beside the toolchain's
# swift, or one on PATH.
sf_swift_format() {
    if [ -n "${SWIFT_FORMAT:-}" ]; then echo "$SWIFT_FORMAT"; return; fi
    local swift
    swift=$(command -v swift || true)
    [ -n "$swift" ] || { [ -x /opt/swift/usr/bin/swift ] && swift=/opt/swift/usr/bin/swift; }
    if [ -n "$swift" ] && [ -x "$(dirname "$(readlink -f "$swift")")/swift-format" ]; then
        echo "$(dirname "$(readlink -f "$swift")")/swift-format"
        return
    fi
    if command -v swift-format >/dev/null; then command -v swift-format; return; fi
    echo "swift-format not found: it ships with Swift 6 (usr/bin/swift-format); set SWIFT_FORMAT" >&2
    return 1
}
