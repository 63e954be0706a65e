import Foundation
import Logging
import Pipeline
import PostgresClient
import Stages
import Store
import TestSupport
import Testing

@testable import Service

/// PostgreSQL stopped for ~5 s while the real pipeline is in `stage`: the
/// experiment succeeds, and its files, report, signals, events and log equal
/// an undisturbed run's.
struct OutagePipelineTests {
    @Test(arguments: ["fusion", "export"])
    func aFiveSecondOutageChangesNothing(stage: String) throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let t = try TestApp(databaseURL: pg.url, stages: StageRegistry(SignalForgeStages.all))
        try StageTests.sample(t, days: 30)
        let order = ResumeReproducesTests.stages
        let target = try #require(order.firstIndex(of: stage))

        let disturbed = try t.create(ResumeReproducesTests.body)
        let reached = try t.waitFor(disturbed, timeout: 240) { body in
            guard let s = body["stage"] as? String, let i = order.firstIndex(of: s) else { return StageTests.finished(body) }
            return i >= target || StageTests.finished(body)
        }
        #expect(reached["stage"] as? String == stage && reached["status"] as? String == "running", "\(reached)")
        try pg.stop()
        Thread.sleep(forTimeInterval: 5)
        try pg.start()
        let done = try t.waitFor(disturbed, timeout: 240, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")

        let undisturbed = try t.create(ResumeReproducesTests.body)
        let clean = try t.waitFor(undisturbed, timeout: 240, StageTests.finished)
        #expect(clean["status"] as? String == "succeeded", "\(clean)")

        let expected = try ResumeReproducesTests.digests(t, undisturbed)
        let got = try ResumeReproducesTests.digests(t, disturbed)
        #expect(Set(got.keys) == Set(expected.keys))
        for (name, digest) in expected.sorted(by: { $0.key < $1.key }) where name != "report.json" {
            #expect(got[name] == digest, "\(name) differs from the undisturbed run's")
        }
        #expect(try ResumeReproducesTests.report(t, disturbed) == ResumeReproducesTests.report(t, undisturbed))

        let signals = SignalStore(pool: t.app.pool)
        let a = try signals.all(experiment: try #require(UUID(uuidString: disturbed))).map(ServiceStageEnvironment.record)
        let b = try signals.all(experiment: try #require(UUID(uuidString: undisturbed))).map(ServiceStageEnvironment.record)
        #expect(a.count == b.count && !a.isEmpty)
        #expect(
            zip(a, b).allSatisfy { x, y in
                x.timestampMicros == y.timestampMicros && x.symbol == y.symbol && x.timeframe == y.timeframe
                    && x.entry.bitPattern == y.entry.bitPattern && x.quality.bitPattern == y.quality.bitPattern && x.accepted == y.accepted
            })

        let conn = try PostgresConnection.connect(pg.configuration, logger: Logger(label: "test"))
        defer { conn.close() }
        func events(_ id: String) throws -> [String] {
            try conn.query(
                """
                SELECT kind || ':' || coalesce(stage, '') FROM pipeline_events
                WHERE experiment_id = \(UUID(uuidString: id)!) AND kind NOT LIKE 'memory_%' ORDER BY id
                """
            ).map { try $0.decode(0, as: String.self) }
        }
        #expect(try events(disturbed) == events(undisturbed))
        func lines(_ id: String) throws -> [String] {
            try conn.query(
                "SELECT coalesce(stage, '') || ':' || message FROM pipeline_logs WHERE experiment_id = \(UUID(uuidString: id)!) ORDER BY id"
            ).map { try $0.decode(0, as: String.self) }
        }
        let disturbedLines = try lines(disturbed)
        let undisturbedLines = try lines(undisturbed)
        #expect(
            disturbedLines.count == undisturbedLines.count, "disturbed \(disturbedLines.count) lines, undisturbed \(undisturbedLines.count)"
        )
        #expect(disturbedLines.filter { $0 == ":experiment succeeded" }.count == 1)
    }
}
