import Foundation
import Logging
import Pipeline
import PostgresClient
import Store
import TestSupport
import Testing

@testable import Service

/// Writes through every runner-side store path on each tick (an event, a log
/// line, the signals, the report, an artifact row), ~50 ms apart.
struct StoreWritingStage: Stage {
    let name: String
    var ticks = 60

    static func signal(_ j: Int) -> SignalRecord {
        let x = Double(j)
        let entry: Double = 1.1 + x / 3
        let stop: Double = 1.0 + x / 7
        let target: Double = 1.3 + x / 11
        let components: [Double] = [0.1, 0.2, 1.0 / 3, -0.0, .nan, 0.7]
        return SignalRecord(
            symbol: "A", timeframe: "1h", timestampMicros: Int64(j) * 3_600_000_000, direction: j % 2 == 0 ? "long" : "short",
            entry: entry, stop: stop, target: target, horizonBars: 12, quality: x / 97, accepted: j % 3 == 0,
            components: components, sources: ["ar"])
    }

    static func signals(upTo i: Int) -> [SignalRecord] { (0...i).map(signal) }

    func run(_ context: StageContext) throws {
        let results = context.environment as? any ResultStore
        for i in 0..<ticks {
            try context.checkpoint()
            try context.event("tick", ["i": "\(i)"])
            context.logger.info("line \(i)", metadata: ["i": "\(i)"])
            try results?.replaceSignals(Self.signals(upTo: i), experiment: context.experimentID)
            try results?.recordReport("{\"i\":\(i)}", experiment: context.experimentID)
            let file = context.directory.appendingPathComponent("out.txt")
            try Data("\(i)\n".utf8).write(to: file)
            try context.environment?.recordArtifact(
                ArtifactInfo(name: "out.txt", format: "txt", path: file.path, sizeBytes: Int64("\(i)\n".utf8.count), rows: Int64(i)),
                experiment: context.experimentID)
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}

/// Leases, fencing and outages (issue 11, items 5, 6 and 8).
@Suite(.serialized) struct LeaseTests {
    static func connect(_ url: String) throws -> PostgresConnection {
        try PostgresConnection.connect(try PostgresConfiguration(url: url), logger: Logger(label: "test"))
    }

    /// The repository refuses every write of a runner whose claim was
    /// superseded; recovery records `interrupted` (from the real previous
    /// state) before `requeued`; an event retried with its key is stored once.
    @Test func staleGenerationWritesAreRefused() throws {
        let url = try TestApp.freshDatabase()
        // Migrates the fresh database.
        _ = try TestApp(databaseURL: url)
        let pool = PostgresPool(
            configuration: try PostgresConfiguration(url: url), minConnections: 1, maxConnections: 4, logger: Logger(label: "test"))
        defer { pool.close() }
        let repo = PostgresExperimentRepository(pool: pool)
        let store = ExperimentStore(pool: pool)
        let id = UUID()
        _ = try store.create(id: id, name: "fence", priority: "medium", request: #"{"stages":["load"]}"#)

        let first = try #require(try repo.claimNext(owner: "a", leaseSeconds: 30))
        let a = Fence(owner: "a", generation: first.generation)
        try repo.stageStarted(id, stage: "load", fence: a, key: "k1")
        _ = try repo.transition(id, from: [.running], to: .pausing, event: "pause_requested", error: nil, details: [:])
        // a's lease expires (its server stopped renewing) and another instance recovers it.
        let conn = try Self.connect(url)
        defer { conn.close() }
        try conn.execute("UPDATE experiments SET lease_expires_at = now() - INTERVAL '1 second' WHERE id = \(id)")
        #expect(try repo.recoverExpiredLeases() == [id])
        let recovery = try conn.query(
            "SELECT kind, from_status, to_status FROM pipeline_events WHERE experiment_id = \(id) AND kind IN ('interrupted', 'requeued') ORDER BY id"
        ).map { [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self)] }
        #expect(recovery == [["interrupted", "pausing", "interrupted"], ["requeued", "interrupted", "queued"]])

        let second = try #require(try repo.claimNext(owner: "b", leaseSeconds: 30))
        let b = Fence(owner: "b", generation: second.generation)
        #expect(b.generation > a.generation)

        // Every write of the stale runner is refused, and nothing of it lands.
        let before = try conn.query("SELECT count(*) FROM pipeline_events WHERE experiment_id = \(id)").first!.decode(0, as: Int64.self)
        #expect(throws: StaleGeneration.self) { try repo.stageStarted(id, stage: "load", fence: a, key: "k2") }
        #expect(throws: StaleGeneration.self) {
            try repo.stageCompleted(id, stage: "load", durationMs: 1, percent: 100, fence: a, key: "k3")
        }
        #expect(throws: StaleGeneration.self) { try repo.recordEvent(id, kind: "x", stage: "load", details: [:], fence: a, key: "k4") }
        #expect(throws: StaleGeneration.self) {
            try repo.transition(id, from: [.running], to: .succeeded, event: "succeeded", error: nil, details: [:], fence: a)
        }
        #expect(throws: StaleGeneration.self) { try repo.abandon(id, reason: "x", fence: a, details: [:]) }
        #expect(throws: StaleGeneration.self) {
            try SignalStore(pool: pool).replace(
                StoreWritingStage.signals(upTo: 2).map(ServiceStageEnvironment.stored), experiment: id, generation: a.generation)
        }
        #expect(throws: StaleGeneration.self) { try SignalStore(pool: pool).putReport("{}", experiment: id, generation: a.generation) }
        #expect(throws: StaleGeneration.self) {
            try ArtifactStore(pool: pool).record(
                experiment: id, name: "x", format: "txt", path: "/x", sizeBytes: 1, sha256: nil, rows: nil, generation: a.generation)
        }
        #expect(try repo.renewLeases(owner: "a", generations: [id: a.generation], leaseSeconds: 30).isEmpty)
        #expect(repo.isFenced(StaleGeneration(experimentID: id, generation: 1)))
        let after = try conn.query("SELECT count(*) FROM pipeline_events WHERE experiment_id = \(id)").first!.decode(0, as: Int64.self)
        #expect(after == before)
        #expect(try SignalStore(pool: pool).all(experiment: id).isEmpty)

        // The current runner's writes go through; a write retried with its key is stored once.
        #expect(try repo.renewLeases(owner: "b", generations: [id: b.generation], leaseSeconds: 30) == [id])
        try repo.recordEvent(id, kind: "once", stage: "load", details: [:], fence: b, key: "same")
        try repo.recordEvent(id, kind: "once", stage: "load", details: [:], fence: b, key: "same")
        #expect(
            try conn.query("SELECT count(*) FROM pipeline_events WHERE experiment_id = \(id) AND kind = 'once'").first!.decode(
                0, as: Int64.self) == 1)
        #expect(try repo.transition(id, from: [.running], to: .succeeded, event: "succeeded", error: nil, details: [:], fence: b) == .moved)
    }

    /// PostgreSQL stopped for ~5 s while a stage writes events, log lines,
    /// signals, the report and artifact rows: the experiment succeeds and
    /// every row is there once, equal to what an undisturbed run stores.
    @Test func aFiveSecondOutageMidStageIsWaitedOut() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let t = try TestApp(databaseURL: pg.url, stages: StageRegistry([StoreWritingStage(name: "load")]))
        let id = try t.create(body("outage", stages: ["load"]))
        let uuid = try #require(UUID(uuidString: id))
        // Well into the stage: some ticks stored.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let events = try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
            if events.filter({ $0["kind"] as? String == "tick" }).count >= 8 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
        try pg.stop()
        Thread.sleep(forTimeInterval: 5)
        #expect(try t.request("GET", "/readyz").status == 503)
        try pg.start()
        let done = try t.waitFor(id, timeout: 60) { ["succeeded", "failed", "interrupted"].contains($0["status"] as? String) }
        #expect(done["status"] as? String == "succeeded", "\(done)")

        let conn = try PostgresConnection.connect(pg.configuration, logger: Logger(label: "test"))
        defer { conn.close() }
        let ticks = try conn.query(
            "SELECT (details->>'i')::int FROM pipeline_events WHERE experiment_id = \(uuid) AND kind = 'tick' ORDER BY id"
        ).map { try $0.decode(0, as: Int.self) }
        #expect(ticks == Array(0..<60), "every event once, in order")
        let lines = try conn.query(
            "SELECT (fields->>'i')::int FROM pipeline_logs WHERE experiment_id = \(uuid) AND message LIKE 'line %' ORDER BY id"
        ).map { try $0.decode(0, as: Int.self) }
        #expect(lines == Array(0..<60), "every log line once, in order")
        let stored = try SignalStore(pool: t.app.pool).all(experiment: uuid).map(ServiceStageEnvironment.record)
        let expected = StoreWritingStage.signals(upTo: 59)
        #expect(stored.count == expected.count)
        #expect(
            zip(stored, expected).allSatisfy { s, e in
                s.timestampMicros == e.timestampMicros && s.entry.bitPattern == e.entry.bitPattern
                    && s.quality.bitPattern == e.quality.bitPattern
                    && zip(s.components, e.components).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
            })
        #expect(try SignalStore(pool: t.app.pool).report(experiment: uuid)?.replacingOccurrences(of: " ", with: "") == #"{"i":59}"#)
        #expect(try ArtifactStore(pool: t.app.pool).list(experiment: uuid)?.map(\.rowCount) == [59])
        let kinds = try conn.query("SELECT kind FROM pipeline_events WHERE experiment_id = \(uuid) ORDER BY id").map {
            try $0.decode(0, as: String.self)
        }
        #expect(!kinds.contains("failed") && !kinds.contains("interrupted"), "\(kinds)")
        #expect(kinds.filter { $0 == "stage_started" }.count == 1)
    }

    /// An outage longer than `outage_wait_s`: the run is interrupted (not
    /// failed) and requeued once PostgreSQL is back, resumes after its last
    /// completed stage and succeeds.
    @Test func anOutageBeyondTheBoundInterruptsThenResumes() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let dataDir = NSTemporaryDirectory() + "sf-outage-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let server = try ServerProcess(
            databaseURL: pg.url, dataDir: dataDir, port: ServerProcess.freePort(), units: 150, environment: ["SF_TEST_OUTAGE_WAIT_S": "3"])
        let created = try server.request("POST", "/v1/experiments", body: body("bound", stages: ["load", "resample", "merge"]))
        let id = try #require(created.json["id"] as? String)
        // Into the second stage.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let logs =
                try server.request("GET", "/v1/experiments/\(id)/logs?stage=resample&limit=5000").json["items"] as? [[String: Any]] ?? []
            if logs.contains(where: { $0["message"] as? String == "line 20" }) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try pg.stop()
        Thread.sleep(forTimeInterval: 8)
        try pg.start()
        var status = ""
        let end = Date().addingTimeInterval(60)
        while Date() < end {
            status = (try? server.request("GET", "/v1/experiments/\(id)").json["status"] as? String) ?? ""
            if status == "succeeded" || status == "failed" { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(status == "succeeded")
        let events = try server.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        let kinds = events.compactMap { $0["kind"] as? String }
        #expect(!kinds.contains("failed"))
        let interrupted = try #require(kinds.firstIndex(of: "interrupted"), "\(kinds)")
        #expect(kinds[interrupted + 1] == "requeued")
        #expect(events[interrupted]["from_status"] as? String == "running")
        #expect(kinds.filter { $0 == "started" }.count == 2)
        #expect(events.contains { $0["kind"] as? String == "stage_skipped" && $0["stage"] as? String == "load" })
        let runs = try String(contentsOfFile: dataDir + "/runs.log", encoding: .utf8).split(separator: "\n")
        #expect(runs.filter { $0 == "load started" }.count == 1, "\(runs)")
        #expect(runs.filter { $0 == "merge started" }.count == 1, "\(runs)")
    }

    /// Two instances on one database; PostgreSQL stopped for longer than the
    /// lease mid-run. Whoever renews first keeps (or takes) the experiment:
    /// one runner at a time (claims and requeues alternate, each claim with a
    /// new generation), one "experiment succeeded", and nothing written
    /// after the end.
    @Test func twoInstancesOutageLongerThanTheLeaseOneRunnerAtATime() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let dataDir = NSTemporaryDirectory() + "sf-two-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let one = try ServerProcess(databaseURL: pg.url, dataDir: dataDir, port: ServerProcess.freePort(), units: 150)
        let two = try ServerProcess(databaseURL: pg.url, dataDir: dataDir, port: ServerProcess.freePort(), units: 150)
        let created = try one.request("POST", "/v1/experiments", body: body("two", stages: ["load", "resample", "merge"]))
        let id = try #require(created.json["id"] as? String)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let logs =
                try one.request("GET", "/v1/experiments/\(id)/logs?stage=resample&limit=5000").json["items"] as? [[String: Any]] ?? []
            if logs.contains(where: { $0["message"] as? String == "line 20" }) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        try pg.stop()
        Thread.sleep(forTimeInterval: 6)  // three lease lengths
        try pg.start()
        var status = ""
        let end = Date().addingTimeInterval(60)
        while Date() < end {
            status = (try? two.request("GET", "/v1/experiments/\(id)").json["status"] as? String) ?? ""
            if status == "succeeded" || status == "failed" { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(status == "succeeded")
        // Stale runners would write after the end: give them time to try.
        Thread.sleep(forTimeInterval: 3)
        let conn = try LeaseTests.connect(pg.url)
        defer { conn.close() }
        let uuid = try #require(UUID(uuidString: id))
        let events = try conn.query(
            "SELECT kind, coalesce(details->>'generation', ''), coalesce(to_status, '') FROM pipeline_events WHERE experiment_id = \(uuid) ORDER BY id"
        ).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self)) }
        let lifecycle = events.filter { ["started", "requeued", "succeeded", "failed"].contains($0.0) }.map(\.0)
        // started (requeued started)* succeeded: never two claims without a requeue between them.
        #expect(lifecycle.first == "started" && lifecycle.last == "succeeded", "\(lifecycle)")
        for (x, y) in zip(lifecycle, lifecycle.dropFirst()) where x == "started" {
            #expect(y != "started", "two claims overlap: \(lifecycle)")
        }
        let generations = events.filter { $0.0 == "started" }.compactMap { Int64($0.1) }
        #expect(generations == generations.sorted() && Set(generations).count == generations.count, "\(generations)")
        #expect(events.filter { $0.0 == "succeeded" }.count == 1)
        #expect(events.last?.0 == "succeeded", "an event after the end: \(events.suffix(3))")
        let succeededLines = try conn.query(
            "SELECT count(*) FROM pipeline_logs WHERE experiment_id = \(uuid) AND message = 'experiment succeeded'"
        ).first!.decode(0, as: Int64.self)
        #expect(succeededLines == 1)
        // Each stage completed once.
        #expect(events.filter { $0.0 == "stage_completed" }.count == 3)
        let lastLogAt = try conn.query(
            "SELECT max(ts) > (SELECT max(ts) FROM pipeline_events WHERE experiment_id = \(uuid)) FROM pipeline_logs WHERE experiment_id = \(uuid)"
        ).first!.decode(0, as: Bool?.self)
        #expect(lastLogAt == false, "log lines stored after the end")
    }

    /// The owner stalls (SIGSTOP) for longer than the lease: the other
    /// instance recovers the experiment (a new generation) and finishes it.
    /// When the stale owner wakes, its writes are refused and it stops: one
    /// "experiment succeeded", each stage completed once, nothing after the end.
    @Test func aStalledOwnerIsFencedOutWhenItWakes() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let dataDir = NSTemporaryDirectory() + "sf-stall-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let servers = [
            try ServerProcess(databaseURL: pg.url, dataDir: dataDir, port: ServerProcess.freePort(), units: 150),
            try ServerProcess(databaseURL: pg.url, dataDir: dataDir, port: ServerProcess.freePort(), units: 150),
        ]
        let created = try servers[0].request("POST", "/v1/experiments", body: body("stall", stages: ["load", "resample", "merge"]))
        let id = try #require(created.json["id"] as? String)
        let uuid = try #require(UUID(uuidString: id))
        let conn = try LeaseTests.connect(pg.url)
        defer { conn.close() }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let logs =
                try servers[0].request("GET", "/v1/experiments/\(id)/logs?stage=resample&limit=5000").json["items"] as? [[String: Any]]
                ?? []
            if logs.contains(where: { $0["message"] as? String == "line 20" }) { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let owner = try #require(
            try conn.query("SELECT details->>'owner' FROM pipeline_events WHERE experiment_id = \(uuid) AND kind = 'started'").first?
                .decode(0, as: String.self))
        let ownerPID = try #require(Int32(owner.split(separator: ":")[1]))
        let stalled = try #require(servers.first { $0.process.processIdentifier == ownerPID })
        let other = try #require(servers.first { $0.process.processIdentifier != ownerPID })
        kill(ownerPID, SIGSTOP)
        // The other instance takes it over once the 2 s lease expired.
        let takeover = Date().addingTimeInterval(20)
        while Date() < takeover {
            let claims = try conn.query("SELECT count(*) FROM pipeline_events WHERE experiment_id = \(uuid) AND kind = 'started'").first!
                .decode(0, as: Int64.self)
            if claims == 2 { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        Thread.sleep(forTimeInterval: 0.5)
        kill(ownerPID, SIGCONT)
        var status = ""
        let end = Date().addingTimeInterval(60)
        while Date() < end {
            status = (try? other.request("GET", "/v1/experiments/\(id)").json["status"] as? String) ?? ""
            if status == "succeeded" || status == "failed" { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(status == "succeeded")
        Thread.sleep(forTimeInterval: 3)
        _ = stalled
        let events = try conn.query(
            """
            SELECT kind, coalesce(details->>'owner', ''), coalesce(details->>'generation', ''), coalesce(from_status, ''), coalesce(stage, '')
            FROM pipeline_events WHERE experiment_id = \(uuid) ORDER BY id
            """
        ).map { row in try (0..<5).map { i in try row.decode(i, as: String.self) } }
        let lifecycle = events.filter { ["started", "interrupted", "requeued", "succeeded", "failed"].contains($0[0]) }
        #expect(lifecycle.map { $0[0] } == ["started", "interrupted", "requeued", "started", "succeeded"], "\(lifecycle)")
        #expect(lifecycle.first?[1] == owner && lifecycle.count > 3 && lifecycle[3][1] != owner)
        #expect(lifecycle.count > 3 && Int(lifecycle[3][2]) ?? 0 > Int(lifecycle[0][2]) ?? 0, "the takeover has a newer generation")
        #expect(lifecycle.count > 1 && lifecycle[1][3] == "running")
        for stage in ["load", "resample", "merge"] {
            #expect(events.filter { $0[0] == "stage_completed" && $0[4] == stage }.count == 1, "\(stage): \(events)")
        }
        #expect(events.last?[0] == "succeeded", "an event after the end: \(events.suffix(3))")
        let succeededLines = try conn.query(
            "SELECT count(*) FROM pipeline_logs WHERE experiment_id = \(uuid) AND message = 'experiment succeeded'"
        ).first!.decode(0, as: Int64.self)
        #expect(succeededLines == 1)
        #expect(try conn.query("SELECT status FROM experiments WHERE id = \(uuid)").first?.decode(0, as: String.self) == "succeeded")
    }

    /// Progress written by several threads at once (the sampler's and a
    /// runner's at its end) no longer races into `23505 unique_violation`:
    /// every write succeeds and the stored tree is whole.
    @Test func concurrentProgressWritesDoNotCollide() throws {
        // Long enough (~40 s, cancelled at the end) to still be running when a loaded machine looks.
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 20000, chunkSeconds: 0.002)]))
        let id = try t.create(body("progress", stages: ["load"]))
        let uuid = try #require(UUID(uuidString: id))
        try t.waitFor(id) { $0["status"] as? String == "running" }
        let tree = try #require(t.app.engine.progress(of: uuid))
        let threads = 4
        let done = DispatchSemaphore(value: 0)
        let sampler = t.app.sampler
        for _ in 0..<threads {
            Thread {
                for _ in 0..<25 {
                    sampler.writeProgress(uuid, tree)
                }
                done.signal()
            }.start()
        }
        for _ in 0..<threads { done.wait() }
        let failures = t.logs.all.filter { $0.message.contains("progress write failed") }
        #expect(failures.isEmpty, "\(failures.map(\.metadata))")
        let rows = try ExperimentStore(pool: t.app.pool).progress(uuid)
        #expect(rows.first?.path == "pipeline")
        #expect(Set(rows.map(\.path)).count == rows.count)
        #expect(rows.contains { $0.path == "pipeline/load" })
        _ = try t.request("POST", "/v1/experiments/\(id)/cancel")
    }
}
