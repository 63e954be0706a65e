import Foundation
import Logging
import MarketData
import Pipeline
import PostgresClient
import Service
import Stages
import TestSupport
import Testing

/// Issue 15, the storage diet: what a succeeded experiment leaves on disk
/// and in PostgreSQL.
struct FootprintTests {
    /// The demo experiment (`deploy/run.sh`): 3 symbols × 365 days of 1m bars.
    static let demoDays = 365
    /// Targets for the demo experiment, including logs.
    static let diskTarget: Int64 = 60 << 20
    static let databaseTarget: Int64 = 30 << 20

    /// Days of 1m bars the footprint test runs: the demo's 365 take over two
    /// minutes in a debug build, so by default 90 days, whose per-bar footprint is
    /// scaled to the demo (fixed costs — the report, the experiment's row,
    /// logs that do not grow with the bars — are scaled too: the estimate is
    /// an upper bound). `SIGNALFORGE_FOOTPRINT_DAYS=365` runs the demo itself.
    static var days: Int {
        ProcessInfo.processInfo.environment["SIGNALFORGE_FOOTPRINT_DAYS"].flatMap(Int.init) ?? 90
    }

    /// The bytes of the regular files under `path`, by file (relative path).
    static func files(under path: String) -> [String: Int64] {
        var out: [String: Int64] = [:]
        let root = URL(fileURLWithPath: path)
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
        while let file = files?.nextObject() as? URL {
            guard let values = try? file.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true
            else { continue }
            out[String(file.path.dropFirst(root.path.count + 1))] = Int64(values.fileSize ?? 0)
        }
        return out
    }

