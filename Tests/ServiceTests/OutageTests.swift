import Foundation
import Logging
import Pipeline
import PostgresClient
import Service
import TestSupport
import Testing

struct OutageTests {
    /// PostgreSQL restarts mid-run: the experiment keeps going, and every log
    /// line it emitted is stored once it is back (count emitted = count stored).
    @Test func aPostgreSQLRestartMidRunLosesNoLogLine() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let t = try TestApp(databaseURL: pg.url, stages: StageRegistry([LoggingStage(name: "load", lines: 600, interval: 0.005)]))
        let id = try t.create(body("outage", stages: ["load"]))
        try t.waitFor(id) { $0["status"] as? String == "running" }
        Thread.sleep(forTimeInterval: 0.5)
        try pg.stop()
        let down = Date()
        // Longer than the 2 s metrics interval: at least one sample falls in the outage.
        Thread.sleep(forTimeInterval: 2.5)
        #expect(try t.request("GET", "/readyz").status == 503)
        try pg.start()
        let up = Date()
        let done = try t.waitFor(id, timeout: 30) { ["succeeded", "failed"].contains($0["status"] as? String) }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let conn = try PostgresConnection.connect(pg.configuration, logger: Logger(label: "test"))
        defer { conn.close() }
        // Resource samples taken while PostgreSQL was away were kept and written later.
        let samples = try conn.query(
            "SELECT ts FROM pipeline_metrics WHERE experiment_id = \(UUID(uuidString: id)!) ORDER BY ts"
        ).map { try $0.decode(0, as: Date.self) }
        #expect(samples.contains { $0 > down && $0 < up }, "no sample from the outage: \(samples) (down \(down), up \(up))")
        let stored = try conn.query(
            "SELECT (fields->>'i')::int FROM pipeline_logs WHERE experiment_id = \(UUID(uuidString: id)!) AND message LIKE 'line %' ORDER BY id"
        ).map { try $0.decode(0, as: Int.self) }
        #expect(stored.count == 600)
        #expect(stored == Array(0..<600), "every line, once, in order")
    }
}

struct SpillTests {
    /// A long outage with a tiny in-memory buffer: lines go to spill files and
    /// all of them are stored once PostgreSQL is back.
    @Test func linesSpillToDiskAndComeBack() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let t = try TestApp(
            databaseURL: pg.url, stages: StageRegistry([LoggingStage(name: "load", lines: 400, interval: 0.005)]),
            configure: { $0.logBufferLines = 20 })
        let id = try t.create(body("spill", stages: ["load"]))
        try t.waitFor(id) { $0["status"] as? String == "running" }
        try pg.stop()
        Thread.sleep(forTimeInterval: 1.5)
        try pg.start()
        let done = try t.waitFor(id, timeout: 30) { ["succeeded", "failed"].contains($0["status"] as? String) }
        #expect(done["status"] as? String == "succeeded")
        let metrics = try t.request("GET", "/metrics").text
        let spilled =
            metrics.split(separator: "\n").first { $0.hasPrefix("signalforge_log_lines_spilled_total ") }
            .flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        #expect(spilled > 0)
        let conn = try PostgresConnection.connect(pg.configuration, logger: Logger(label: "test"))
        defer { conn.close() }
        let stored = try conn.query(
            "SELECT (fields->>'i')::int FROM pipeline_logs WHERE experiment_id = \(UUID(uuidString: id)!) AND message LIKE 'line %' ORDER BY id"
        ).map { try $0.decode(0, as: Int.self) }
        #expect(stored == Array(0..<400))
        let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: t.app.settings.dataDir + "/spill")) ?? []
        #expect(leftovers.isEmpty)
    }
}
