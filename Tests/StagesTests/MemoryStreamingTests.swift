import Foundation
import Logging
import MarketData
import Synchronization
import Testing

@testable import Pipeline
@testable import Stages

/// The stages' reaction to memory pressure changes where tables live, never
/// what is computed: the pipeline run with the pressure forced to `shrink` or
/// `spill` writes the same checkpoints and files, bit for bit, as with none.
struct MemoryStreamingTests {
    struct Environment: StageEnvironment {
        let dataRoot: URL
        func datasetFile(id: UUID) throws -> URL { throw StageError("no uploads here") }
        func recordArtifact(_ artifact: ArtifactInfo, experiment: UUID) throws {}
    }

    static let symbols = ["EURUSD", "GBPUSD"]
    static let experiment = UUID()
    static let stages = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]

    /// Sample data shared by every run: 20 days of 1m bars per symbol.
    static let dataRoot: URL = {
        let root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sf-spill-data-\(UUID().uuidString)")
        let samples = root.appendingPathComponent("samples")
        try? FileManager.default.createDirectory(at: samples, withIntermediateDirectories: true)
        let config = SyntheticMarket.Configuration(
            symbols: symbols, bars: SyntheticMarket.Configuration.bars(days: 20, timeframe: .m1), seed: 11, sentiment: true)
        _ = try? SyntheticMarket.writeCSV(config, to: samples.path)
        return root
    }()

    static var request: Data {
        let datasets = symbols.map { #"{"symbol":"\#($0)","path":"samples/\#($0)_1m.csv"}"# }.joined(separator: ",")
        return Data(
            #"""
            {"name":"spill","datasets":[\#(datasets)],"timeframes":["15m","1h","4h"],\#
            "config":{"export":{"formats":["csv","parquet"]},"forecast":{"horizon_bars":4,"models":["ar","drift"]}}}
            """#.utf8)
    }

    struct Run {
        var directory: URL
        var artifacts: Artifacts
        /// `memory_streaming` events: (stage, reaction).
        var reactions: [(stage: String, reaction: String)]
    }

    /// Runs every stage in this process with the memory pressure held at `pressure`.
    static func run(_ pressure: MemoryPressure) throws -> Run {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sf-spill-\(pressure)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let used: Int64 = [MemoryPressure.normal: 0, .shrink: 85, .spill: 95][pressure] ?? 0
        let monitor = MemoryMonitor(budgetBytes: 100, rss: { used })
        monitor.sample()
        #expect(monitor.pressure == pressure)
        let artifacts = Artifacts()
        let progress = ProgressTree(stages: stages)
        let events = Mutex<[(stage: String, reaction: String)]>([])
        let registry = BuiltInStages.registry
        for name in stages {
            let stage = try #require(registry.stage(name))
            let context = StageContext(
                experimentID: experiment, stage: name, request: request, logger: Logger(label: "spill-test"), progress: progress,
                artifacts: artifacts, directory: directory, gate: PauseGate(), environment: Environment(dataRoot: dataRoot),
                memory: monitor,
                recordEvent: { kind, details in
                    if kind == "memory_streaming" { events.withLock { $0.append((details["stage"] ?? "", details["reaction"] ?? "")) } }
                })
            try stage.run(context)
        }
        return Run(directory: directory, artifacts: artifacts, reactions: events.withLock { $0 })
    }

    /// Every file the run wrote (checkpoints and exports), by relative path;
    /// `report.json` with its timing fields (`"seconds"`) blanked.
    static func files(_ run: Run) throws -> [String: Data] {
        var out: [String: Data] = [:]
        let base = run.directory.standardizedFileURL.resolvingSymlinksInPath().path
        let walker = try #require(FileManager.default.enumerator(at: run.directory, includingPropertiesForKeys: nil))
        for case let url as URL in walker where !url.hasDirectoryPath {
            let path = url.standardizedFileURL.resolvingSymlinksInPath().path
            let name = String(path.dropFirst(base.count + 1))
            var data = try Data(contentsOf: url)
            if name.hasSuffix("report.json") || name.hasSuffix("forecast_summary.json") {
                let text = String(decoding: data, as: UTF8.self).replacingOccurrences(
                    of: #""seconds":[-+0-9.eE]+"#, with: #""seconds":0"#, options: .regularExpression)
                data = Data(text.utf8)
            }
            out[name] = data
        }
        return out
    }

    @Test(arguments: [MemoryPressure.shrink, .spill])
    func theFilesAreTheSameWhateverThePressure(_ pressure: MemoryPressure) throws {
        let whole = try Self.run(.normal)
        let chunked = try Self.run(pressure)
        defer {
            try? FileManager.default.removeItem(at: whole.directory)
            try? FileManager.default.removeItem(at: chunked.directory)
        }
        let expected = try Self.files(whole)
        let got = try Self.files(chunked)
        for name in [
            "checkpoints/merged_15m.sftable", "checkpoints/forecast_4h.sftable", "features_1h.parquet", "signals.csv", "report.json",
        ] {
            #expect(expected[name] != nil, "no \(name) in \(expected.keys.sorted())")
        }
        #expect(Set(got.keys) == Set(expected.keys))
        for (name, data) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(got[name] == data, "\(name) differs under \(pressure) from the run without pressure")
        }
        // The signals handed on in memory, too.
        #expect(
            chunked.artifacts.get(FusionStage.signalsKey, as: [SignalRecord].self)
                == whole.artifacts.get(FusionStage.signalsKey, as: [SignalRecord].self))
        #expect((whole.artifacts.get(FusionStage.signalsKey, as: [SignalRecord].self) ?? []).count > 10)

        // Without pressure no stage reacts and every table stays in memory.
        #expect(whole.reactions.isEmpty)
        #expect(whole.artifacts.names.filter { $0.hasPrefix("table.") || $0.hasPrefix("merged.") }.count == 4 * 3)
        // Under pressure every stage that holds tables says so, with the reaction of the level.
        let reacted = Set(chunked.reactions.map(\.stage))
        for stage in ["merge", "features", "patterns", "forecast", "fusion", "export", "analysis"] {
            #expect(reacted.contains(stage), "\(stage) did not react: \(chunked.reactions)")
        }
        #expect(chunked.reactions.allSatisfy { $0.reaction == (pressure == .spill ? "stream" : "shrink") })
        let held = chunked.artifacts.names.filter { $0.hasPrefix("table.") || $0.hasPrefix("merged.") }
        // Streamed (spill) or let go once consumed (shrink, the last tables by
        // their readers): no table is left in memory, they are all on disk.
        #expect(held.isEmpty, "\(held)")
    }
}