    /// The database bytes attributable to one experiment: its rows in every
    /// table that has an `experiment_id` column (and its `experiments` row),
    /// by `pg_column_size`, plus each table's index bytes in proportion to
    /// the share of its rows that are the experiment's.
    static func databaseBytes(_ conn: PostgresConnection, experiment id: UUID) throws -> [String: (rows: Int64, bytes: Int64)] {
        let tables = try conn.query(
            """
            SELECT c.relname::text FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND a.attname = 'experiment_id' AND NOT a.attisdropped
            ORDER BY 1
            """
        ).map { try $0.decode(0, as: String.self) }
        var out: [String: (rows: Int64, bytes: Int64)] = [:]
        for table in tables + ["experiments"] {
            let key = table == "experiments" ? "id" : "experiment_id"
            let row = try #require(
                try conn.query(
                    """
                    SELECT count(*) FILTER (WHERE t.\(unsafeSQL: key) = \(id)), count(*),
                      coalesce(sum(pg_column_size(t.*)) FILTER (WHERE t.\(unsafeSQL: key) = \(id)), 0)::bigint,
                      (SELECT coalesce(sum(pg_indexes_size(relid)), 0)::bigint FROM pg_partition_tree('\(unsafeSQL: table)'))
                    FROM \(unsafeSQL: table) t
                    """
                ).first)
            let mine = try row.decode(0, as: Int64.self), total = try row.decode(1, as: Int64.self)
            let bytes = try row.decode(2, as: Int64.self), indexes = try row.decode(3, as: Int64.self)
            out[table] = (mine, bytes + (total > 0 ? indexes * mine / total : 0))
        }
        return out
    }

    static func megabytes(_ bytes: Int64) -> String { String(format: "%.2f MB", Double(bytes) / 1_048_576) }

    /// The demo experiment's footprint, with the defaults (Parquet only,
    /// `fusion.store: accepted`, checkpoints removed on success): within
    /// 60 MB on disk and 30 MB in PostgreSQL (scaled from `days` when it is
    /// not the demo's 365). The chart still gets its bars, and the report
    /// still counts every candidate.
    @Test func theDemoExperimentsFootprintIsWithinTheTargets() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        let days = Self.days
        let dir = t.app.settings.dataDir + "/samples"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // As `deploy/run.sh` writes them: `sample-data --days 365 --seed 42 --sentiment`.
        _ = try SyntheticMarket.writeCSV(
            SyntheticMarket.Configuration(
                symbols: StageTests.symbols, bars: SyntheticMarket.Configuration.bars(days: days, timeframe: .m1), seed: 42,
                sentiment: true),
            to: dir)
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: t.databaseURL), logger: Logger(label: "test"))
        defer { conn.close() }
        let sizeBefore = try #require(try conn.query("SELECT pg_database_size(current_database())").first).decode(0, as: Int64.self)
        let datasets = StageTests.symbols.map { #"{"symbol":"\#($0)","path":"samples/\#($0)_1m.csv"}"# }.joined(separator: ",")
        let id = try t.create(#"{"name":"demo","datasets":[\#(datasets)],"timeframes":["15m","1h","4h"]}"#)
        let started = ContinuousClock.now
        let done = try t.waitFor(id, timeout: Double(days) * 20, StageTests.finished)
        try #require(done["status"] as? String == "succeeded", "\(done)")
        let seconds = started.duration(to: .now).components.seconds
        let uuid = try #require(UUID(uuidString: id))

        // Disk: everything under the experiment's folder.
        let folder = t.app.settings.dataDir + "/experiments/\(id.lowercased())"
        let files = Self.files(under: folder)
        let disk = files.values.reduce(0, +)
        #expect(!files.keys.contains { $0.hasPrefix("checkpoints/") }, "checkpoints left after success: \(files.keys.sorted())")
        #expect(!files.keys.contains { $0.hasSuffix(".csv") }, "CSV written without being asked for: \(files.keys.sorted())")
        #expect(files.keys.contains("features_15m.parquet") && files.keys.contains("chart/bars_15m.sftable"))
        // Nothing else under the data dir but the samples, this folder and the stage cache (no spill files left).
        let others = Self.files(under: t.app.settings.dataDir).keys.filter {
            !$0.hasPrefix("samples/") && !$0.hasPrefix("experiments/\(id.lowercased())/") && !$0.hasPrefix("cache/")
        }
        #expect(others.isEmpty, "\(others.sorted())")

        // PostgreSQL: the experiment's rows in every table, with their index share.
        let tables = try Self.databaseBytes(conn, experiment: uuid)
        let database = tables.values.reduce(0) { $0 + $1.bytes }
        let sizeAfter = try #require(try conn.query("SELECT pg_database_size(current_database())").first).decode(0, as: Int64.self)

        // Only the accepted signals are stored; the report counts every candidate.
        let report = try t.request("GET", "/v1/experiments/\(id)/report").json
        let counts = try #require(report["signals"] as? [String: Any])
        let candidates = try #require(counts["candidates"] as? Int), accepted = try #require(counts["accepted"] as? Int)
        #expect(tables["signals"]?.rows == Int64(accepted))
        #expect(candidates > accepted, "\(counts)")
        let overall = try #require((report["evaluation"] as? [String: Any])?["overall"] as? [String: Any])
        #expect(overall["signals"] as? Int == candidates)

        // The chart still gets its bars, bit for bit those of the compact store.
        let bars = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=EURUSD&timeframe=1h&limit=100000")
        #expect(bars.status == 200, "\(bars.text)")
        let kept = try #require(TableCheckpoint.read(MergeStage.chartBarsURL(URL(fileURLWithPath: folder), .h1)))
        #expect(bars.json["count"] as? Int == kept.count)
        #expect((bars.json["close"] as? [NSNumber])?.map(\.doubleValue) == kept.column("eurusd_close"))

        let scale = Double(Self.demoDays) / Double(days)
        let diskDemo = Int64(Double(disk) * scale), databaseDemo = Int64(Double(database) * scale)
        var lines = ["footprint: \(days) days × 3 symbols of 1m bars, every stage, defaults; ran in \(seconds) s"]
        lines += files.sorted { $0.value > $1.value }.map { "  disk  \($0.key): \(Self.megabytes($0.value))" }
        lines += tables.sorted { $0.value.bytes > $1.value.bytes }.map {
            "  db    \($0.key): \($0.value.rows) rows, \(Self.megabytes($0.value.bytes))"
        }
        lines.append("  signals: \(candidates) candidates, \(accepted) accepted (stored)")
        lines.append("  disk total \(Self.megabytes(disk)); database total \(Self.megabytes(database))")
        lines.append("  database size delta (pg_database_size) \(Self.megabytes(sizeAfter - sizeBefore))")
        lines.append(
            "  scaled to the demo (×\(String(format: "%.2f", scale))): disk \(Self.megabytes(diskDemo)) (target 60 MB), "
                + "database \(Self.megabytes(databaseDemo)) (target 30 MB)")
        print(lines.joined(separator: "\n"))
        #expect(diskDemo <= Self.diskTarget, "disk \(Self.megabytes(diskDemo)) scaled to the demo")
        #expect(databaseDemo <= Self.databaseTarget, "database \(Self.megabytes(databaseDemo)) scaled to the demo")
    }
}

