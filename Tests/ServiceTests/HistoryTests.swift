import Foundation
import Hashing
import Logging
import Pipeline
import PostgresClient
import Service
import Stages
import Store
import TestSupport
import Testing

/// Issue 15: `DELETE /v1/experiments/{id}`, pins, retention and `gc`.
struct HistoryTests {
    /// Where the experiment's id still appears: `table` → rows (any column,
    /// bytea included), and the files under `dataDir` whose path or bytes hold it.
    static func mentions(_ databaseURL: String, dataDir: String, of id: String) throws -> (rows: [String: Int], files: [String]) {
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: databaseURL), logger: Logger(label: "test"))
        defer { conn.close() }
        let tables = try conn.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename").map {
            try $0.decode(0, as: String.self)
        }
        var rows: [String: Int] = [:]
        for table in tables {
            let bytea = try conn.query(
                """
                SELECT column_name FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name = \(table) AND data_type = 'bytea'
                """
            ).map { try $0.decode(0, as: String.self) }
            var predicate = "x::text ILIKE '%' || $1 || '%'"
            for c in bytea { predicate += " OR position(convert_to($1, 'UTF8') IN x.\"\(c)\") > 0" }
            let n =
                try conn.query(
                    "SELECT count(*) FROM \(unsafeSQL: "\"\(table)\"") x WHERE \(unsafeSQL: predicate.replacingOccurrences(of: "$1", with: "'\(id)'"))"
                ).first?.decode(0, as: Int.self) ?? 0
            if n > 0 { rows[table] = n }
        }
        var files: [String] = []
        let needle = Data(id.utf8)
        if let walker = FileManager.default.enumerator(atPath: dataDir) {
            for case let path as String in walker {
                let full = dataDir + "/" + path
                if path.lowercased().contains(id) {
                    files.append(path)
                    continue
                }
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
                    let data = FileManager.default.contents(atPath: full)
                else { continue }
                if data.range(of: needle) != nil { files.append(path) }
            }
        }
        return (rows, files)
    }

    static func connect(_ url: String) throws -> PostgresConnection {
        try PostgresConnection.connect(try PostgresConfiguration(url: url), logger: Logger(label: "test"))
    }

    /// Every stage, a webhook, an idempotency key: then DELETE leaves no row
    /// in any table and no file that mentions the experiment, while the other
    /// experiment keeps all of its own.
    @Test func deleteLeavesNoRowAndNoFileThatMentionsTheExperiment() throws {
        let t = try TestApp(
            stages: StageRegistry(SignalForgeStages.all),
            configure: { $0.webhooks = [WebhookSubscription(url: "http://127.0.0.1:9/hook")] })
        try StageTests.sample(t, days: 10)
        let body = StageTests.body(
            stages: ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"],
            timeframes: ["15m", "1h"],
            config: #"{"export":{"formats":["csv","parquet"]},"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":0.5}}"#)
        let created = try t.request("POST", "/v1/experiments", headers: ["Idempotency-Key": "history-delete"], body: body)
        let id = try #require(created.json["id"] as? String)
        let kept = try t.create(body)
        for e in [id, kept] {
            #expect(try t.waitFor(e, timeout: 180, StageTests.finished)["status"] as? String == "succeeded")
        }
        let dataDir = t.app.settings.dataDir
        // The scan finds what is there: both experiments are in the main tables and have files.
        for e in [id, kept] {
            let before = try Self.mentions(t.databaseURL, dataDir: dataDir, of: e)
            for table in ["experiments", "pipeline_events", "pipeline_logs", "pipeline_progress", "signals", "artifacts", "reports"] {
                #expect((before.rows[table] ?? 0) > 0, "\(table) has no row of \(e) before the delete")
            }
            #expect(!before.files.isEmpty)
        }
        #expect((try Self.mentions(t.databaseURL, dataDir: dataDir, of: id).rows["idempotency_keys"] ?? 0) == 1)
        #expect((try Self.mentions(t.databaseURL, dataDir: dataDir, of: id).rows["notification_subscriptions"] ?? 0) > 0)

        let deleted = try t.request("DELETE", "/v1/experiments/\(id)")
        #expect(deleted.status == 204, "\(deleted.text)")
        let after = try Self.mentions(t.databaseURL, dataDir: dataDir, of: id)
        #expect(after.rows.isEmpty, "rows still mention \(id): \(after.rows)")
        #expect(after.files.isEmpty, "files still mention \(id): \(after.files)")
        // Idempotent: 404 afterwards, for the resource and for another delete.
        #expect(try t.request("GET", "/v1/experiments/\(id)").status == 404)
        let again = try t.request("DELETE", "/v1/experiments/\(id)")
        #expect(again.status == 404)
        #expect(again.header("Content-Type") == "application/problem+json")
        // The other experiment is whole.
        let other = try Self.mentions(t.databaseURL, dataDir: dataDir, of: kept)
        for table in ["experiments", "pipeline_events", "pipeline_logs", "signals", "artifacts", "reports"] {
            #expect((other.rows[table] ?? 0) > 0, "\(table) lost the rows of the kept experiment")
        }
        #expect(try t.request("GET", "/v1/experiments/\(kept)/signals?limit=5").status == 200)
        let metrics = try t.request("GET", "/metrics").text
        #expect(metrics.contains("signalforge_experiments_deleted_total{reason=\"api\"} 1"))
    }

    /// A running experiment: 409 naming its state; with `cancel=true` it is
    /// cancelled and deleted once its runner stopped.
    @Test func deletingARunningExperimentNeedsCancel() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 100_000, chunkSeconds: 0.001)]))
        let id = try t.create(#"{"datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#)
        try t.waitFor(id) { $0["status"] as? String == "running" }
        let refused = try t.request("DELETE", "/v1/experiments/\(id)")
        #expect(refused.status == 409)
        #expect(refused.json["current_state"] as? String == "running")
        #expect(refused.header("Content-Type") == "application/problem+json")
        #expect(try t.request("DELETE", "/v1/experiments/\(id)?cancel=maybe").status == 400)
        #expect(try t.status(id) == "running")

        let deleted = try t.request("DELETE", "/v1/experiments/\(id)?cancel=true")
        #expect(deleted.status == 204, "\(deleted.text)")
        #expect(try t.request("GET", "/v1/experiments/\(id)").status == 404)
        #expect(!t.app.engine.runningIDs.contains(UUID(uuidString: id)!))
        let after = try Self.mentions(t.databaseURL, dataDir: t.app.settings.dataDir, of: id)
        #expect(after.rows.isEmpty, "\(after.rows)")
        #expect(after.files.isEmpty, "\(after.files)")
    }

    /// Delete needs `admin`; pin and unpin need `operate` and show in the resource.
    @Test func scopesAndPins() throws {
        let admin = "sf_admin_token_for_history"
        let tokens = TestTokens.file + "\nroot admin \(SHA256.hex(Array(admin.utf8)))\n"
        let t = try TestApp(tokens: tokens, stages: StageRegistry([ChunkedStage(name: "load", units: 1)]))
        let created = try t.request(
            "POST", "/v1/experiments", token: TestTokens.operatorToken,
            body: #"{"datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#)
        let id = try #require(created.json["id"] as? String)
        #expect(created.json["pinned"] as? Bool == false)
        #expect(try t.request("POST", "/v1/experiments/\(id)/pin", token: TestTokens.reader).status == 403)
        let pinned = try t.request("POST", "/v1/experiments/\(id)/pin", token: TestTokens.operatorToken)
        #expect(pinned.status == 200)
        #expect(pinned.json["pinned"] as? Bool == true)
        #expect(try t.request("GET", "/v1/experiments/\(id)", token: TestTokens.reader).json["pinned"] as? Bool == true)
        #expect(try t.request("POST", "/v1/experiments/\(id)/unpin", token: TestTokens.operatorToken).json["pinned"] as? Bool == false)
        #expect(try t.request("POST", "/v1/experiments/\(UUID())/pin", token: TestTokens.operatorToken).status == 404)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline,
            try t.request("GET", "/v1/experiments/\(id)", token: TestTokens.reader).json["status"] as? String != "succeeded"
        {
            Thread.sleep(forTimeInterval: 0.02)
        }
        #expect(try t.request("DELETE", "/v1/experiments/\(id)", token: TestTokens.operatorToken).status == 403)
        #expect(try t.request("DELETE", "/v1/experiments/\(id)", token: admin).status == 204)
        #expect(try t.request("GET", "/v1/experiments/\(id)", token: TestTokens.reader).status == 404)
    }

    /// Four finished experiments of 1000 bytes each, the oldest pinned, a
    /// limit of 2500 bytes: the second and third oldest go (in that order),
    /// the pinned one and the newest stay. `gc --dry-run` (the real
    /// executable) lists exactly what `gc --now` then deletes.
    @Test func retentionBySizeSparesPinnedAndDryRunMatchesNow() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 1)]))
        let dataDir = t.app.settings.dataDir
        var ids: [String] = []
        for i in 0..<4 {
            let id = try t.create(#"{"name":"r\#(i)","datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#)
            try t.waitFor(id) { $0["status"] as? String == "succeeded" }
            ids.append(id)
        }
        #expect(try t.request("POST", "/v1/experiments/\(ids[0])/pin").status == 200)
        for id in ids {
            let folder = dataDir + "/experiments/" + id
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: folder + "/blob.bin"))
        }
        let limit = String(2500.0 / 1_073_741_824.0)
        func gc(_ mode: String) throws -> (status: Int32, ids: [String], stderr: String) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: try SignalForgeProcess.executable())
            p.arguments = [
                "gc", mode, "--database-url", t.databaseURL, "--data-dir", dataDir, "--retention-max-gb", limit, "--log-level", "error",
            ]
            let out = Pipe()
            let err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let errText = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            let lines = text.split(separator: "\n").map { String($0.split(separator: "\t").first ?? "") }
            return (p.terminationStatus, lines, errText)
        }
        let dry = try gc("--dry-run")
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(dry.ids == [ids[1], ids[2]])
        #expect(dry.stderr.contains("would delete 2 experiments (2000 bytes)"))
        for id in ids { #expect(try t.request("GET", "/v1/experiments/\(id)").status == 200) }
        let now = try gc("--now")
        #expect(now.status == 0, "\(now.stderr)")
        #expect(now.ids == dry.ids)
        for (i, id) in ids.enumerated() {
            #expect(try t.request("GET", "/v1/experiments/\(id)").status == ([1, 2].contains(i) ? 404 : 200), "r\(i)")
        }
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/experiments/" + ids[1]))
        #expect(FileManager.default.fileExists(atPath: dataDir + "/experiments/" + ids[0]))
        // Under the limit now: nothing more to do.
        #expect(try gc("--dry-run").ids.isEmpty)
        #expect(try gc("--now").ids.isEmpty)
        let usage = try gc("--bogus")
        #expect(usage.status != 0)
    }

    /// The server's own job: a tiny `retention_max_gb` and a 1 s period
    /// delete the oldest unpinned experiments until the folders fit, and
    /// `retention_days` deletes what finished long enough ago.
    @Test func theServerAppliesRetentionPeriodically() throws {
        let t = try TestApp(
            stages: StageRegistry([ChunkedStage(name: "load", units: 1)]),
            configure: {
                $0.retentionMaxGB = 2500.0 / 1_073_741_824.0
                $0.retentionPollSeconds = 1
            })
        let dataDir = t.app.settings.dataDir
        var ids: [String] = []
        for i in 0..<4 {
            let id = try t.create(#"{"name":"p\#(i)","datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#)
            try t.waitFor(id) { $0["status"] as? String == "succeeded" }
            ids.append(id)
        }
        #expect(try t.request("POST", "/v1/experiments/\(ids[0])/pin").status == 200)
        for id in ids {
            let folder = dataDir + "/experiments/" + id
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try Data(repeating: 7, count: 1000).write(to: URL(fileURLWithPath: folder + "/blob.bin"))
        }
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, try t.request("GET", "/v1/experiments/\(ids[2])").status != 404 {
            Thread.sleep(forTimeInterval: 0.05)
        }
        for (i, id) in ids.enumerated() {
            #expect(try t.request("GET", "/v1/experiments/\(id)").status == ([1, 2].contains(i) ? 404 : 200), "p\(i)")
        }
        let metrics = try t.request("GET", "/metrics").text
        #expect(metrics.contains("signalforge_experiments_deleted_total{reason=\"retention\"} 2"))
        // Storage gauges: measured by the retention job's thread when it starts.
        for gauge in [
            "signalforge_disk_used_bytes{area=\"experiments\"}", "signalforge_disk_used_bytes{area=\"datasets\"}",
            "signalforge_table_size_bytes{table=\"signals\"}", "signalforge_table_size_bytes{table=\"pipeline_logs\"}",
            "signalforge_deletions_pending 0",
        ] {
            #expect(metrics.contains(gauge), "\(gauge)")
        }
        // By age: nothing finished a day ago here, and a zero-day policy takes every unpinned one.
        #expect(try Retention.plan(pool: t.app.pool, dataDirectory: URL(fileURLWithPath: dataDir), policy: .init(maxAgeDays: 1)).isEmpty)
        let old = try Retention.plan(pool: t.app.pool, dataDirectory: URL(fileURLWithPath: dataDir), policy: .init(maxAgeDays: 0))
        #expect(old.map { $0.experiment.id.uuidString.lowercased() } == [ids[3]])
        #expect(old.map(\.reason) == [.age])
    }

    /// kill -9 of a server in the middle of a delete (held on a row lock
    /// after its mark was written): the next start finishes it.
    @Test func aDeleteCutShortByKillNineIsFinishedByTheNextStart() throws {
        let url = try TestApp.freshDatabase()
        let dataDir = NSTemporaryDirectory() + "sf-history-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        var server: ServerProcess? = try ServerProcess(databaseURL: url, dataDir: dataDir, port: ServerProcess.freePort(), units: 5)
        let created = try server!.request(
            "POST", "/v1/experiments", body: #"{"datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load","resample","merge"]}"#)
        let id = try #require(created.json["id"] as? String)
        let uuid = try #require(UUID(uuidString: id))
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try server!.request("GET", "/v1/experiments/\(id)").json["status"] as? String != "succeeded" {
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(try server!.request("GET", "/v1/experiments/\(id)").json["status"] as? String == "succeeded")
        #expect(FileManager.default.fileExists(atPath: dataDir + "/experiments/" + id))

        // Hold one of its rows: the delete marks, then waits in its row transaction.
        let holder = try Self.connect(url)
        defer { holder.close() }
        try holder.execute("BEGIN")
        _ = try holder.query("SELECT 1 FROM pipeline_events WHERE experiment_id = \(uuid) LIMIT 1 FOR UPDATE")
        let port = server!.port
        let request = Thread { _ = try? httpRequest(port: port, "DELETE", "/v1/experiments/\(id)") }
        request.start()
        let watcher = try Self.connect(url)
        defer { watcher.close() }
        func marked() throws -> Bool {
            try watcher.query("SELECT 1 FROM experiment_deletions WHERE experiment_id = \(uuid)").first != nil
        }
        let markDeadline = Date().addingTimeInterval(30)
        while Date() < markDeadline, try !marked() { Thread.sleep(forTimeInterval: 0.02) }
        #expect(try marked())
        server!.kill9()
        server = nil
        try holder.execute("ROLLBACK")
        // Cut short: the mark and the folder are still there.
        #expect(try marked())
        #expect(FileManager.default.fileExists(atPath: dataDir + "/experiments/" + id))

        server = try ServerProcess(databaseURL: url, dataDir: dataDir, port: ServerProcess.freePort(), units: 5)
        #expect(try server!.request("GET", "/v1/experiments/\(id)").status == 404)
        #expect(try !marked())
        let after = try Self.mentions(url, dataDir: dataDir, of: id)
        #expect(after.rows.isEmpty, "\(after.rows)")
        #expect(after.files.isEmpty, "\(after.files)")
    }

    /// The selection alone: oldest finished first, pinned and active never, age before size.
    @Test func selectionOrder() {
        let now = Date(timeIntervalSince1970: 1_000_000_000)
        func e(_ n: Int, _ status: String = "succeeded", pinned: Bool = false, daysAgo: Double, bytes: Int64 = 100) -> RetentionCandidate {
            RetentionCandidate(
                id: UUID(uuidString: "00000000-0000-0000-0000-00000000000\(n)")!, name: "e\(n)", status: status, pinned: pinned,
                createdAt: now.addingTimeInterval(-daysAgo * 86_400 - 60), finishedAt: now.addingTimeInterval(-daysAgo * 86_400),
                bytes: bytes)
        }
        let all = [
            e(1, daysAgo: 10, bytes: 500), e(2, pinned: true, daysAgo: 20), e(3, "running", daysAgo: 30), e(4, "failed", daysAgo: 5),
            e(5, "cancelled", daysAgo: 1), e(6, daysAgo: 0.5),
        ]
        let byAge = Retention.select(all, policy: RetentionPolicy(maxAgeDays: 7), now: now)
        #expect(byAge.map(\.experiment.name) == ["e1"])
        #expect(byAge.map(\.reason) == [.age])
        // Total 1000; at most 300: e1 (age) then e4, e5 by size; e2 (pinned) and e3 (running) never.
        let both = Retention.select(all, policy: RetentionPolicy(maxAgeDays: 7, maxBytes: 300), now: now)
        #expect(both.map(\.experiment.name) == ["e1", "e4", "e5"])
        #expect(both.map(\.reason) == [.age, .size, .size])
        #expect(Retention.select(all, policy: RetentionPolicy(), now: now).isEmpty)
        #expect(Retention.select(all, policy: RetentionPolicy(maxBytes: 0), now: now).count == 4)
    }
}
