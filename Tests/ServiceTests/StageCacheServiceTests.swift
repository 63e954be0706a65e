import Foundation
import Hashing
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// The stage cache through a real server and PostgreSQL (issue 14, item 4):
/// what a second experiment restores, what it recomputes, corruption, the size limit.
struct StageCacheServiceTests {
    static let stages = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]

    static func body(threshold: Double = 0.5) -> String {
        StageTests.body(
            stages: stages, timeframes: ["15m", "1h"],
            config: #"{"export":{"formats":["csv","parquet"]},"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":\#(threshold)}}"#)
    }

    /// Runs one experiment to its end; it must succeed.
    static func run(_ t: TestApp, _ body: String) throws -> String {
        let id = try t.create(body)
        let done = try t.waitFor(id, timeout: 300, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")
        return id
    }

    static func events(_ t: TestApp, _ id: String) throws -> [[String: Any]] {
        try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
    }

    /// The stages of events of `kind`, in pipeline order.
    static func stages(_ t: TestApp, _ id: String, _ kind: String) throws -> [String] {
        let named = Set(try events(t, id).filter { $0["kind"] as? String == kind }.compactMap { $0["stage"] as? String })
        return stages.filter(named.contains)
    }

    /// Every artifact's SHA-256 by name; `report.json` with the experiment's id blanked
    /// (and, with `timings`, the forecast models' fit times, which differ between two computations).
    static func digests(_ t: TestApp, _ id: String, timings: Bool = false) throws -> [String: String] {
        var out: [String: String] = [:]
        for a in try StageTests.artifacts(t, id) {
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: a.path)))
            if a.name == "report.json" {
                var text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: id, with: "ID")
                if timings {
                    text = text.replacingOccurrences(of: #""seconds":[-+0-9.eE]+"#, with: #""seconds":0"#, options: .regularExpression)
                }
                bytes = Array(text.utf8)
            }
            out[a.name] = SHA256.hex(bytes)
        }
        return out
    }

    static func signals(_ t: TestApp, _ id: String) throws -> [[String: Any]] {
        try t.request("GET", "/v1/experiments/\(id)/signals?limit=5000").json["items"] as? [[String: Any]] ?? []
    }

    /// `<data>/cache/entries/*`, with the stage each manifest names.
    static func entries(_ t: TestApp) throws -> [(dir: URL, stage: String, bytes: Int64)] {
        let root = URL(fileURLWithPath: t.app.settings.dataDir).appendingPathComponent("cache/entries")
        return try FileManager.default.contentsOfDirectory(atPath: root.path).compactMap { key in
            let dir = root.appendingPathComponent(key)
            guard let data = try? Data(contentsOf: dir.appendingPathComponent("manifest.json")),
                let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any]
            else { return nil }
            return (dir, manifest["stage"] as? String ?? "", (manifest["bytes"] as? NSNumber)?.int64Value ?? -1)
        }
    }

    @Test func aSecondIdenticalExperimentRestoresEveryStageAndAThresholdChangeRecomputesFusionExportAnalysisOnly() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all)) { $0.cacheEnabled = true }
        try StageTests.sample(t, days: 10)

        let first = try Self.run(t, Self.body())
        #expect(try Self.stages(t, first, "stage_cached") == [])
        #expect(try Self.stages(t, first, "stage_started") == Self.stages)

        let second = try Self.run(t, Self.body())
        #expect(try Self.stages(t, second, "stage_cached") == Self.stages, "every stage restored")
        #expect(try Self.stages(t, second, "stage_started") == [], "none computed")
        let progress = try t.request("GET", "/v1/experiments/\(second)/progress").json
        for stage in Self.stages {
            #expect(StageTests.node(progress, "pipeline/\(stage)")?["status"] as? String == "cached", "\(stage)")
        }
        let logs = try t.request("GET", "/v1/experiments/\(second)/logs?limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(logs.filter { ($0["message"] as? String)?.hasPrefix("stage cached") == true }.count == Self.stages.count)
        // Byte-identical files; the same signals and report for the new id.
        let digests = try Self.digests(t, first)
        #expect(digests.count >= 9, "\(digests.keys.sorted())")
        #expect(try Self.digests(t, second) == digests)
        let signals = try Self.signals(t, first)
        #expect(!signals.isEmpty)
        let restored = try Self.signals(t, second)
        #expect(restored.count == signals.count)
        #expect(
            restored.map { "\($0["timestamp"] ?? "") \($0["quality"] ?? "")" }
                == signals.map { "\($0["timestamp"] ?? "") \($0["quality"] ?? "")" })
        let report = try t.request("GET", "/v1/experiments/\(second)/report")
        #expect(report.status == 200)
        #expect(report.text.contains(second), "the restored report names its own experiment")

        // Only fusion's threshold differs: what comes before it is restored, and
        // so are fusion's scored candidates (accepted again at 0.6) and export's
        // feature files; export writes the signals files, analysis computes.
        let third = try Self.run(t, Self.body(threshold: 0.6))
        #expect(try Self.stages(t, third, "stage_cached") == Array(Self.stages.prefix(7)))
        #expect(try Self.stages(t, third, "stage_started") == ["export", "analysis"])
        let thirdLogs = try t.request("GET", "/v1/experiments/\(third)/logs?limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(thirdLogs.contains { ($0["message"] as? String)?.hasPrefix("stage cache: part of the output restored") == true })
        #expect(thirdLogs.contains { ($0["message"] as? String)?.hasPrefix("stage cache: the scored candidates restored") == true })
        let thirdProgress = try t.request("GET", "/v1/experiments/\(third)/progress").json
        #expect(StageTests.node(thirdProgress, "pipeline/export/features_1h.csv")?["status"] as? String == "cached")

        // Byte-identical to a run computed without the cache, signals (accepted flags) included.
        let plain = try TestApp(stages: StageRegistry(SignalForgeStages.all)) { $0.cacheEnabled = false }
        try StageTests.sample(plain, days: 10)
        let computed = try Self.run(plain, Self.body(threshold: 0.6))
        let expected = try Self.digests(plain, computed, timings: true)
        #expect(expected.keys.contains { $0.hasPrefix("features_") } && expected.keys.contains { $0.hasPrefix("signals.") })
        #expect(try Self.digests(t, third, timings: true) == expected)
        let computedSignals = try Self.signals(plain, computed)
        let thirdSignals = try Self.signals(t, third)
        #expect(!thirdSignals.isEmpty)
        #expect(
            thirdSignals.map { "\($0["timestamp"] ?? "") \($0["quality"] ?? "") \($0["accepted"] ?? "")" }
                == computedSignals.map { "\($0["timestamp"] ?? "") \($0["quality"] ?? "") \($0["accepted"] ?? "")" })
        #expect(thirdSignals.count != signals.count, "another threshold stores another selection")

        // An analysis option alone (not its costs): analysis alone is computed.
        let fourth = try Self.run(
            t,
            StageTests.body(
                stages: Self.stages, timeframes: ["15m", "1h"],
                config:
                    #"{"export":{"formats":["csv","parquet"]},"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":0.6},"analysis":{"max_holding_bars":12}}"#
            ))
        #expect(try Self.stages(t, fourth, "stage_started") == ["analysis"])

        let metrics = try t.request("GET", "/metrics").text
        // 9 stages, then 7 and export's feature files, then 8.
        #expect(
            metrics.contains("signalforge_stage_cache_hits_total 25"),
            "\(metrics.split(separator: "\n").filter { $0.contains("stage_cache") })")
        #expect(metrics.contains("signalforge_stage_cache_bytes "))
    }

    @Test func twoIdenticalExperimentsRunningTogetherComputeEachStageOnce() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all)) {
            $0.cacheEnabled = true
            $0.maxRunning = 2
        }
        try StageTests.sample(t, days: 10)
        let a = try t.create(Self.body())
        let b = try t.create(Self.body())
        for id in [a, b] {
            let done = try t.waitFor(id, timeout: 300, StageTests.finished)
            #expect(done["status"] as? String == "succeeded", "\(done)")
        }
        // Whichever claims a stage first computes it; the other waits for its entry and restores it.
        // Except `load`: its entry keeps no values, so a run that reaches it while resample's entry
        // is not stored yet must compute it (which run does depends on timing: both may).
        let (startedA, startedB) = (try Self.stages(t, a, "stage_started"), try Self.stages(t, b, "stage_started"))
        let (cachedA, cachedB) = (try Self.stages(t, a, "stage_cached"), try Self.stages(t, b, "stage_cached"))
        #expect(startedA.contains("load") || startedB.contains("load"), "load computed at least once")
        for stage in Self.stages where stage != "load" {
            #expect(startedA.contains(stage) != startedB.contains(stage), "\(stage): computed once (\(startedA), \(startedB))")
            #expect(cachedA.contains(stage) != cachedB.contains(stage), "\(stage): restored once (\(cachedA), \(cachedB))")
        }
        #expect(try Self.digests(t, a) == Self.digests(t, b))
    }

    @Test func changingADatasetsContentRecomputesEveryStage() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all)) { $0.cacheEnabled = true }
        try StageTests.sample(t, days: 10)
        let body = StageTests.body(stages: ["load", "resample", "merge", "features", "export"])
        let first = try Self.run(t, body)
        #expect(try Self.stages(t, first, "stage_started") == ["load", "resample", "merge", "features", "export"])
        // The last bar of one file goes: same name, same path, other content.
        let file = t.app.settings.dataDir + "/samples/\(StageTests.symbols[1])_1m.csv"
        var lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: true)
        lines.removeLast()
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: false, encoding: .utf8)
        let second = try Self.run(t, body)
        #expect(try Self.stages(t, second, "stage_cached") == [])
        #expect(try Self.stages(t, second, "stage_started") == ["load", "resample", "merge", "features", "export"])
        // And the file as it is now is cached in turn.
        let third = try Self.run(t, body)
        #expect(try Self.stages(t, third, "stage_cached") == ["load", "resample", "merge", "features", "export"])
        #expect(try Self.digests(t, third) == Self.digests(t, second))
        #expect(try Self.digests(t, third) != Self.digests(t, first))
    }

    @Test func aCorruptedEntryIsDetectedDroppedAndRecomputed() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all)) { $0.cacheEnabled = true }
        try StageTests.sample(t, days: 10)
        let first = try Self.run(t, Self.body())
        // One byte of fusion's entry changes; its size does not.
        let fusion = try #require(try Self.entries(t).first { $0.stage == "fusion" })
        let file = fusion.dir.appendingPathComponent("candidates.sfsignals")
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count - 9] ^= 0x01
        // A new file (not written through the hard link the first experiment may still hold).
        try FileManager.default.removeItem(at: file)
        try bytes.write(to: file)

        let second = try Self.run(t, Self.body())
        #expect(try Self.stages(t, second, "cache_corrupt") == ["fusion"])
        #expect(try Self.stages(t, second, "stage_started") == ["fusion"], "only the damaged stage is computed")
        #expect(try Self.stages(t, second, "stage_cached") == Self.stages.filter { $0 != "fusion" })
        #expect(try Self.digests(t, second) == Self.digests(t, first))
        // Recomputed, it is stored again.
        let third = try Self.run(t, Self.body())
        #expect(try Self.stages(t, third, "stage_cached") == Self.stages)
    }

    @Test func withAVeryLowLimitRunsSucceedAndTheCacheStaysUnderIt() throws {
        let limitGB = 0.0002
        let limit = Int64(limitGB * Double(1 << 30))
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all)) {
            $0.cacheEnabled = true
            $0.cacheMaxGB = limitGB
        }
        try StageTests.sample(t, days: 10)
        let first = try Self.run(t, Self.body())
        let second = try Self.run(t, Self.body(threshold: 0.6))
        let third = try Self.run(t, Self.body())
        // Forecast's entry does not fit: it is computed again, so the report's fit times differ.
        let (a, b) = (try Self.digests(t, third, timings: true), try Self.digests(t, first, timings: true))
        #expect(a == b, "differ: \(a.keys.filter { a[$0] != b[$0] }.sorted())")
        _ = second
        let entries = try Self.entries(t)
        #expect(!entries.isEmpty, "small entries fit")
        #expect(!entries.contains { $0.stage == "load" }, "load's entry is larger than the whole limit")
        var onDisk: Int64 = 0
        for e in entries {
            for name in try FileManager.default.contentsOfDirectory(atPath: e.dir.path) where name != "manifest.json" {
                onDisk +=
                    (try FileManager.default.attributesOfItem(atPath: e.dir.appendingPathComponent(name).path)[.size] as? NSNumber)?
                    .int64Value ?? 0
            }
        }
        #expect(onDisk <= limit, "\(onDisk) bytes in the cache, limit \(limit)")
        #expect(entries.reduce(0) { $0 + $1.bytes } == onDisk)
        let metrics = try t.request("GET", "/metrics").text
        #expect(metrics.contains("signalforge_stage_cache_evictions_total"))
    }

    @Test func theCacheSwitchedOffComputesEveryStage() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all)) { $0.cacheEnabled = false }
        try StageTests.sample(t, days: 5)
        let body = StageTests.body(stages: ["load", "resample", "merge", "export"])
        _ = try Self.run(t, body)
        let second = try Self.run(t, body)
        #expect(try Self.stages(t, second, "stage_started") == ["load", "resample", "merge", "export"])
        #expect(!FileManager.default.fileExists(atPath: t.app.settings.dataDir + "/cache"))
    }
}