/// `fusion.store` and the candidates a later run needs.
struct FusionStoreTests {
    static let stages = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]

    /// With the default `fusion.store` (`accepted`), analysis run again in a
    /// later run (nothing in memory) still counts, calibrates and evaluates
    /// every candidate: it reads fusion's candidates checkpoint, not the
    /// `signals` table.
    @Test func aLaterRunsAnalysisStillSeesEveryCandidate() throws {
        let stages: [any Stage] = SignalForgeStages.all.map { $0.name == "analysis" ? FailingFirstRun($0) as any Stage : $0 }
        let t = try TestApp(stages: StageRegistry(stages))
        try StageTests.sample(t, days: 10)
        let id = try t.create(
            StageTests.body(
                stages: Self.stages, timeframes: ["15m", "1h"],
                config: #"{"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":0.5}}"#))
        #expect(try t.waitFor(id, timeout: 120, StageTests.finished)["status"] as? String == "failed")
        let folder = t.app.settings.dataDir + "/experiments/\(id.lowercased())"
        // Failed: the checkpoints stay for the retry.
        #expect(FileManager.default.fileExists(atPath: folder + "/checkpoints/fusion/candidates.sfsignals"))
        #expect(try t.request("POST", "/v1/experiments/\(id)/retry", body: #"{"from_stage":"analysis"}"#).status == 202)
        let done = try t.waitFor(id, timeout: 120) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded", "\(done)")

        let stored = try Self.signals(t, id)
        #expect(!stored.isEmpty && stored.allSatisfy { $0["accepted"] as? Bool == true })
        let report = try t.request("GET", "/v1/experiments/\(id)/report").json
        let counts = try #require(report["signals"] as? [String: Any])
        #expect(counts["accepted"] as? Int == stored.count)
        let candidates = try #require(counts["candidates"] as? Int)
        #expect(candidates > stored.count, "\(counts)")
        let overall = try #require((report["evaluation"] as? [String: Any])?["overall"] as? [String: Any])
        #expect(overall["signals"] as? Int == candidates)
        // export's signals file holds every candidate too.
        #expect(try StageTests.artifacts(t, id).first { $0.name == "signals.parquet" }?.rows == Int64(candidates))
        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?stage=analysis&limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(logs.contains { ($0["message"] as? String)?.hasSuffix("reloaded from its checkpoint") == true })
        // Succeeded: the checkpoints are gone, the chart's bars stay.
        #expect(!FileManager.default.fileExists(atPath: folder + "/checkpoints"))
        #expect(try t.request("GET", "/v1/experiments/\(id)/bars?symbol=USDJPY&timeframe=15m").status == 200)
    }

    /// Every stored signal of the experiment, page by page.
    static func signals(_ t: TestApp, _ id: String) throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var after = "0"
        while true {
            let page = try t.request("GET", "/v1/experiments/\(id)/signals?limit=500&after=\(after)").json
            all += page["items"] as? [[String: Any]] ?? []
            guard let next = page["next_cursor"] as? String else { return all }
            after = next
        }
    }

    /// `fusion.store: all` stores every candidate; anything else is a 400 naming the member.
    @Test func storeAllKeepsEveryCandidateAndABadValueIsRefused() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        try StageTests.sample(t, days: 5)
        let bad = try t.request(
            "POST", "/v1/experiments", body: StageTests.body(stages: Self.stages, config: #"{"fusion":{"store":"some"}}"#))
        #expect(bad.status == 400, "\(bad.text)")
        #expect(bad.json["field"] as? String == "config.fusion.store", "\(bad.text)")
        let id = try t.create(
            StageTests.body(
                stages: Self.stages, timeframes: ["1h"],
                config: #"{"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":0.5,"store":"all"}}"#))
        let done = try t.waitFor(id, timeout: 120, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let stored = try Self.signals(t, id)
        let counts = try #require(try t.request("GET", "/v1/experiments/\(id)/report").json["signals"] as? [String: Any])
        #expect(counts["candidates"] as? Int == stored.count)
        #expect(stored.contains { $0["accepted"] as? Bool == false })
    }
}
