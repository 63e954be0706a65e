import Foundation
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// Issue 17: a four-level progress tree, throughput in every resource
/// sample, and the process/host figures in `/metrics` and `GET /v1/system`.
struct MonitoringTests {
    /// The default experiment (every stage, default config) over data big
    /// enough to read each file in five chunks; resources sampled every 200 ms.
    @Test func theDefaultExperimentHasFourLevelsAndThroughputInEverySample() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all), configure: { $0.metricsIntervalMs = 200 })
        // 50 days of 1-minute bars: 72,000 rows a file, five 16,384-row chunks.
        try StageTests.sample(t, days: 50)
        let datasets = StageTests.symbols.map { #"{"symbol":"\#($0)","path":"samples/\#($0)_1m.csv"}"# }.joined(separator: ",")
        let id = try t.create(#"{"name":"default","datasets":[\#(datasets)],"timeframes":["15m","1h","4h"]}"#)

        let status = try t.waitFor(id, timeout: 300, StageTests.finished)["status"] as? String
        #expect(status == "succeeded")

        // At the end: four levels in load, forecast and export, units adding up.
        let tree = try t.request("GET", "/v1/experiments/\(id)/progress").json
        #expect(tree["units_done"] as? Int == 9)
        #expect(tree["units_total"] as? Int == 9)
        for stage in ["load", "forecast", "export"] {
            let node = try #require(StageTests.node(tree, "pipeline/\(stage)"))
            let steps = node["children"] as? [[String: Any]] ?? []
            #expect(!steps.isEmpty, "\(stage) has steps")
            var stageUnits = 0
            for step in steps {
                let substeps = step["children"] as? [[String: Any]] ?? []
                #expect(!substeps.isEmpty, "\(stage)/\(step["name"] ?? "") has substeps")
                #expect(substeps.allSatisfy { $0["kind"] as? String == "substep" && $0["status"] as? String == "completed" })
                #expect(
                    substeps.allSatisfy { $0["units_done"] as? Int == $0["units_total"] as? Int && ($0["units_done"] as? Int ?? 0) > 0 })
                let sum = substeps.reduce(0) { $0 + ($1["units_done"] as? Int ?? 0) }
                #expect((step["units_done"] as? Int ?? -1) >= sum, "a step counts at least its substeps' units")
                stageUnits += step["units_done"] as? Int ?? 0
            }
            #expect(node["units_done"] as? Int == stageUnits, "\(stage) sums its steps")
        }
        let load = try #require(StageTests.node(tree, "pipeline/load/EURUSD"))
        #expect((load["children"] as? [[String: Any]])?.map { $0["name"] as? String } == (1...5).map { "chunk_\($0)" })
        #expect(load["units_done"] as? Int == 72_000)
        #expect(StageTests.node(tree, "pipeline/forecast/1h/GBPUSD")?["kind"] as? String == "substep")
        #expect(StageTests.node(tree, "pipeline/export/features_15m.parquet/batch_1")?["kind"] as? String == "substep")

        // Every sample taken while a stage worked has a throughput.
        var samples: [[String: Any]] = []
        var after = "0"
        while true {
            let page = try t.request("GET", "/v1/experiments/\(id)/metrics?limit=5000&after=\(after)").json
            samples += page["items"] as? [[String: Any]] ?? []
            guard let next = page["next_cursor"] as? String else { break }
            after = next
        }
        let working = samples.filter { $0["stage"] is String }
        // Not vacuous: samples from several stages (which ones depends on the host's speed).
        #expect(working.count >= 5, "\(working.count) samples while stages worked")
        let stagesSampled = Set(working.compactMap { $0["stage"] as? String })
        #expect(stagesSampled.count >= 3, "\(stagesSampled)")
        let without = working.filter { ($0["rows_per_second"] as? Double ?? 0) <= 0 }
        #expect(without.isEmpty, "samples without rows/s: \(without)")
    }

    /// `/metrics` gauges (scraped without a token), `GET /v1/system` with a read token.
    @Test func processHostAndPoolFiguresInMetricsAndSystem() throws {
        let t = try TestApp(tokens: TestTokens.file, stages: StageRegistry([FailingStage(name: "load")]))
        let created = try t.request("POST", "/v1/experiments", token: TestTokens.operatorToken, body: body("fails", stages: ["load"]))
        let id = try #require(created.json["id"] as? String, "\(created.status) \(created.text)")
        let until = Date().addingTimeInterval(20)
        while try t.request("GET", "/v1/experiments/\(id)", token: TestTokens.reader).json["status"] as? String != "failed", Date() < until
        {
            Thread.sleep(forTimeInterval: 0.05)
        }

        // The database probe's first answer comes within a sampler tick.
        var gauges: [String: Double] = [:]
        let deadline = Date().addingTimeInterval(10)
        repeat {
            gauges = Self.parse(try t.request("GET", "/metrics").text)
            // The outcome is counted just after the final state is stored.
            if gauges["signalforge_database_up"] != nil, gauges[#"signalforge_experiments_finished_total{outcome="failed"}"#] == 1 { break }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        #expect(gauges["signalforge_database_up"] == 1)
        #expect((gauges["process_resident_memory_bytes"] ?? 0) > 1_048_576)
        #expect((gauges["process_cpu_seconds_total"] ?? 0) > 0)
        #expect((gauges["process_open_fds"] ?? 0) > 3)
        #expect((gauges["process_threads"] ?? 0) > 1)
        #expect((gauges["process_start_time_seconds"] ?? 0) > 1.7e9)
        #expect((gauges["signalforge_data_dir_free_bytes"] ?? 0) > 0)
        #expect((gauges["signalforge_data_dir_used_bytes"] ?? 0) > 0)
        #expect((gauges["signalforge_data_dir_size_bytes"] ?? 0) >= (gauges["signalforge_data_dir_free_bytes"] ?? .infinity))
        #expect((gauges["signalforge_host_memory_total_bytes"] ?? 0) >= (gauges["signalforge_host_memory_available_bytes"] ?? .infinity))
        #expect((gauges["signalforge_host_memory_available_bytes"] ?? 0) > 0)
        #expect((gauges["signalforge_host_load1"] ?? -1) >= 0)
        #expect(gauges["signalforge_db_pool_waiting"] == 0)
        #expect((gauges[#"signalforge_db_pool_connections{state="in_use"}"#] ?? -1) >= 0)
        #expect(gauges["signalforge_log_spill_files"] == 0)
        #expect(gauges[#"signalforge_experiments_finished_total{outcome="failed"}"#] == 1)
        #expect(gauges[#"signalforge_experiments_finished_total{outcome="succeeded"}"#] == 0)

        // The same as JSON, for a read token; none → 401.
        #expect(try t.request("GET", "/v1/system").status == 401)
        let r = try t.request("GET", "/v1/system", token: TestTokens.reader)
        #expect(r.status == 200)
        let s = r.json
        #expect((s["instance"] as? String)?.isEmpty == false)
        #expect(s["version"] as? String == "0.3.0")
        #expect((s["uptime_seconds"] as? Double ?? -1) > 0)
        let experiments = s["experiments"] as? [String: Any] ?? [:]
        #expect(experiments["running"] as? Int == 0)
        #expect(experiments["queued"] as? Int == 0)
        #expect(experiments["running_here"] as? Int == 0)
        let process = s["process"] as? [String: Any] ?? [:]
        #expect((process["rss_bytes"] as? Int ?? 0) > 1 << 20)
        #expect((process["open_fds"] as? Int ?? 0) > 3)
        #expect((process["threads"] as? Int ?? 0) > 1)
        #expect((process["cpu_seconds"] as? Double ?? 0) > 0)
        let disk = s["data_dir"] as? [String: Any] ?? [:]
        #expect(disk["path"] as? String == t.app.settings.dataDir)
        #expect((disk["free_bytes"] as? Int ?? 0) > 0)
        #expect((disk["used_bytes"] as? Int ?? 0) > 0)
        let host = s["host"] as? [String: Any] ?? [:]
        #expect((host["memory_total_bytes"] as? Int ?? 0) > 0)
        #expect(host["load1"] is Double)
        let database = s["database"] as? [String: Any] ?? [:]
        #expect(database["up"] as? Bool == true)
        #expect((database["pool"] as? [String: Any])?["waiting"] as? Int == 0)
        #expect((s["logs"] as? [String: Any])?["spill_files"] as? Int == 0)
    }

    /// Prometheus exposition text as `name{labels}` → value.
    static func parse(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = v
        }
        return out
    }
}

/// A stage that fails at once.
struct FailingStage: Stage {
    let name: String
    struct Failure: Error, CustomStringConvertible { var description: String { "deliberate failure" } }
    func run(_ context: StageContext) throws { throw Failure() }
}
