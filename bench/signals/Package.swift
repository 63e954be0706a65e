// swift-tools-version:6.1
// Release benchmarks of the signal path (fusion, outcome labels, walk-forward
// calibration, evaluation). Sources/<Module> are symlinks to the repository's
// own sources (the root package exports no library product for them), so this
// package builds exactly the code the service runs.
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "signals-bench",
    platforms: [.macOS(.v15)],
    targets: [
        .systemLibrary(name: "CZlib", pkgConfig: "zlib"),
        .systemLibrary(name: "CLinux"),
        .target(name: "MarketData", dependencies: ["CZlib", "CLinux"], swiftSettings: upcoming),
        .target(name: "Indicators", swiftSettings: upcoming),
        .target(name: "Patterns", dependencies: ["Indicators"], swiftSettings: upcoming),
        .target(name: "SignalFusion", dependencies: ["Indicators", "Patterns"], swiftSettings: upcoming),
        .target(name: "Analysis", swiftSettings: upcoming),
        .executableTarget(
            name: "LookAheadCheck",
            dependencies: ["Indicators", "Patterns", "SignalFusion"],
            swiftSettings: upcoming
        ),
        .executableTarget(
            name: "SignalsBench",
            dependencies: ["MarketData", "Indicators", "Patterns", "SignalFusion", "Analysis"],
            swiftSettings: upcoming
        ),
    ]
)
