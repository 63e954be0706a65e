import Forecasting
import Foundation
import Indicators
import Logging
import MarketData
import Pipeline
import PostgresClient
import Service
import Stages
import TestSupport
import Testing

/// `features` → `patterns` → `forecast` (→ `fusion` → `analysis`) on a real
/// service: the columns they add to the exported tables, their values, and
/// recovery from checkpoints in a later run.
struct IntelligenceStageTests {
    static func csv(_ path: String) throws -> (header: [String], rows: [[String]]) {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let lines = text.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return (lines[0], Array(lines.dropFirst()))
    }

    static func column(_ table: (header: [String], rows: [[String]]), _ name: String) -> [Double]? {
        guard let k = table.header.firstIndex(of: name) else { return nil }
        return table.rows.map { Double($0[k]) ?? .nan }
    }

    @Test func featuresPatternsAndForecastColumnsAreExported() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        try StageTests.sample(t, days: 20)
        let body = StageTests.body(
            stages: ["load", "resample", "merge", "features", "patterns", "forecast", "export"], timeframes: ["15m", "1h"],
            config: #"{"export":{"formats":["csv"]},"forecast":{"horizon_bars":4,"refit_every":200}}"#)
        let id = try t.create(body)
        let done = try t.waitFor(id, timeout: 120, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let files = try StageTests.artifacts(t, id)
        #expect(files.map(\.name) == ["features_15m.csv", "features_1h.csv"])
        let table = try Self.csv(try #require(files.first { $0.name == "features_1h.csv" }).path)
        #expect(table.rows.count == 20 * 24)
        for name in [
            "sma_20", "ema_50", "rsi_14", "macd", "macd_signal", "macd_hist", "bb_upper_20", "bb_middle_20",
            "bb_lower_20", "atr_14", "stoch_k", "stoch_d", "adx_14", "cdl_hammer", "cdl_engulfing", "cdl_doji",
            "cdl_3whitesoldiers", "cdl_3blackcrows", "swing_high", "swing_low", "chart_pattern", "forecast",
            "forecast_confidence", "forecast_ar", "forecast_ridge", "forecast_drift", "forecast_ensemble",
        ] {
            #expect(table.header.contains("gbpusd_" + name), "missing gbpusd_\(name)")
        }
        // The indicator columns are the Indicators module's values on the symbol's bars.
        let close = try #require(Self.column(table, "gbpusd_close"))
        let sma = try #require(Self.column(table, "gbpusd_sma_20"))
        let expected = SMA.compute(close, period: 20)
        #expect(sma.prefix(19).allSatisfy { $0.isNaN })
        for i in 19..<close.count { #expect(abs(sma[i] - expected[i]) <= 1e-9 * abs(expected[i])) }
        let rsi = try #require(Self.column(table, "usdjpy_rsi_14"))
        #expect(rsi.dropFirst(14).allSatisfy { $0 >= 0 && $0 <= 100 })
        // Forecasts exist past the training minimum, with confidence in [0, 1].
        let forecast = try #require(Self.column(table, "eurusd_forecast"))
        let confidence = try #require(Self.column(table, "eurusd_forecast_confidence"))
        #expect(forecast.filter { $0.isFinite }.count > 200)
        #expect(confidence.filter { $0.isFinite }.allSatisfy { $0 >= 0 && $0 <= 1 })
        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?stage=forecast&limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(logs.filter { $0["message"] as? String == "forecast model evaluated out of sample" }.count == 3 * 2 * 4)
        // …and the same figures as the stage's events.
        let events = try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        let evaluated = events.filter { $0["kind"] as? String == "forecast_model_evaluated" }
        #expect(evaluated.count == 3 * 2 * 4)
        #expect(
            evaluated.allSatisfy {
                ($0["details"] as? [String: Any])?["directional_accuracy"] != nil && $0["stage"] as? String == "forecast"
            })
        // Succeeded: the checkpoints are removed; the chart's bars are kept.
        let dir = URL(fileURLWithPath: files[0].path).deletingLastPathComponent()
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("checkpoints").path))
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("chart").path).sorted() == [
                "bars_15m.sftable", "bars_1h.sftable",
            ])
    }

    @Test func aLaterRunReloadsEachTableFromItsCheckpoint() throws {
        // export fails once: the retry (a new runner, nothing in memory) reads the forecast checkpoints.
        let stages = StageRegistry([
            LoadStage(), ResampleStage(), MergeStage(), FeaturesStage(), PatternsStage(), ForecastStage(),
            FailingFirstRun(ExportStage()),
        ])
        let t = try TestApp(stages: stages)
        try StageTests.sample(t, days: 5)
        let id = try t.create(
            StageTests.body(
                stages: ["load", "resample", "merge", "features", "patterns", "forecast", "export"], timeframes: ["1h"],
                config: #"{"export":{"formats":["csv"]}}"#))
        #expect(try t.waitFor(id, timeout: 60, StageTests.finished)["status"] as? String == "failed")
        #expect(try t.request("POST", "/v1/experiments/\(id)/retry").status == 202)
        let done = try t.waitFor(id, timeout: 60) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?stage=export&limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(logs.contains { $0["message"] as? String == "forecast table reloaded from its checkpoint" })
        let table = try Self.csv(try StageTests.artifacts(t, id)[0].path)
        #expect(table.header.contains("eurusd_forecast"))
        #expect(table.header.contains("eurusd_adx_14"))
    }
}

struct StageConfigValidationTests {
    @Test func aBadStageConfigIsA400NamingTheMember() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        let cases: [(String, String)] = [
            (#"{"features":{"sma":[0]}}"#, "config.features.sma[0]"),
            (#"{"features":{"smaa":[5]}}"#, "config.features.smaa"),
            (#"{"patterns":{"swing_window":0}}"#, "config.patterns.swing_window"),
            (#"{"forecast":{"ar_order":0}}"#, "config.forecast.ar_order"),
            (#"{"merge":{"tolerance":"soon"}}"#, "config.merge.tolerance"),
        ]
        for (config, field) in cases {
            let r = try t.request(
                "POST", "/v1/experiments",
                body: StageTests.body(stages: ["load", "resample", "merge", "features", "patterns", "forecast", "export"], config: config))
            #expect(r.status == 400, "\(config): \(r.text)")
            #expect(r.json["field"] as? String == field, "\(config): \(r.text)")
        }
        // Nothing was stored.
        let list = try t.request("GET", "/v1/experiments").json["items"] as? [Any]
        #expect(list?.count == 0)
    }
}

/// The default experiment (every stage) end to end: signals, report, files.
struct DefaultExperimentTests {
    @Test func everyStageRunsAndTheSignalsAndReportAreServed() throws {
        let stages: [any Stage] = SignalForgeStages.all.map { $0.name == "analysis" ? FailingFirstRun($0) as any Stage : $0 }
        let t = try TestApp(stages: StageRegistry(stages))
        try StageTests.sample(t, days: 30)
        let body = StageTests.body(
            stages: ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"],
            timeframes: ["15m", "1h", "4h"],
            config:
                #"{"export":{"formats":["csv","parquet"]},"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":0.5,"store":"all"}}"#
        )
        let id = try t.create(body)
        // analysis fails once; the retry (a new runner) reads the signals back (fusion's checkpoint).
        // `fusion.store: all`: every candidate is in `signals`, accepted or not.
        #expect(try t.waitFor(id, timeout: 120, StageTests.finished)["status"] as? String == "failed")
        #expect(try t.request("GET", "/v1/experiments/\(id)/report").status == 404)
        #expect(try t.request("POST", "/v1/experiments/\(id)/retry", body: #"{"from_stage":"analysis"}"#).status == 202)
        let done = try t.waitFor(id, timeout: 120) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded", "\(done)")

        // Signals: every component and the quality in [0, 1]; filters; pages; CSV.
        var all: [[String: Any]] = []
        var after = "0"
        while true {
            let page = try t.request("GET", "/v1/experiments/\(id)/signals?limit=500&after=\(after)").json
            all += page["items"] as? [[String: Any]] ?? []
            guard let next = page["next_cursor"] as? String else { break }
            after = next
        }
        #expect(all.count > 10)
        for s in all {
            let q = try #require(s["quality"] as? Double)
            #expect(q >= 0 && q <= 1)
            let components = try #require(s["components"] as? [String: Any])
            #expect(components.count == 6)
            for v in components.values { #expect(((v as? Double) ?? -1) >= 0 && ((v as? Double) ?? 2) <= 1) }
            #expect(["long", "short"].contains(s["direction"] as? String ?? ""))
            #expect((s["accepted"] as? Bool) == (q >= 0.5))
        }
        let accepted =
            try t.request("GET", "/v1/experiments/\(id)/signals?accepted=true&symbol=EURUSD&timeframe=1h&limit=5000").json["items"]
            as? [[String: Any]] ?? []
        #expect(
            accepted.count
                == all.filter {
                    $0["accepted"] as? Bool == true && $0["symbol"] as? String == "EURUSD" && $0["timeframe"] as? String == "1h"
                }.count)
        let csv = try t.request("GET", "/v1/experiments/\(id)/signals?format=csv&limit=1000000")
        #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
        #expect(csv.text.split(separator: "\n").count == all.count + 1)
        #expect(try t.request("GET", "/v1/experiments/\(id)/signals?min_quality=2").status == 400)
        // Outcomes (issue 13): every signal has one; `outcome=` filters by it; a bad value names the parameter.
        for s in all {
            let outcome = try #require(s["outcome"] as? [String: Any])
            let exit = outcome["exit"] as? String ?? ""
            #expect(["target", "stop", "horizon", "open"].contains(exit))
            #expect((outcome["r"] is Double) == (exit != "open"))
            #expect(s["quality_prior"] is Double)
        }
        let stops = try t.request("GET", "/v1/experiments/\(id)/signals?outcome=stop&limit=5000").json["items"] as? [[String: Any]] ?? []
        #expect(stops.count == all.filter { ($0["outcome"] as? [String: Any])?["exit"] as? String == "stop" }.count)
        #expect(!stops.isEmpty)
        let badOutcome = try t.request("GET", "/v1/experiments/\(id)/signals?outcome=win")
        #expect(badOutcome.status == 400 && badOutcome.text.contains("outcome"))

        // The report.
        let report = try t.request("GET", "/v1/experiments/\(id)/report")
        #expect(report.status == 200)
        let counts = try #require(report.json["signals"] as? [String: Any])
        #expect(counts["candidates"] as? Int == all.count)
        #expect(counts["accepted"] as? Int == all.filter { $0["accepted"] as? Bool == true }.count)
        #expect(report.json["backtest"] is [String: Any])
        #expect((report.json["forecast_models"] as? [Any])?.isEmpty == false)
        let evaluation = try #require(report.json["evaluation"] as? [String: Any])
        let overall = try #require(evaluation["overall"] as? [String: Any])
        #expect(["edge", "no_edge", "insufficient_data"].contains(overall["verdict"] as? String ?? ""))
        #expect((overall["reason"] as? String)?.isEmpty == false)
        #expect(overall["signals"] as? Int == all.count)
        #expect((evaluation["costs"] as? [String: Any])?["EURUSD"] != nil)

        let names = try StageTests.artifacts(t, id).map(\.name)
        for n in [
            "signals.csv", "signals.parquet", "trades.csv", "trades.parquet", "equity.csv", "equity.parquet", "report.json",
            "features_15m.parquet", "features_4h.csv",
        ] {
            #expect(names.contains(n), "missing artifact \(n)")
        }
        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?stage=analysis&limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(logs.contains { ($0["message"] as? String)?.hasPrefix("the signals are not in memory") == true })
    }
}

/// A model that never finishes in time (and never checks in).
struct SleepyModel: ForecastModel {
    let name = "sleepy"
    func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries {
        Thread.sleep(forTimeInterval: 10)
        return ForecastSeries(empty: input.count)
    }
}

/// A model that fails.
struct BrokenModel: ForecastModel {
    struct Broke: Error, CustomStringConvertible { var description: String { "singular matrix" } }
    let name = "broken"
    func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries { throw Broke() }
}

struct ForecastTimeoutStageTests {
    @Test func aModelPastItsTimeoutIsLeftOutAndTheStageKeepsToTheTotalTimeout() throws {
        let forecast = ForecastStage { config in ForecastRunner.models(for: config) + [SleepyModel(), BrokenModel()] }
        let t = try TestApp(stages: StageRegistry([LoadStage(), ResampleStage(), MergeStage(), FeaturesStage(), forecast, ExportStage()]))
        try StageTests.sample(t, days: 10)
        let id = try t.create(
            StageTests.body(
                stages: ["load", "resample", "merge", "features", "forecast", "export"], timeframes: ["1h"],
                config: #"{"export":{"formats":["csv"]},"forecast":{"model_timeout_s":0.4,"total_timeout_s":1.0}}"#))
        let done = try t.waitFor(id, timeout: 60, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let events = try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        let ms = try #require(
            events.first { $0["kind"] as? String == "stage_completed" && $0["stage"] as? String == "forecast" }?["duration_ms"] as? Double)
        #expect(ms <= 2000, "forecast took \(ms) ms with a 1 s total timeout")
        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?stage=forecast&limit=1000").json["items"] as? [[String: Any]] ?? []
        let leftOut = logs.filter { $0["message"] as? String == "forecast model left out" }
        let fields = leftOut.compactMap { $0["fields"] as? [String: Any] }
        #expect(fields.contains { $0["model"] as? String == "sleepy" && ($0["reason"] as? String)?.contains("timeout") == true })
        #expect(fields.contains { $0["model"] as? String == "broken" && ($0["reason"] as? String)?.contains("singular matrix") == true })
        // The first symbol's healthy models finished well inside the budget and were kept.
        let table = try IntelligenceStageTests.csv(try StageTests.artifacts(t, id)[0].path)
        let eurusd = try #require(IntelligenceStageTests.column(table, "eurusd_forecast"))
        #expect(eurusd.contains { $0.isFinite })
        #expect(!table.header.contains("eurusd_forecast_sleepy"))
    }
}
