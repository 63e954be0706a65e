import Foundation
import Logging
import Pipeline
import PostgresClient
import Testing
import TestSupport

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
        Thread.sleep(forTimeInterval: 1.5)
        #expect(try t.request("GET", "/readyz").status == 503)
        try pg.start()
        let done = try t.waitFor(id, timeout: 30) { ["succeeded", "failed"].contains($0["status"] as? String) }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let conn = try PostgresConnection.connect(pg.configuration, logger: Logger(label: "test"))
        defer { conn.close() }
        let stored = try conn.query(
            "SELECT (fields->>'i')::int FROM pipeline_logs WHERE experiment_id = \(UUID(uuidString: id)!) AND message LIKE 'line %' ORDER BY id"
        ).map { try $0.decode(0, as: Int.self) }
        #expect(stored.count == 600)
        #expect(stored == Array(0..<600), "every line, once, in order")
    }
}
