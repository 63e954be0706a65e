import Foundation
import Logging
import Pipeline
import PostgresClient
import TestSupport
import Testing

@testable import Service

/// Logs a numbered line on every chunk (`talk N`), calling the checkpoint between chunks.
struct TalkingStage: Stage {
    let name: String
    var units = 4000
    var chunkSeconds = 0.005

    func run(_ context: StageContext) throws {
        for i in 0..<units {
            try context.checkpoint()
            context.logger.info("talk \(i)")
            Thread.sleep(forTimeInterval: chunkSeconds)
        }
    }
}

/// Issue 11 items 5 and 6 for log lines: a runner's lines carry its
/// generation and are refused once the experiment moved on (fenced like its
/// other writes); each line is stored once.
@Suite(.serialized) struct LogFencingTests {
    static func count(_ conn: PostgresConnection, _ id: UUID, message: String) throws -> Int64 {
        try conn.query("SELECT count(*) FROM pipeline_logs WHERE experiment_id = \(id) AND message = \(message)").first!
            .decode(0, as: Int64.self)
    }

    /// The writer stores a line of the current generation and a line without
    /// one, refuses a line of an older generation and a line of an experiment
    /// that does not exist, and goes on writing after them.
    @Test func theWriterRefusesStaleGenerationsAndUnknownExperiments() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 5)]))
        let id = try t.create(body("fenced-lines", stages: ["load"]))
        let done = try t.waitFor(id, timeout: 30) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let uuid = try #require(UUID(uuidString: id))
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: t.databaseURL), logger: Logger(label: "test"))
        defer { conn.close() }
        let generation = try #require(
            try conn.query("SELECT generation FROM experiments WHERE id = \(uuid)").first?.decode(0, as: Int64.self))
        #expect(generation >= 1)
        let refusedBefore = t.app.logWriter.refusedCount
        func line(_ message: String, _ generation: Int64?, experiment: UUID = uuid) -> LogLine {
            LogLine(
                experimentID: experiment, micros: Int64(Date().timeIntervalSince1970 * 1_000_000), level: .info, stage: "load",
                message: message, fields: "{}", generation: generation)
        }
        for l in [
            line("stale", generation - 1), line("current", generation), line("unfenced", nil),
            line("orphan", 1, experiment: UUID()), line("last", generation),
        ] {
            t.app.logBus.publish(l)
        }
        // The writer takes lines in order: once "last" is stored, the others were handled.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, try Self.count(conn, uuid, message: "last") == 0 { Thread.sleep(forTimeInterval: 0.01) }
        #expect(try Self.count(conn, uuid, message: "last") == 1)
        #expect(try Self.count(conn, uuid, message: "current") == 1)
        #expect(try Self.count(conn, uuid, message: "unfenced") == 1)
        #expect(try Self.count(conn, uuid, message: "stale") == 0, "a superseded generation's line was stored")
        #expect(
            try conn.query("SELECT count(*) FROM pipeline_logs WHERE message = 'orphan'").first!.decode(0, as: Int64.self) == 0)
        #expect(t.app.logWriter.refusedCount - refusedBefore == 2)
    }

    /// A runner keeps talking after another claim superseded its generation
    /// (as when another instance recovered its expired lease): none of the
    /// lines it emits from then on is stored, until it finds out and stops.
    @Test func aSupersededRunnersLateLinesAreRefused() throws {
        let t = try TestApp(stages: StageRegistry([TalkingStage(name: "load")]))
        let id = try t.create(body("stale-talk", stages: ["load"]))
        let uuid = try #require(UUID(uuidString: id))
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: t.databaseURL), logger: Logger(label: "test"))
        defer { conn.close() }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline,
            try conn.query("SELECT count(*) FROM pipeline_logs WHERE experiment_id = \(uuid) AND message LIKE 'talk %'").first!
                .decode(0, as: Int64.self) < 20
        {
            Thread.sleep(forTimeInterval: 0.01)
        }
        #expect(t.app.engine.runningIDs.contains(uuid), "the runner should still be talking")
        // Another owner's claim, with a lease long enough that nobody recovers it during the test.
        try conn.execute(
            """
            UPDATE experiments SET generation = generation + 1, lease_owner = 'elsewhere',
                lease_expires_at = now() + INTERVAL '1 hour' WHERE id = \(uuid)
            """)
        let superseded = Date()
        let publishedAtSupersede = t.app.logBus.publishedCount
        // The runner learns it at its next lease renewal (a quarter lease) and stops at its checkpoint.
        let stop = Date().addingTimeInterval(30)
        while Date() < stop, t.app.engine.runningIDs.contains(uuid) { Thread.sleep(forTimeInterval: 0.01) }
        #expect(!t.app.engine.runningIDs.contains(uuid), "the superseded runner did not stop")
        t.app.logWriter.waitUntilWritten(t.app.logBus.publishedCount, timeout: .seconds(10))
        #expect(t.app.logBus.publishedCount > publishedAtSupersede, "the runner emitted no line after it was superseded")
        #expect(t.app.logWriter.refusedCount > 0)
        let late = try conn.query(
            "SELECT count(*) FROM pipeline_logs WHERE experiment_id = \(uuid) AND ts > \(superseded)"
        ).first!.decode(0, as: Int64.self)
        #expect(late == 0, "\(late) lines emitted after the runner was superseded were stored")
        // Each stored line once: the numbered lines are distinct and contiguous from 0.
        let numbers = try conn.query(
            "SELECT substring(message FROM 6)::int FROM pipeline_logs WHERE experiment_id = \(uuid) AND message LIKE 'talk %' ORDER BY id"
        ).map { try $0.decode(0, as: Int.self) }
        #expect(!numbers.isEmpty && numbers == Array(0..<numbers.count), "stored talk lines: \(numbers.prefix(5))…\(numbers.suffix(5))")
    }
}
