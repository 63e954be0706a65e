import Foundation
import Logging
import Pipeline
import PostgresClient
import Service
import TestSupport
import Testing

/// A stage that reports the memory pressure it sees at its checkpoints.
struct PressureProbeStage: Stage {
    let name: String
    func run(_ context: StageContext) throws {
        // Long enough (≈ 2.6 s) for at least one 2-second metrics sample.
        let step = context.progress.child(of: context.node, "probe", total: 260)
        for _ in 0..<260 {
            try context.checkpoint()
            Thread.sleep(forTimeInterval: 0.01)
            context.progress.advance(step, by: 1)
        }
        context.logger.info("pressure seen", metadata: ["pressure": "\(context.memoryPressure)"])
    }
}

struct SamplerTests {
    @Test func progressIsStoredAndServedAfterTheRun() throws {
        let url = try TestApp.freshDatabase()
        var first: TestApp? = try TestApp(
            databaseURL: url,
            stages: StageRegistry([
                ChunkedStage(name: "load", units: 50), ChunkedStage(name: "resample", units: 30), ChunkedStage(name: "merge", units: 5),
            ]))
        let id = try first!.create(body("p", stages: ["load", "resample", "merge"]))
        try first!.waitFor(id) { $0["status"] as? String == "succeeded" }
        first = nil
        // Another instance, which never ran it, serves the stored tree.
        let other = try TestApp(databaseURL: url)
        let p = try other.request("GET", "/v1/experiments/\(id)/progress").json
        #expect(p["status"] as? String == "succeeded")
        #expect(p["percent"] as? Double == 100)
        let stages = p["children"] as? [[String: Any]] ?? []
        // In pipeline order, not alphabetical.
        #expect(stages.map { $0["name"] as? String } == ["load", "resample", "merge"])
        #expect(stages.allSatisfy { $0["status"] as? String == "completed" })
        let work = (stages.first?["children"] as? [[String: Any]])?.first
        #expect(work?["name"] as? String == "work")
        #expect(work?["kind"] as? String == "step")
        #expect(work?["units_done"] as? Int == 50)
        #expect(work?["units_total"] as? Int == 50)
        // A run shorter than the 2 s sampling interval still has its resource sample.
        let metrics = try other.request("GET", "/v1/experiments/\(id)/metrics").json["items"] as? [[String: Any]] ?? []
        #expect(!metrics.isEmpty)
        #expect(metrics.allSatisfy { ($0["rss_bytes"] as? Int ?? 0) > 0 })
    }

    @Test func aTinyBudgetRaisesBothMemoryEventsAndMetricsAreSampled() throws {
        let t = try TestApp(stages: StageRegistry([PressureProbeStage(name: "load")]), configure: { $0.memoryBudgetMB = 16 })
        let id = try t.create(body("mem", stages: ["load"]))
        try t.waitFor(id, timeout: 20) { $0["status"] as? String == "succeeded" }
        let events = (try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? [])
        let kinds = events.compactMap { $0["kind"] as? String }
        #expect(kinds.contains("memory_warning"))
        #expect(kinds.contains("memory_critical"))
        let logs = (try t.request("GET", "/v1/experiments/\(id)/logs?limit=5000").json["items"] as? [[String: Any]] ?? [])
        let seen = logs.first { $0["message"] as? String == "pressure seen" }
        #expect((seen?["fields"] as? [String: Any])?["pressure"] as? String == "spill")
        let metrics = try t.request("GET", "/v1/experiments/\(id)/metrics").json["items"] as? [[String: Any]] ?? []
        #expect(!metrics.isEmpty)
        #expect(metrics.allSatisfy { ($0["rss_bytes"] as? Int ?? 0) > 1 << 20 })
        #expect(metrics.contains { ($0["rows_per_second"] as? Double ?? 0) > 0 })
        #expect(try t.request("GET", "/v1/experiments/\(id)/metrics?after=x").status == 400)
    }
}
