import Foundation
import Logging
import MarketData
import Pipeline
import PostgresClient
import Service
import Stages
import Synchronization
import TestSupport
import Testing

/// The market-data stages (load → resample → merge → export) end to end:
/// a real service, real files under its data root, the `artifacts` table.
struct StageTests {
    static let symbols = ["EURUSD", "GBPUSD", "USDJPY"]

    /// Writes `days` of 1m sample bars per symbol under `<dataDir>/samples`.
    @discardableResult
    static func sample(_ t: TestApp, days: Int, sentiment: Bool = true) throws -> [SyntheticMarket.FileSummary] {
        let dir = t.app.settings.dataDir + "/samples"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = SyntheticMarket.Configuration(
            symbols: symbols, bars: SyntheticMarket.Configuration.bars(days: days, timeframe: .m1), seed: 7, sentiment: sentiment)
        return try SyntheticMarket.writeCSV(config, to: dir)
    }

    static func body(
        stages: [String] = ["load", "resample", "merge", "export"], timeframes: [String] = ["15m", "1h"],
        paths: [String]? = nil, config: String = #"{"export":{"formats":["csv","parquet"]}}"#
    ) -> String {
        let files = paths ?? symbols.map { "samples/\($0)_1m.csv" }
        let datasets = zip(symbols, files).map { #"{"symbol":"\#($0)","path":"\#($1)"}"# }.joined(separator: ",")
        let list = { (xs: [String]) in xs.map { "\"\($0)\"" }.joined(separator: ",") }
        return
            #"{"name":"stages","datasets":[\#(datasets)],"timeframes":[\#(list(timeframes))],"stages":[\#(list(stages))],"config":\#(config)}"#
    }

    struct ArtifactRow {
        var name: String, format: String, path: String, size: Int64, rows: Int64?
    }

    static func artifacts(_ t: TestApp, _ id: String) throws -> [ArtifactRow] {
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: t.databaseURL), logger: Logger(label: "test"))
        defer { conn.close() }
        return try conn.query(
            "SELECT name, format, path, size_bytes, row_count FROM artifacts WHERE experiment_id = \(UUID(uuidString: id)!) ORDER BY name"
        ).map {
            ArtifactRow(
                name: try $0.decode(0, as: String.self), format: try $0.decode(1, as: String.self),
                path: try $0.decode(2, as: String.self), size: try $0.decode(3, as: Int64.self),
                rows: try $0.decode(4, as: Int64?.self))
        }
    }

    static func finished(_ body: [String: Any]) -> Bool {
        ["succeeded", "failed", "cancelled"].contains(body["status"] as? String ?? "")
    }

    /// The node at `path` in a progress JSON tree.
    static func node(_ tree: [String: Any], _ path: String) -> [String: Any]? {
        if tree["path"] as? String == path { return tree }
        for c in tree["children"] as? [[String: Any]] ?? [] { if let n = node(c, path) { return n } }
        return nil
    }

    @Test func loadResampleMergeExport() throws {
        let t = try TestApp(stages: StageRegistry(MarketDataStages.all))
        let files = try Self.sample(t, days: 3)
        #expect(files.allSatisfy { $0.rows == 3 * 1440 })
        let id = try t.create(Self.body())
        let done = try t.waitFor(id, timeout: 60, Self.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")

        let rows: [String: Int64] = ["15m": 3 * 24 * 4, "1h": 3 * 24]
        let stored = try Self.artifacts(t, id)
        #expect(stored.map(\.name) == ["features_15m.csv", "features_15m.parquet", "features_1h.csv", "features_1h.parquet"])
        let columns =
            ["timestamp"]
            + Self.symbols.flatMap { s in
                ["open", "high", "low", "close", "volume", "sentiment"].map { "\(s.lowercased())_\($0)" }
            }
        for a in stored {
            let tf = String(a.name.dropFirst("features_".count).prefix { $0 != "." })
            #expect(a.rows == rows[tf], "\(a.name)")
            #expect(a.path.hasPrefix("/") && a.path.hasSuffix("/" + a.name))
            #expect(a.path.contains(id.lowercased()))
            let data = try Data(contentsOf: URL(fileURLWithPath: a.path))
            #expect(Int64(data.count) == a.size, "\(a.name)")
            if a.format == "csv" {
                let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
                #expect(Int64(lines.count) == (rows[tf] ?? 0) + 1, "\(a.name)")
                #expect(lines.first.map { $0.split(separator: ",").map(String.init) } == columns)
                #expect(lines.dropFirst().first?.hasPrefix("2024-01-01T00:00:00Z,") == true)
            } else {
                #expect(a.format == "parquet")
                #expect(try ParquetFooter.numRows(data) == rows[tf], "\(a.name)")
            }
        }
        // No partial files or checkpoints left (removed on success); the chart's bars are kept.
        let dir = URL(fileURLWithPath: stored[0].path).deletingLastPathComponent()
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["chart", "features_15m.csv", "features_15m.parquet", "features_1h.csv", "features_1h.parquet"])
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.path + "/chart").sorted()
                == ["bars_15m.sftable", "bars_1h.sftable"])

        // Progress counted rows: every loaded row, every resampled input row.
        let tree = try t.request("GET", "/v1/experiments/\(id)/progress").json
        #expect(Self.node(tree, "pipeline/load/EURUSD")?["units_done"] as? Int == 3 * 1440)
        #expect(Self.node(tree, "pipeline/load/EURUSD")?["units_total"] as? Int == 3 * 1440)
        // 15m reads the 1m bars, 1h reads the 15m bars.
        #expect(Self.node(tree, "pipeline/resample/15m")?["units_done"] as? Int == 3 * 3 * 1440)
        #expect(Self.node(tree, "pipeline/resample/1h")?["units_done"] as? Int == 3 * 3 * 96)
        #expect(Self.node(tree, "pipeline/export/features_1h.parquet")?["units_done"] as? Int == 72)
        #expect(tree["percent"] as? Double == 100)

        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?limit=1000").json["items"] as? [[String: Any]] ?? []
        let messages = logs.compactMap { $0["message"] as? String }
        #expect(messages.filter { $0 == "dataset loaded" }.count == 3)
        #expect(messages.filter { $0 == "exported" }.count == 4)
    }

    @Test func aBadRowFailsTheExperimentNamingFileAndLine() throws {
        let t = try TestApp(stages: StageRegistry(MarketDataStages.all))
        try Self.sample(t, days: 1, sentiment: false)
        // GBPUSD's 5th line (4th bar) gets a high below its close.
        let path = t.app.settings.dataDir + "/samples/GBPUSD_1m.csv"
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var fields = lines[4].split(separator: ",").map(String.init)
        fields[2] = String(Double(fields[4])! - 0.001)
        lines[4] = Substring(fields.joined(separator: ","))
        try lines.joined(separator: "\n").write(toFile: t.app.settings.dataDir + "/samples/bad.csv", atomically: true, encoding: .utf8)

        let paths = ["samples/EURUSD_1m.csv", "samples/bad.csv", "samples/USDJPY_1m.csv"]
        let id = try t.create(Self.body(paths: paths))
        let done = try t.waitFor(id, timeout: 60, Self.finished)
        #expect(done["status"] as? String == "failed")
        let error = done["error"] as? String ?? ""
        #expect(error.hasPrefix("stage load: samples/bad.csv:5: "), "\(error)")
        #expect(error.contains("high"), "\(error)")
        #expect(try Self.artifacts(t, id).isEmpty)

        // A missing file is refused when the experiment is created, naming it.
        let missing = try t.request(
            "POST", "/v1/experiments", body: Self.body(paths: ["samples/EURUSD_1m.csv", "samples/nope.csv", "samples/USDJPY_1m.csv"]))
        #expect(missing.status == 400, "\(missing.text)")
        #expect(missing.json["field"] as? String == "datasets[1].path", "\(missing.text)")
        #expect((missing.json["detail"] as? String ?? "").contains("samples/nope.csv' does not exist"), "\(missing.text)")
    }

    @Test func pauseAndResumeMidLoad() throws {
        // Small chunks and 3 × 40 days of bars: the load runs long enough to pause inside it.
        let stages = StageRegistry([LoadStage(chunkRows: 64), ResampleStage(), MergeStage(), ExportStage()])
        let t = try TestApp(stages: stages)
        try Self.sample(t, days: 40)
        let total = 40 * 1440
        let id = try t.create(Self.body(config: #"{"export":{"formats":["parquet"]}}"#))
        // Wait until the first symbol's rows are moving, then pause.
        let deadline = Date().addingTimeInterval(30)
        var seen = 0
        while Date() < deadline {
            let tree = try t.request("GET", "/v1/experiments/\(id)/progress").json
            seen = Self.node(tree, "pipeline/load/EURUSD")?["units_done"] as? Int ?? 0
            if seen > 0 { break }
            Thread.sleep(forTimeInterval: 0.002)
        }
        #expect(seen > 0)
        #expect(try t.request("POST", "/v1/experiments/\(id)/pause").status == 202)
        let paused = try t.waitFor(id, timeout: 5) { $0["status"] as? String == "paused" }
        #expect(paused["status"] as? String == "paused")
        #expect(paused["stage"] as? String == "load")

        let before = try t.request("GET", "/v1/experiments/\(id)/progress").json
        Thread.sleep(forTimeInterval: 0.5)
        let after = try t.request("GET", "/v1/experiments/\(id)/progress").json
        let loaded = { (tree: [String: Any]) in
            Self.symbols.reduce(0) { $0 + (Self.node(tree, "pipeline/load/\($1)")?["units_done"] as? Int ?? 0) }
        }
        #expect(loaded(before) == loaded(after))
        #expect(loaded(before) > 0 && loaded(before) < 3 * total, "paused inside the load: \(loaded(before)) of \(3 * total)")

        #expect(try t.request("POST", "/v1/experiments/\(id)/resume").status == 202)
        let done = try t.waitFor(id, timeout: 120, Self.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let stored = try Self.artifacts(t, id)
        #expect(stored.map(\.name) == ["features_15m.parquet", "features_1h.parquet"])
        let expected: [Int64?] = [40 * 96, 40 * 24]
        #expect(stored.map(\.rows) == expected)
        let tree = try t.request("GET", "/v1/experiments/\(id)/progress").json
        #expect(loaded(tree) == 3 * total)
    }

    @Test func aLaterRunReloadsTheMergedTablesFromTheirCheckpoints() throws {
        // `features` fails once: the retry resumes after merge, in a new runner
        // with no artifacts in memory, so export reads the merge checkpoints.
        let features = FlakyStage(name: "features", failures: 1)
        let t = try TestApp(stages: StageRegistry(MarketDataStages.all + [features]))
        try Self.sample(t, days: 2)
        let id = try t.create(Self.body(stages: ["load", "resample", "merge", "features", "export"]))
        let failed = try t.waitFor(id, timeout: 60, Self.finished)
        #expect(failed["status"] as? String == "failed")
        #expect(try t.request("POST", "/v1/experiments/\(id)/retry").status == 202)
        let done = try t.waitFor(id, timeout: 60) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let stored = try Self.artifacts(t, id)
        let expected: [Int64?] = [192, 192, 48, 48]
        #expect(stored.map(\.rows) == expected)
        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?stage=export&limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(logs.filter { $0["message"] as? String == "merged table reloaded from its checkpoint" }.count == 2)
    }

    @Test func datasetsOverTheMemoryBudgetStreamFromDiskWithTheSameResults() throws {
        // 40 days x 3 symbols of 1m bars need ~9.7 MB in memory: over half a 16 MB budget.
        let body = Self.body(timeframes: ["1h", "4h"], config: #"{"export":{"formats":["csv"]}}"#)
        var exported: [[String: Data]] = []
        for budget in [nil, 16] as [Int?] {
            let t = try TestApp(stages: StageRegistry(MarketDataStages.all)) { $0.memoryBudgetMB = budget }
            try Self.sample(t, days: 40)
            let id = try t.create(body)
            let done = try t.waitFor(id, timeout: 90, Self.finished)
            #expect(done["status"] as? String == "succeeded", "\(done)")
            let logs = try t.request("GET", "/v1/experiments/\(id)/logs?limit=1000").json["items"] as? [[String: Any]] ?? []
            let messages = logs.compactMap { $0["message"] as? String }
            if budget == nil {
                #expect(messages.filter { $0 == "dataset loaded" }.count == 3)
                #expect(!messages.contains("streamed from disk"))
            } else {
                #expect(messages.filter { $0.hasPrefix("dataset validated (streamed") }.count == 3)
                #expect(messages.filter { $0 == "streamed from disk" }.count == 3)
                #expect(!messages.contains("dataset loaded"))
            }
            var files: [String: Data] = [:]
            for a in try Self.artifacts(t, id) { files[a.name] = try Data(contentsOf: URL(fileURLWithPath: a.path)) }
            exported.append(files)
        }
        #expect(exported[0].keys.sorted() == ["features_1h.csv", "features_4h.csv"])
        #expect(exported[0] == exported[1])
        #expect(exported[0]["features_1h.csv"].map { $0.split(separator: 10).count } == 40 * 24 + 1)
    }

    @Test func aResampleAfterASkippedLoadReadsTheDatasetsAgain() throws {
        let stages = StageRegistry([LoadStage(), FailingFirstRun(ResampleStage()), MergeStage(), ExportStage()])
        let t = try TestApp(stages: stages)
        try Self.sample(t, days: 2)
        let id = try t.create(
            Self.body(config: #"{"merge":{"join":"outer","tolerance":"0s"},"export":{"formats":["parquet"],"compression":"none"}}"#))
        let failed = try t.waitFor(id, timeout: 60, Self.finished)
        #expect(failed["status"] as? String == "failed")
        #expect(try t.request("POST", "/v1/experiments/\(id)/retry").status == 202)
        let done = try t.waitFor(id, timeout: 60) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let expected: [Int64?] = [192, 48]
        #expect(try Self.artifacts(t, id).map(\.rows) == expected)
        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?stage=resample&limit=1000").json["items"] as? [[String: Any]] ?? []
        let messages = logs.compactMap { $0["message"] as? String }
        #expect(messages.contains { $0.hasPrefix("the loaded series are not in memory") })
        #expect(messages.filter { $0 == "dataset loaded" }.count == 3)
    }
}

/// A real stage that fails its first run (the retry then runs it for real).
final class FailingFirstRun: Stage, Sendable {
    let inner: any Stage
    let runs = Atomic<Int>(0)
    var name: String { inner.name }
    init(_ inner: any Stage) { self.inner = inner }
    func run(_ context: StageContext) throws {
        if runs.add(1, ordering: .relaxed).newValue == 1 { throw StageBroke(attempt: 1) }
        try inner.run(context)
    }
}

/// Reads `num_rows` from a Parquet file's footer (Thrift compact `FileMetaData`, field 3).
enum ParquetFooter {
    struct Malformed: Error {}

    static func numRows(_ file: Data) throws -> Int64 {
        let bytes = [UInt8](file)
        let magic = Array("PAR1".utf8)
        guard bytes.count >= 12, Array(bytes.suffix(4)) == magic, Array(bytes.prefix(4)) == magic else { throw Malformed() }
        let n = bytes.count
        let length = Int(bytes[n - 8]) | Int(bytes[n - 7]) << 8 | Int(bytes[n - 6]) << 16 | Int(bytes[n - 5]) << 24
        var r = Reader(bytes: bytes, at: n - 8 - length)
        var field: Int16 = 0
        while true {
            let header = try r.byte()
            if header == 0 { throw Malformed() }
            let type = header & 0x0F
            let delta = Int16(header >> 4)
            field = delta == 0 ? Int16(truncatingIfNeeded: try r.zigzag()) : field + delta
            if field == 3 && type == 6 { return try r.zigzag() }
            try r.skip(type)
        }
    }

    struct Reader {
        var bytes: [UInt8]
        var at: Int

        mutating func byte() throws -> UInt8 {
            guard at < bytes.count else { throw Malformed() }
            defer { at += 1 }
            return bytes[at]
        }

        mutating func varint() throws -> UInt64 {
            var v: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                let b = try byte()
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
        }

        mutating func zigzag() throws -> Int64 {
            let v = try varint()
            return Int64(bitPattern: v >> 1) ^ -Int64(bitPattern: v & 1)
        }

        mutating func skip(_ type: UInt8) throws {
            switch type {
            case 1, 2: return
            case 3: at += 1
            case 4, 5, 6: _ = try varint()
            case 7: at += 8
            case 8: at += Int(try varint())
            case 9, 10:
                let h = try byte()
                let count = h >> 4 == 15 ? Int(try varint()) : Int(h >> 4)
                for _ in 0..<count { try skip(h & 0x0F) }
            case 11:
                let count = Int(try varint())
                if count > 0 {
                    let kv = try byte()
                    for _ in 0..<count {
                        try skip(kv >> 4)
                        try skip(kv & 0x0F)
                    }
                }
            case 12:
                while true {
                    let h = try byte()
                    if h == 0 { return }
                    if h >> 4 == 0 { _ = try varint() }
                    try skip(h & 0x0F)
                }
            default: throw Malformed()
            }
        }
    }
}
