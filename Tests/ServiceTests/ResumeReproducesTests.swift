import Foundation
import Hashing
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// A run resumed after fusion (a new runner: nothing in memory, the signals
/// read back from PostgreSQL) writes the same files as an undisturbed run.
struct ResumeReproducesTests {
    static let stages = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]
    static let body = StageTests.body(
        stages: stages, timeframes: ["15m", "1h", "4h"],
        config: #"{"export":{"formats":["csv","parquet"]},"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":0.5}}"#)

    /// Every artifact's SHA-256, by name.
    static func digests(_ t: TestApp, _ id: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for a in try StageTests.artifacts(t, id) {
            out[a.name] = SHA256.hex([UInt8](try Data(contentsOf: URL(fileURLWithPath: a.path))))
        }
        return out
    }

    /// `report.json` with the experiment's id and the forecast models' fit
    /// times (`"seconds"`, its only timing fields) blanked; byte for byte otherwise.
    static func report(_ t: TestApp, _ id: String) throws -> String {
        let path = try #require(try StageTests.artifacts(t, id).first { $0.name == "report.json" }).path
        var text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains(#""experiment_id":"\#(id)""#))
        text = text.replacingOccurrences(of: id, with: "ID")
        text = text.replacingOccurrences(of: #""seconds":[-+0-9.eE]+"#, with: #""seconds":0"#, options: .regularExpression)
        return text
    }

    /// `failing` fails in its first run; the retry from it (a new runner) reads the signals back from
    /// PostgreSQL; a second experiment, the same request, runs undisturbed.
    @Test(arguments: ["export", "analysis"])
    func aRunResumedAfterFusionWritesTheUndisturbedRunsFiles(failing: String) throws {
        let registry = StageRegistry(SignalForgeStages.all.map { $0.name == failing ? FailingFirstRun($0) as any Stage : $0 })
        let t = try TestApp(stages: registry)
        try StageTests.sample(t, days: 30)

        let resumed = try t.create(Self.body)
        let failed = try t.waitFor(resumed, timeout: 240, StageTests.finished)
        #expect(failed["status"] as? String == "failed", "\(failed)")
        #expect(try t.request("POST", "/v1/experiments/\(resumed)/retry", body: #"{"from_stage":"\#(failing)"}"#).status == 202)
        let done = try t.waitFor(resumed, timeout: 240) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let logs =
            try t.request("GET", "/v1/experiments/\(resumed)/logs?stage=\(failing)&limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(
            logs.contains { ($0["message"] as? String)?.hasPrefix("the signals are not in memory") == true },
            "the retry did not read the signals back (from fusion's checkpoint)")

        let undisturbed = try t.create(Self.body)
        let clean = try t.waitFor(undisturbed, timeout: 240, StageTests.finished)
        #expect(clean["status"] as? String == "succeeded", "\(clean)")

        // Enough signals that order and last digits matter.
        let report = try t.request("GET", "/v1/experiments/\(undisturbed)/report").json
        let candidates = try #require((report["signals"] as? [String: Any])?["candidates"] as? Int)
        #expect(candidates >= 1000, "only \(candidates) signals")

        let expected = try Self.digests(t, undisturbed)
        let got = try Self.digests(t, resumed)
        #expect(Set(got.keys) == Set(expected.keys))
        for name in [
            "signals.csv", "signals.parquet", "trades.csv", "trades.parquet", "equity.csv", "equity.parquet",
            "features_15m.csv", "features_1h.parquet", "features_4h.csv",
        ] {
            #expect(expected[name] != nil, "no \(name)")
        }
        for (name, digest) in expected.sorted(by: { $0.key < $1.key }) where name != "report.json" {
            #expect(got[name] == digest, "\(name) differs from the undisturbed run's")
        }
        #expect(try Self.report(t, resumed) == Self.report(t, undisturbed), "report.json differs beyond id and timings")
    }
}
