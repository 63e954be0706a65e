import Foundation
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// `GET /v1/experiments/compare` on experiments that really ran.
struct CompareTests {
    @Test func twoExperimentsDifferingInOneValueShowExactlyThatPath() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        try StageTests.sample(t, days: 12)
        func start(_ threshold: String) throws -> String {
            try t.create(
                StageTests.body(
                    stages: ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "analysis"], timeframes: ["1h"],
                    config: #"{"forecast":{"refit_every":200},"fusion":{"quality_threshold":\#(threshold)}}"#))
        }
        let a = try start("0.6")
        let b = try start("0.7")
        for id in [a, b] {
            let done = try t.waitFor(id, timeout: 180, StageTests.finished)
            #expect(done["status"] as? String == "succeeded", "\(done)")
        }
        let r = try t.request("GET", "/v1/experiments/compare?ids=\(a),\(b)")
        #expect(r.status == 200, "\(r.text)")
        let diff = r.json["config_diff"] as? [[String: Any]] ?? []
        #expect(diff.map { $0["path"] as? String } == ["config.fusion.quality_threshold"], "\(diff)")
        #expect(diff.first?["values"] as? [Double] == [0.6, 0.7])
        let metrics = r.json["metrics"] as? [String: Any]
        let overall = metrics?["overall"] as? [[String: Any]] ?? []
        #expect(overall.count == 2)
        #expect(overall.allSatisfy { $0["trades"] is Int && $0["verdict"] is String })
        let series = metrics?["series"] as? [[String: Any]] ?? []
        #expect(series.count == 3)  // three symbols × one timeframe
        #expect(series.allSatisfy { ($0["values"] as? [Any])?.count == 2 && $0["timeframe"] as? String == "1h" })
        let equity = r.json["equity"] as? [String: Any]
        let grid = equity?["timestamps"] as? [String] ?? []
        let curves = equity?["curves"] as? [[Double]] ?? []
        #expect(!grid.isEmpty && grid.count <= 500)
        #expect(curves.count == 2)
        #expect(curves.allSatisfy { $0.count == grid.count })

        #expect(try t.request("GET", "/v1/experiments/compare?ids=\(a)").status == 400)
        #expect(try t.request("GET", "/v1/experiments/compare?ids=\(a),\(a)").status == 400)
        #expect(try t.request("GET", "/v1/experiments/compare?ids=\(a),nope").json["field"] as? String == "ids")
        #expect(try t.request("GET", "/v1/experiments/compare?ids=\(a),\(UUID().uuidString)").status == 404)
    }
}
