// swift-tools-version:6.0
// The Hummingbird peer of the SignalForge HTTP benchmark (bench/http/run.sh).
// A separate package on purpose: it must never enter SignalForge's dependency graph.
import PackageDescription

let package = Package(
    name: "hb-hello",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1")
    ],
    targets: [
        .executableTarget(
            name: "hb-hello",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "Sources/hb-hello"
        )
    ]
)
