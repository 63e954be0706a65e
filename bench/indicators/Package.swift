// swift-tools-version:6.1
// Release benchmark of the Indicators and Patterns modules against TA-Lib.
// Sources/Indicators and Sources/Patterns are symlinks to the repository's
// own sources (the root package exports no library product for them), so
// this package builds exactly the code the service runs.
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "indicators-bench",
    platforms: [.macOS(.v15)],
    targets: [
        .target(name: "Indicators", swiftSettings: upcoming),
        .target(name: "Patterns", dependencies: ["Indicators"], swiftSettings: upcoming),
        .executableTarget(
            name: "IndicatorsBench",
            dependencies: ["Indicators", "Patterns"],
            swiftSettings: upcoming
        ),
    ]
)
