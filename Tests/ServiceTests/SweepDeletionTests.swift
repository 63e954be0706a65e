import Foundation
import Logging
import Pipeline
import PostgresClient
import Service
import Stages
import Store
import Synchronization
import TestSupport
import Testing

/// Issue 15 for sweeps: `DELETE /v1/sweeps/{id}` with every child, crash-safe;
/// a child's `sweep_id` and `point`; and `max_parallel` across two server processes.
struct SweepDeletionTests {
    static func childIDs(_ t: TestApp, _ sweep: String) throws -> [String] {
        try SweepTests.children(t, sweep).compactMap { $0["experiment_id"] as? String }
    }

    /// Polls `url`'s database until `done` holds for the sweep's children's states.
    static func waitForChildren(_ conn: PostgresConnection, _ sweep: UUID, timeout: Double, _ done: ([String]) -> Bool) throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String] = []
        while Date() < deadline {
            last = try conn.query("SELECT status FROM experiments WHERE sweep_id = \(sweep) ORDER BY id").map {
                try $0.decode(0, as: String.self)
            }
            if done(last) { return last }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return last
    }

    /// A finished sweep of two real children (every stage, CSV and Parquet,
    /// one child pinned) beside a standalone experiment: its children carry
    /// `sweep_id` and `point`; after DELETE no row in any table and no file
    /// under the data dir mentions the sweep or any child, and the standalone
    /// experiment keeps all of its own. A second DELETE is a 404.
    @Test func deleteAFinishedSweepLeavesNoRowAndNoFileThatMentionsItOrAChild() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        try StageTests.sample(t, days: 10)
        let base = StageTests.body(
            stages: ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"],
            timeframes: ["1h"],
            config: #"{"export":{"formats":["csv","parquet"]},"forecast":{"horizon_bars":4}}"#)
        let r = try t.request(
            "POST", "/v1/sweeps", headers: ["Idempotency-Key": "sweep-delete"],
            body: SweepTests.sweepBody(base: base, parameters: #"{"config.fusion.quality_threshold":[0.5,0.6]}"#))
        #expect(r.status == 201, "\(r.text)")
        let sweep = try #require(r.json["id"] as? String)
        let kept = try t.create(base)
        let children = try Self.childIDs(t, sweep)
        #expect(children.count == 2)
        let states = try SweepTests.waitForChildren(t, sweep, timeout: 240) { $0.count == 2 && $0.allSatisfy(SweepRoutesState.ended) }
        #expect(states == ["succeeded", "succeeded"], "\(states)")
        #expect(
            try t.waitFor(kept, timeout: 120) { SweepRoutesState.ended($0["status"] as? String ?? "") }["status"] as? String == "succeeded")

        // A child says which sweep and point it is; a standalone experiment does not.
        for child in children {
            let e = try t.request("GET", "/v1/experiments/\(child)").json
            #expect(e["sweep_id"] as? String == sweep)
            let q = (e["point"] as? [String: Any])?["config.fusion.quality_threshold"] as? Double
            #expect(q == 0.5 || q == 0.6, "\(e["point"] ?? "none")")
        }
        let listed = try t.request("GET", "/v1/experiments?limit=10").json["items"] as? [[String: Any]] ?? []
        #expect(listed.filter { $0["sweep_id"] as? String == sweep }.count == 2)
        let standalone = try t.request("GET", "/v1/experiments/\(kept)").json
        #expect(standalone["sweep_id"] == nil && standalone["point"] == nil)

        // A pin spares from retention only: the sweep's delete takes a pinned child too.
        #expect(try t.request("POST", "/v1/experiments/\(children[0])/pin").status == 200)
        let dataDir = t.app.settings.dataDir
        for id in [sweep] + children {
            let before = try HistoryTests.mentions(t.databaseURL, dataDir: dataDir, of: id)
            #expect(!before.rows.isEmpty, "no row mentions \(id) before the delete")
        }
        for child in children {
            let before = try HistoryTests.mentions(t.databaseURL, dataDir: dataDir, of: child)
            for table in ["experiments", "pipeline_events", "pipeline_logs", "signals", "artifacts", "reports"] {
                #expect((before.rows[table] ?? 0) > 0, "\(table) has no row of \(child) before the delete")
            }
            #expect(!before.files.isEmpty)
        }

        let deleted = try t.request("DELETE", "/v1/sweeps/\(sweep)")
        #expect(deleted.status == 204, "\(deleted.text)")
        for id in [sweep] + children {
            let after = try HistoryTests.mentions(t.databaseURL, dataDir: dataDir, of: id)
            #expect(after.rows.isEmpty, "rows still mention \(id): \(after.rows)")
            #expect(after.files.isEmpty, "files still mention \(id): \(after.files)")
        }
        #expect(try t.request("GET", "/v1/sweeps/\(sweep)").status == 404)
        for child in children { #expect(try t.request("GET", "/v1/experiments/\(child)").status == 404) }
        let again = try t.request("DELETE", "/v1/sweeps/\(sweep)")
        #expect(again.status == 404)
        #expect(again.header("Content-Type") == "application/problem+json")
        // The standalone experiment is whole.
        let other = try HistoryTests.mentions(t.databaseURL, dataDir: dataDir, of: kept)
        for table in ["experiments", "pipeline_events", "pipeline_logs", "signals", "artifacts", "reports"] {
            #expect((other.rows[table] ?? 0) > 0, "\(table) lost the rows of the kept experiment")
        }
        let metrics = try t.request("GET", "/metrics").text
        #expect(metrics.contains("signalforge_experiments_deleted_total{reason=\"sweep\"} 2"))
    }

    /// Children queued and running: 409 naming each of them; `cancel=maybe`
    /// a 400; with `cancel=true` the sweep and its children are cancelled and
    /// deleted once their runners stopped.
    @Test func deletingASweepWithRunningChildrenNeedsCancel() throws {
        let t = try SweepTests.controlApp()
        let r = try t.request(
            "POST", "/v1/sweeps", body: SweepTests.sweepBody(base: body("sweep", stages: ["load"]), extra: #","max_parallel":2"#))
        #expect(r.status == 201, "\(r.text)")
        let sweep = try #require(r.json["id"] as? String)
        let children = try Self.childIDs(t, sweep)
        let running = try SweepTests.waitForChildren(t, sweep, timeout: 20) { $0.filter { $0 == "running" }.count == 2 }
        #expect(running.filter { $0 == "running" }.count == 2, "\(running)")

        let refused = try t.request("DELETE", "/v1/sweeps/\(sweep)")
        #expect(refused.status == 409, "\(refused.text)")
        #expect(refused.header("Content-Type") == "application/problem+json")
        let detail = refused.json["detail"] as? String ?? ""
        let named = (refused.json["active_children"] as? String ?? "").split(separator: ",").map(String.init)
        #expect(named.count == 6, "\(refused.text)")
        for child in children {
            #expect(detail.contains(child), "\(detail)")
            #expect(named.contains { $0.hasPrefix(child + "=") }, "\(named)")
        }
        #expect(named.filter { $0.hasSuffix("=running") }.count == 2, "\(named)")
        #expect(named.filter { $0.hasSuffix("=queued") }.count == 4, "\(named)")
        #expect(try t.request("DELETE", "/v1/sweeps/\(sweep)?cancel=maybe").status == 400)
        #expect(try t.request("GET", "/v1/sweeps/\(sweep)").json["state"] as? String == "running")

        let deleted = try t.request("DELETE", "/v1/sweeps/\(sweep)?cancel=true")
        #expect(deleted.status == 204, "\(deleted.text)")
        #expect(try t.request("GET", "/v1/sweeps/\(sweep)").status == 404)
        let runners = Set(t.app.engine.runningIDs.map { $0.uuidString.lowercased() })
        for child in children {
            #expect(try t.request("GET", "/v1/experiments/\(child)").status == 404)
            #expect(!runners.contains(child))
        }
        for id in [sweep] + children {
            let after = try HistoryTests.mentions(t.databaseURL, dataDir: t.app.settings.dataDir, of: id)
            #expect(after.rows.isEmpty, "rows still mention \(id): \(after.rows)")
            #expect(after.files.isEmpty, "files still mention \(id): \(after.files)")
        }
        #expect(try t.request("DELETE", "/v1/sweeps/\(sweep)?cancel=true").status == 404)
    }

    /// Deleting a sweep's last child (as `DELETE /v1/experiments/{id}` or
    /// retention would) takes the sweep row with it; the first child's does not.
    @Test func aSweepGoesWithItsLastChild() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 1)]))
        let r = try t.request(
            "POST", "/v1/sweeps",
            body: SweepTests.sweepBody(base: body("last", stages: ["load"]), parameters: #"{"config.fusion.quality_threshold":[0.5,0.6]}"#))
        let sweep = try #require(r.json["id"] as? String)
        let children = try Self.childIDs(t, sweep)
        try SweepTests.waitForChildren(t, sweep, timeout: 20) { $0.count == 2 && $0.allSatisfy(SweepRoutesState.ended) }
        #expect(try t.request("DELETE", "/v1/experiments/\(children[0])").status == 204)
        let shown = try t.request("GET", "/v1/sweeps/\(sweep)")
        #expect(shown.status == 200)
        #expect((shown.json["counts"] as? [String: Any])?["succeeded"] as? Int == 1)
        let gone = try Retention.collect(
            pool: t.app.pool, dataDirectory: URL(fileURLWithPath: t.app.settings.dataDir), policy: .init(maxAgeDays: 0), dryRun: false)
        #expect(gone.map { $0.experiment.id.uuidString.lowercased() } == [children[1]])
        #expect(try t.request("GET", "/v1/sweeps/\(sweep)").status == 404)
        #expect(try HistoryTests.mentions(t.databaseURL, dataDir: t.app.settings.dataDir, of: sweep).rows.isEmpty)
    }

    /// Two DELETEs of one sweep at once: each answers 204 or 404 (at least
    /// one 204), and afterwards nothing of the sweep is left, no mark either.
    @Test func twoDeletesRacingAreHarmless() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 1)]))
        let r = try t.request(
            "POST", "/v1/sweeps",
            body: SweepTests.sweepBody(
                base: body("race", stages: ["load"]), parameters: #"{"config.fusion.quality_threshold":[0.5,0.55,0.6,0.65,0.7]}"#))
        let sweep = try #require(r.json["id"] as? String)
        let children = try Self.childIDs(t, sweep)
        try SweepTests.waitForChildren(t, sweep, timeout: 30) { $0.count == 5 && $0.allSatisfy(SweepRoutesState.ended) }
        let port = t.port
        let answers = Mutex<[Int]>([])
        let threads = (0..<2).map { _ in
            Thread {
                let status = (try? httpRequest(port: port, "DELETE", "/v1/sweeps/\(sweep)").status) ?? -1
                answers.withLock { $0.append(status) }
            }
        }
        for thread in threads { thread.start() }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, answers.withLock({ $0.count }) < 2 { Thread.sleep(forTimeInterval: 0.01) }
        let got = answers.withLock { $0 }.sorted()
        #expect(got == [204, 204] || got == [204, 404], "\(got)")
        #expect(try t.request("GET", "/v1/sweeps/\(sweep)").status == 404)
        for id in [sweep] + children {
            let after = try HistoryTests.mentions(t.databaseURL, dataDir: t.app.settings.dataDir, of: id)
            #expect(after.rows.isEmpty, "rows still mention \(id): \(after.rows)")
        }
        let conn = try HistoryTests.connect(t.databaseURL)
        defer { conn.close() }
        #expect(try conn.query("SELECT 1 FROM experiment_deletions").isEmpty)
    }

    /// kill -9 of a server in the middle of a sweep's delete (the second
    /// child's rows held by a lock after every child was marked and the first
    /// one deleted): the next start finishes it, the sweep row last.
    @Test func aSweepDeleteCutShortByKillNineIsFinishedByTheNextStart() throws {
        let url = try TestApp.freshDatabase()
        let dataDir = NSTemporaryDirectory() + "sf-sweepdel-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        var server: ServerProcess? = try ServerProcess(databaseURL: url, dataDir: dataDir, port: ServerProcess.freePort(), units: 5)
        let created = try server!.request(
            "POST", "/v1/sweeps",
            body: SweepTests.sweepBody(
                base: #"{"datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#,
                parameters: #"{"config.fusion.quality_threshold":[0.5,0.6,0.7]}"#))
        let sweep = try #require(created.json["id"] as? String, "\(created.text)")
        let sweepID = try #require(UUID(uuidString: sweep))
        let watcher = try HistoryTests.connect(url)
        defer { watcher.close() }
        let states = try Self.waitForChildren(watcher, sweepID, timeout: 60) { $0.count == 3 && $0.allSatisfy(SweepRoutesState.ended) }
        #expect(states == ["succeeded", "succeeded", "succeeded"], "\(states)")
        // The deletion finishes the children in id order: hold the second one's rows.
        let children = try watcher.query("SELECT id FROM experiments WHERE sweep_id = \(sweepID) ORDER BY id").map {
            try $0.decode(0, as: UUID.self)
        }
        for child in children {
            #expect(FileManager.default.fileExists(atPath: dataDir + "/experiments/" + child.uuidString.lowercased()))
        }
        let holder = try HistoryTests.connect(url)
        defer { holder.close() }
        try holder.execute("BEGIN")
        _ = try holder.query("SELECT 1 FROM pipeline_events WHERE experiment_id = \(children[1]) LIMIT 1 FOR UPDATE")
        let port = server!.port
        let request = Thread { _ = try? httpRequest(port: port, "DELETE", "/v1/sweeps/\(sweep)") }
        request.start()
        func marks() throws -> Int {
            try watcher.query("SELECT count(*) FROM experiment_deletions WHERE reason = 'sweep'").first?.decode(0, as: Int.self) ?? 0
        }
        func rows() throws -> Int {
            try watcher.query("SELECT count(*) FROM experiments WHERE sweep_id = \(sweepID)").first?.decode(0, as: Int.self) ?? 0
        }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, try rows() != 2 || marks() != 2 { Thread.sleep(forTimeInterval: 0.02) }
        // Marked, the first child deleted, the second waiting on the lock.
        #expect(try rows() == 2)
        #expect(try marks() == 2)
        server!.kill9()
        server = nil
        try holder.execute("ROLLBACK")
        #expect(try marks() == 2)
        #expect(try watcher.query("SELECT 1 FROM sweeps WHERE id = \(sweepID)").first != nil)
        #expect(FileManager.default.fileExists(atPath: dataDir + "/experiments/" + children[2].uuidString.lowercased()))

        server = try ServerProcess(databaseURL: url, dataDir: dataDir, port: ServerProcess.freePort(), units: 5)
        #expect(try server!.request("GET", "/v1/sweeps/\(sweep)").status == 404)
        #expect(try marks() == 0)
        for id in [sweepID] + children {
            let after = try HistoryTests.mentions(url, dataDir: dataDir, of: id.uuidString.lowercased())
            #expect(after.rows.isEmpty, "rows still mention \(id): \(after.rows)")
            #expect(after.files.isEmpty, "files still mention \(id): \(after.files)")
        }
        #expect(try server!.request("DELETE", "/v1/sweeps/\(sweep)").status == 404)
    }

    /// Two server processes on one database claim from one sweep (six
    /// children, `max_parallel` 2): sampled from the database while they run,
    /// and replayed from the children's events in order, never more than two
    /// children run at once.
    @Test func maxParallelHoldsAcrossTwoServerProcesses() throws {
        let url = try TestApp.freshDatabase()
        let dataDir = NSTemporaryDirectory() + "sf-sweep2-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let a = try ServerProcess(databaseURL: url, dataDir: dataDir, port: ServerProcess.freePort(), units: 40)
        let b = try ServerProcess(databaseURL: url, dataDir: dataDir, port: ServerProcess.freePort(), units: 40)
        let created = try a.request(
            "POST", "/v1/sweeps",
            body: SweepTests.sweepBody(
                base: #"{"datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#,
                parameters: #"{"config.fusion.quality_threshold":[0.5,0.55,0.6,0.65,0.7,0.75]}"#, extra: #","max_parallel":2"#))
        let sweep = try #require(created.json["id"] as? String, "\(created.text)")
        let sweepID = try #require(UUID(uuidString: sweep))
        #expect(try b.request("GET", "/v1/sweeps/\(sweep)").json["max_parallel"] as? Int == 2)
        let conn = try HistoryTests.connect(url)
        defer { conn.close() }
        var most = 0
        var samples = 0
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            let states = try conn.query("SELECT status FROM experiments WHERE sweep_id = \(sweepID)").map {
                try $0.decode(0, as: String.self)
            }
            most = max(most, states.filter { $0 == "running" || $0 == "pausing" }.count)
            samples += 1
            if states.count == 6, states.allSatisfy(SweepRoutesState.ended) { break }
            Thread.sleep(forTimeInterval: 0.005)
        }
        let final = try conn.query("SELECT status FROM experiments WHERE sweep_id = \(sweepID)").map { try $0.decode(0, as: String.self) }
        #expect(final == Array(repeating: "succeeded", count: 6), "\(final)")
        #expect(most <= 2, "\(most) children of the sweep ran at once (\(samples) samples)")
        #expect(most == 2, "the sweep never ran two children at once (\(samples) samples)")
        // The whole history: the children's state moves in event order.
        var status: [UUID: String] = [:]
        var replayed = 0
        var owners = Set<String>()
        for row in try conn.query(
            """
            SELECT e.experiment_id, e.to_status, coalesce(e.details->>'owner', '') FROM pipeline_events e
            JOIN experiments x ON x.id = e.experiment_id
            WHERE x.sweep_id = \(sweepID) AND e.to_status IS NOT NULL ORDER BY e.id
            """)
        {
            let (child, to, owner) = (
                try row.decode(0, as: UUID.self), try row.decode(1, as: String.self), try row.decode(2, as: String.self)
            )
            status[child] = to
            if to == "running", !owner.isEmpty { owners.insert(owner) }
            replayed = max(replayed, status.values.filter { $0 == "running" || $0 == "pausing" }.count)
        }
        #expect(replayed == 2, "the events show \(replayed) children running at once")
        #expect(!owners.isEmpty, "no claim event names its owner")
    }

    /// The claim is atomic across instances, made deterministic: another
    /// instance's claim in flight (a transaction holding the sweep row and
    /// moving a queued child to running, as the claim does) while one of two
    /// running children ends. The server's own claim waits for it, then counts
    /// afresh: the sweep keeps two children running, not three (a count under
    /// a shared lock on the sweep admitted a third).
    @Test func aClaimWaitsForAnotherInstancesClaimOfTheSameSweep() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 100_000, chunkSeconds: 0.001)])) {
            $0.maxRunning = 4
        }
        let r = try t.request(
            "POST", "/v1/sweeps",
            body: SweepTests.sweepBody(
                base: body("race", stages: ["load"]), parameters: #"{"config.fusion.quality_threshold":[0.5,0.6,0.7,0.8]}"#,
                extra: #","max_parallel":2"#))
        let sweep = try #require(r.json["id"] as? String, "\(r.text)")
        let sweepID = try #require(UUID(uuidString: sweep))
        let conn = try HistoryTests.connect(t.databaseURL)
        defer { conn.close() }
        func statuses() throws -> [UUID: String] {
            var out: [UUID: String] = [:]
            for row in try conn.query("SELECT id, status FROM experiments WHERE sweep_id = \(sweepID)") {
                out[try row.decode(0, as: UUID.self)] = try row.decode(1, as: String.self)
            }
            return out
        }
        let two = try Self.waitForChildren(conn, sweepID, timeout: 20) { $0.filter { $0 == "running" }.count == 2 }
        #expect(two.filter { $0 == "running" }.count == 2, "\(two)")

        // The other instance's claim, in flight: it holds the sweep row.
        let peer = try HistoryTests.connect(t.databaseURL)
        defer { peer.close() }
        let peerPID = try #require(try peer.query("SELECT pg_backend_pid()").first?.decode(0, as: Int.self))
        try peer.execute("BEGIN")
        _ = try peer.query("SELECT 1 FROM sweeps WHERE id = \(sweepID) FOR NO KEY UPDATE")
        // One running child ends: the server's claim now sees room for one more, and waits for the peer.
        let ending = try #require(try statuses().first { $0.value == "running" }?.key)
        #expect(try t.request("POST", "/v1/experiments/\(ending.uuidString.lowercased())/cancel").status == 202)
        // The server's transaction that waits for the peer: its backend and when that transaction began.
        func waitingOnPeer() throws -> (pid: Int, since: String)? {
            try conn.query(
                "SELECT pid, xact_start::text FROM pg_stat_activity WHERE \(peerPID) = ANY(pg_blocking_pids(pid))"
            ).first.map { (try $0.decode(0, as: Int.self), try $0.decode(1, as: String?.self) ?? "") }
        }
        var waiter = try waitingOnPeer()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, waiter == nil {
            Thread.sleep(forTimeInterval: 0.01)
            waiter = try waitingOnPeer()
        }
        let server = try #require(waiter, "the server's claim did not wait for the peer's")
        #expect(["cancelling", "cancelled"].contains(try statuses()[ending] ?? ""))
        // The peer claims the queued child the server has not picked (the server's candidate is locked), and commits.
        let taken = try #require(
            try peer.query(
                """
                SELECT id FROM experiments WHERE sweep_id = \(sweepID) AND status = 'queued' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED
                """
            ).first?.decode(0, as: UUID.self))
        try peer.execute(
            """
            UPDATE experiments SET status = 'running', lease_owner = 'peer', lease_expires_at = now() + INTERVAL '1 hour',
                started_at = now(), generation = generation + 1
            WHERE id = \(taken)
            """)
        try peer.execute("COMMIT")
        // The server's claim decides once the peer committed: that transaction ends.
        func decided() throws -> Bool {
            try conn.query("SELECT xact_start::text FROM pg_stat_activity WHERE pid = \(server.pid)").first?.decode(0, as: String?.self)
                != server.since
        }
        let decideBy = Date().addingTimeInterval(20)
        while Date() < decideBy, try !decided() { Thread.sleep(forTimeInterval: 0.01) }
        #expect(try decided())
        let after = try statuses()
        #expect(after.values.filter { $0 == "running" || $0 == "pausing" }.count == 2, "\(after)")
        #expect(after.values.filter { $0 == "queued" }.count == 1, "\(after)")

        // Clean up: the peer's child has no runner; it failed. Then the rest is cancelled and deleted.
        try conn.execute("UPDATE experiments SET status = 'failed', finished_at = now(), lease_owner = NULL WHERE id = \(taken)")
        #expect(try t.request("DELETE", "/v1/sweeps/\(sweep)?cancel=true").status == 204)
    }
}
