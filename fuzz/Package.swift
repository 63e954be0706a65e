// swift-tools-version:6.1
// libFuzzer targets for the two parsers that read untrusted bytes: the OHLCV
// CSV reader (MarketData) and the JSON request parser (Service/JSON). A package
// of its own, so the main package's `swift build` and `swift test` never see
// `-sanitize=fuzzer`. See fuzz/README.md.
import Foundation
import PackageDescription

// A path dependency's identity is its folder's name (`signalforge`, or a
// worktree's name): read it rather than spell it.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
let signalforge = root.lastPathComponent.lowercased()

// No top-level code: libFuzzer's driver is the entry point (see Driver.swift).
let entry: [SwiftSetting] = [.unsafeFlags(["-parse-as-library"])]

let package = Package(
    name: "signalforge-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzCSV",
            dependencies: [.product(name: "MarketData", package: signalforge)],
            swiftSettings: entry
        ),
        // JSONValue.swift is a symbolic link to Sources/Service/JSON/JSONValue.swift:
        // the parser alone, without the rest of Service.
        .executableTarget(
            name: "FuzzJSON",
            dependencies: [.product(name: "MicroHTTP", package: signalforge)],
            swiftSettings: entry
        ),
    ]
)
