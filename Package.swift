// swift-tools-version:6.1
// SignalForge — experiments over market data, served over HTTP.
// Layers: C shims → wrappers that own every C call → Store/Service → executable.
import PackageDescription

let upcoming: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "signalforge",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "signalforge", targets: ["signalforge"]),
        .library(name: "MicroHTTP", targets: ["MicroHTTP"]),
        .library(name: "PostgresClient", targets: ["PostgresClient"]),
        // For the fuzz package (fuzz/), which reads CSV through it.
        .library(name: "MarketData", targets: ["MarketData"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        // C shims: imported only by the wrapper directly above them.
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),
        // openat2(2), which Glibc does not wrap, and glibc's malloc_trim/mallopt (no library to link).
        .systemLibrary(name: "CLinux"),
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),

        // SHA-256 (token hashes, migration checksums, upload and download digests).
        .target(name: "Hashing", swiftSettings: upcoming),

        // Wrappers that own every C call; no C type in their public API.
        .target(
            name: "MicroHTTP",
            dependencies: [
                "CMicroHTTPD",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .target(
            name: "PostgresClient",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),

        // Computation modules: columnar arrays in, columnar arrays out; no
        // network or database I/O, no HTTP.
        .target(name: "MarketData", dependencies: ["CZlib", "CLinux"], swiftSettings: upcoming),
        .target(name: "Export", dependencies: ["MarketData", "CZstd"], swiftSettings: upcoming),
        .target(name: "Indicators", swiftSettings: upcoming),
        .target(name: "Patterns", dependencies: ["Indicators"], swiftSettings: upcoming),
        .target(name: "Forecasting", swiftSettings: upcoming),
        .target(name: "SignalFusion", dependencies: ["Indicators", "Patterns"], swiftSettings: upcoming),
        .target(name: "Analysis", swiftSettings: upcoming),

        // The experiment engine: lifecycle, stage runner, progress, events.
        .target(
            name: "Pipeline",
            dependencies: ["CLinux", "Hashing", .product(name: "Logging", package: "swift-log")],
            swiftSettings: upcoming
        ),

        .target(
            name: "Stages",
            dependencies: [
                "Pipeline", "MarketData", "Export", "Indicators", "Patterns", "Forecasting", "SignalFusion", "Analysis",
                .product(name: "Logging", package: "swift-log"),
            ], swiftSettings: upcoming),

        // Persistence: embedded migrations and repositories.
        .target(
            name: "Store",
            dependencies: [
                "Hashing",
                "PostgresClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),

        // HTTP routes, auth, configuration, metrics.
        .target(
            name: "Service",
            dependencies: [
                "MicroHTTP",
                "PostgresClient",
                "Pipeline",
                "Store",
                "Hashing",
                "MarketData",
                "Stages",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Yams", package: "Yams"),
            ],
            exclude: ["UI"],
            swiftSettings: upcoming,
            plugins: ["EmbedFiles"]
        ),
        .executableTarget(name: "embedder", path: "Sources/embedder"),
        .plugin(name: "EmbedFiles", capability: .buildTool(), dependencies: ["embedder"]),

        // The HTTP client behind `signalforge experiments …` (URLSession; no SwiftNIO).
        .target(
            name: "SignalForgeClient",
            dependencies: ["Hashing", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: upcoming
        ),

        .executableTarget(
            name: "signalforge",
            dependencies: [
                "SignalForgeClient",
                "Service",
                "Pipeline",
                "Store",
                "PostgresClient",
                "Stages",
                "MarketData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),

        // Shared test helpers: a throwaway PostgreSQL, a raw HTTP/1.1 client.
        .target(
            name: "TestSupport",
            dependencies: [
                "PostgresClient", "Pipeline",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: upcoming
        ),
        // Engine benchmarks (bench/engine/run.sh builds it in release).
        .executableTarget(
            name: "sf-bench",
            dependencies: [
                "Service", "Pipeline", "MicroHTTP", "PostgresClient", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/engine",
            exclude: ["run.sh"],
            swiftSettings: upcoming
        ),

        // A server with test stages, for tests that kill -9 a real process.
        .executableTarget(
            name: "sf-test-server",
            dependencies: ["Service", "Pipeline", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestServer",
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "MicroHTTPTests",
            dependencies: ["MicroHTTP", "TestSupport"],
            resources: [.copy("Corpus")],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "PostgresClientTests",
            dependencies: ["PostgresClient", "TestSupport"],
            swiftSettings: upcoming
        ),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "TestSupport"], swiftSettings: upcoming),
        .testTarget(name: "StagesTests", dependencies: ["Stages", "Pipeline", "MarketData"], swiftSettings: upcoming),
        .testTarget(
            name: "MarketDataTests", dependencies: ["MarketData", "TestSupport"], resources: [.copy("Fixtures")], swiftSettings: upcoming),
        .testTarget(name: "ExportTests", dependencies: ["Export", "MarketData", "TestSupport"], swiftSettings: upcoming),
        .testTarget(name: "IndicatorsTests", dependencies: ["Indicators"], resources: [.copy("Fixtures")], swiftSettings: upcoming),
        .testTarget(
            name: "PatternsTests", dependencies: ["Patterns", "Indicators"], resources: [.copy("Fixtures")], swiftSettings: upcoming),
        .testTarget(name: "ForecastingTests", dependencies: ["Forecasting"], swiftSettings: upcoming),
        .testTarget(name: "SignalFusionTests", dependencies: ["SignalFusion", "Indicators", "Patterns"], swiftSettings: upcoming),
        .testTarget(name: "AnalysisTests", dependencies: ["Analysis"], swiftSettings: upcoming),
        .testTarget(
            name: "ClientTests",
            dependencies: [
                "SignalForgeClient", "Hashing", "Service", "Store", "Pipeline", "PostgresClient", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "BrowserTests",
            dependencies: [
                "Hashing", "Service", "Store", "Pipeline", "PostgresClient", "TestSupport", "Stages", "MarketData",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: upcoming
        ),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "Service", "Store", "MicroHTTP", "PostgresClient", "Pipeline", "TestSupport", "Stages", "MarketData", "Indicators",
                "Forecasting", "Hashing",
            ],
            resources: [.copy("Corpus")],
            swiftSettings: upcoming
        ),
    ]
)
