// swift-tools-version:6.1
// Benchmarks of the MarketData and Export modules, built in release from the
// product's own sources (Sources/* here are symlinks to ../../Sources/*).
// Run: bash bench/marketdata/run.sh
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "marketdata-bench",
    platforms: [.macOS(.v15)],
    targets: [
        .systemLibrary(name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .target(name: "MarketData", dependencies: ["CZlib"], swiftSettings: upcoming),
        .target(name: "Export", dependencies: ["MarketData", "CZstd"], swiftSettings: upcoming),
        .executableTarget(name: "mdbench", dependencies: ["MarketData", "Export"], swiftSettings: upcoming),
    ]
)
