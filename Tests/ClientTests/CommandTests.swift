import Foundation
import Service
import TestSupport
import Testing

/// The commands against a real server: exit statuses, `--output json` and `csv`.
struct CommandTests {
    static let experimentColumns = [
        "id", "name", "status", "priority", "stage", "percent", "created_at", "started_at", "finished_at", "error",
    ]

    @Test func startListStatusInEveryFormat() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 5), TickStage(name: "resample", units: 5)])
        let started = try CLI.run(
            server,
            [
                "start", "--dataset", "EURUSD=samples/EURUSD_1m.csv", "--dataset", "GBPUSD=\(UUID().uuidString)", "--timeframes", "1h,15m",
                "--stages", "load,resample", "--priority", "high", "--name", "cli-start", "--output", "json",
            ])
        #expect(started.status == 0, "\(started.stderr)")
        let id = try #require(started.object["id"] as? String)
        #expect(started.object["name"] as? String == "cli-start")
        #expect(started.object["priority"] as? String == "high")
        let request = try #require(started.object["request"] as? [String: Any])
        let datasets = try #require(request["datasets"] as? [[String: Any]])
        #expect(datasets.count == 2)
        #expect(datasets[0]["path"] as? String == "samples/EURUSD_1m.csv")
        #expect(datasets[1]["dataset_id"] is String, "a UUID is a dataset id")
        #expect(Set(request["timeframes"] as? [String] ?? []) == ["1h", "15m"])
        #expect(request["stages"] as? [String] == ["load", "resample"])
        try server.waitFor(id) { $0["status"] as? String == "succeeded" }

        let list = try CLI.run(server, ["list", "--output", "json"])
        #expect(list.status == 0)
        #expect(list.array.map { $0["id"] as? String } == [id])
        let none = try CLI.run(server, ["list", "--status", "failed", "--output", "json"])
        #expect(none.status == 0)
        #expect(none.array.isEmpty)

        let status = try CLI.run(server, ["status", id, "--output", "json"])
        #expect(status.status == 0)
        #expect(status.object["status"] as? String == "succeeded")
        #expect(status.object["percent"] as? Double == 100)

        let csv = try CLI.run(server, ["status", id, "--output", "csv"]).csv
        #expect(csv.count == 2)
        #expect(csv[0] == Self.experimentColumns)
        #expect(csv[1][0] == id && csv[1][1] == "cli-start" && csv[1][2] == "succeeded")
        let listCSV = try CLI.run(server, ["list", "--output", "csv"]).csv
        #expect(listCSV.first == Self.experimentColumns)
        #expect(listCSV.count == 2)

        let table = try CLI.run(server, ["status", id])
        #expect(table.status == 0)
        #expect(table.stdout.contains("cli-start") && table.stdout.contains("succeeded"))
        #expect(!table.stdout.contains("\u{1B}["), "no colours when stdout is not a terminal")

        // A request file, with a flag over one of its members.
        let file = server.dataDir + "/request.json"
        try #"{"name":"from-file","datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#
            .write(toFile: file, atomically: true, encoding: .utf8)
        let fromFile = try CLI.run(server, ["start", "--file", file, "--priority", "low", "--output", "json"])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(fromFile.object["name"] as? String == "from-file")
        #expect(fromFile.object["priority"] as? String == "low")
        let quiet = try CLI.run(server, ["start", "--file", file, "-q"])
        #expect(quiet.status == 0)
        #expect(UUID(uuidString: quiet.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) != nil)
    }

    /// The same Idempotency-Key twice starts one experiment; the second call
    /// prints the first call's experiment and says so on stderr.
    @Test func startWithAnIdempotencyKeyTwiceStartsOne() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 3)])
        let args = [
            "start", "--dataset", "EURUSD=samples/EURUSD_1m.csv", "--stages", "load", "--idempotency-key", "ci-0123abc", "--output", "json",
        ]
        let first = try CLI.run(server, args)
        let second = try CLI.run(server, args)
        #expect(first.status == 0 && second.status == 0, "\(first.stderr) \(second.stderr)")
        let id = try #require(first.object["id"] as? String)
        #expect(second.object["id"] as? String == id)
        #expect(second.stderr.contains("Idempotency-Key"))
        #expect(!first.stderr.contains("Idempotency-Key"))
        let all = try CLI.run(server, ["list", "--output", "json"]).array
        #expect(all.count == 1)

        // The same key with another body is the server's 422: its detail, exit 4.
        let other = try CLI.run(server, ["start", "--dataset", "GBPUSD=g.csv", "--stages", "load", "--idempotency-key", "ci-0123abc"])
        #expect(other.status == 4)
        #expect(other.stderr.contains("already used with a different request body"))
        #expect(other.stderr.contains("422"))
    }

    /// A problem answer: its detail and status on stderr, exit 4; nothing on stdout.
    @Test func problemsPrintTheirDetailAndExitFour() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 3)])
        let missing = UUID().uuidString.lowercased()
        for args in [
            ["status", missing], ["watch", missing], ["logs", missing], ["events", missing], ["pause", missing], ["signals", missing],
        ] {
            let r = try CLI.run(server, args)
            #expect(r.status == 4, "\(args): \(r.status) \(r.stderr)")
            #expect(r.stderr.contains("experiment \(missing)"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("404"), "\(args): \(r.stderr)")
            #expect(r.stdout.isEmpty || args[0] == "logs")
        }
        // Validation by the server: a 400 naming the member and the allowed values.
        let bad = try CLI.run(server, ["start", "--dataset", "EURUSD=a.csv", "--timeframes", "7m"])
        #expect(bad.status == 4)
        #expect(bad.stderr.contains("400"))
        #expect(bad.stderr.contains("timeframes"))
        // Usage errors are the parser's (64), before any request.
        #expect(try CLI.run(server, ["status", "not-a-uuid"]).status == 64)
        #expect(try CLI.run(server, ["start", "--dataset", "nosymbol"]).status == 64)
        // No server: exit 5.
        let down = try CLI.raw(["experiments", "status", missing, "--server", "http://127.0.0.1:\(try localFreePort())"])
        #expect(down.status == 5)
        #expect(down.stderr.contains("cannot connect"))
    }

    @Test func pauseResumeCancelRetry() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 400, interval: 0.01)])
        let id = try #require(
            try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).stdout.split(separator: "\n").first.map(
                String.init))
        try server.waitFor(id) { $0["status"] as? String == "running" }

        let pause = try CLI.run(server, ["pause", id, "--output", "json"])
        #expect(pause.status == 0, "\(pause.stderr)")
        #expect(["pausing", "paused"].contains(pause.object["status"] as? String))
        try server.waitFor(id) { $0["status"] as? String == "paused" }
        let again = try CLI.run(server, ["pause", id])
        #expect(again.status == 4)
        #expect(again.stderr.contains("409"))
        #expect(again.stderr.contains("current state: paused"))
        #expect(again.stderr.contains("allowed: resume, cancel"))

        let resume = try CLI.run(server, ["resume", id])
        #expect(resume.status == 0)
        #expect(resume.stdout.contains("experiment \(id): running"))
        #expect(resume.stdout.contains("(allowed now: pause, cancel)"))

        let cancel = try CLI.run(server, ["cancel", id, "--output", "csv"])
        #expect(cancel.status == 0)
        #expect(cancel.csv.first == Self.experimentColumns)
        #expect(["cancelling", "cancelled"].contains(cancel.csv.last?[2] ?? ""))
        try server.waitFor(id) { $0["status"] as? String == "cancelled" }

        let retry = try CLI.run(server, ["retry", id, "--from-stage", "load", "--output", "json"])
        #expect(retry.status == 0, "\(retry.stderr)")
        #expect(retry.object["status"] as? String == "queued" || retry.object["status"] as? String == "running")
        let badStage = try CLI.run(server, ["retry", id, "--from-stage", "nap"])
        #expect(badStage.status == 4)
        #expect(badStage.stderr.contains("from_stage"))
        _ = try CLI.run(server, ["cancel", id])
    }

    /// events, resources (samples every 2 s), history and the token settings.
    @Test func eventsResourcesAndHistory() throws {
        let server = try ClientTestServer(stages: [
            TickStage(name: "load", units: 250, interval: 0.012), TickStage(name: "resample", units: 5, failAt: 2),
        ])
        let ok = try #require(
            try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "--name", "good", "-q"]).lines.first)
        let bad = try #require(
            try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load,resample", "--name", "bad", "-q"]).lines.first)
        for id in [ok, bad] { try server.waitFor(id, timeout: 30) { ["succeeded", "failed"].contains($0["status"] as? String ?? "") } }

        let events = try CLI.run(server, ["events", ok, "--output", "json"])
        #expect(events.status == 0)
        let kinds = events.array.compactMap { $0["kind"] as? String }
        #expect(kinds.first == "created")
        #expect(kinds.contains("stage_completed") && kinds.last == "succeeded")
        let eventsCSV = try CLI.run(server, ["events", ok, "--output", "csv"]).csv
        #expect(eventsCSV.first == ["id", "ts", "kind", "stage", "from_status", "to_status", "duration_ms", "details"])
        #expect(eventsCSV.count == events.array.count + 1)

        let resources = try CLI.run(server, ["resources", ok, "--output", "json"])
        #expect(resources.status == 0)
        #expect(!resources.array.isEmpty, "a 3 s run has at least one 2 s sample")
        #expect(resources.array.allSatisfy { $0["rss_bytes"] != nil && $0["cpu_percent"] != nil && $0["rows_per_second"] != nil })
        let resourcesCSV = try CLI.run(server, ["resources", ok, "--output", "csv"]).csv
        #expect(resourcesCSV.first == ["id", "ts", "stage", "rss_bytes", "cpu_percent", "rows_per_second"])
        let table = try CLI.run(server, ["resources", ok])
        #expect(table.status == 0)
        #expect(table.stdout.contains("RSS") && table.stdout.contains("rss "))
        #expect(table.stdout.unicodeScalars.contains { (0x2581...0x2588).contains($0.value) }, "a sparkline")

        let history = try CLI.run(server, ["history", "--output", "json"])
        #expect(history.status == 0, "\(history.stderr)")
        let rows = history.array
        #expect(Set(rows.compactMap { $0["id"] as? String }) == [ok, bad])
        let good = try #require(rows.first { $0["id"] as? String == ok })
        #expect(good["outcome"] as? String == "succeeded")
        #expect(good["stages_completed"] as? Int == 1 && good["stages_total"] as? Int == 1)
        #expect((good["duration_s"] as? Double ?? 0) > 2)
        #expect(good["signals_accepted"] as? Int == 0)
        #expect(good["total_return"] is NSNull && good["sharpe"] is NSNull && good["verdict"] is NSNull, "no report: no figures")
        let failed = try #require(rows.first { $0["id"] as? String == bad })
        #expect(failed["outcome"] as? String == "failed")
        #expect(failed["stages_completed"] as? Int == 1 && failed["stages_total"] as? Int == 2)
        #expect((failed["error"] as? String)?.contains("deliberate failure at tick 2") == true)
        let historyCSV = try CLI.run(server, ["history", "--output", "csv"]).csv
        #expect(historyCSV.first == Experiments_HistoryColumns.all)
        #expect(historyCSV.count == 3)
    }

    /// `--token` and `SIGNALFORGE_TOKEN` become a bearer token; without one a
    /// server with a tokens file answers 401 (exit 4).
    @Test func tokensFromTheFlagOrTheEnvironment() throws {
        let (token, line) = try TokenStore.generate(name: "ci", scope: .operate)
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 2)], tokens: line + "\n")
        let denied = try CLI.run(server, ["list"])
        #expect(denied.status == 4)
        #expect(denied.stderr.contains("401"))
        let flag = try CLI.run(server, ["list", "--token", token, "--output", "json"])
        #expect(flag.status == 0, "\(flag.stderr)")
        let env = try CLI.run(
            server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"], environment: ["SIGNALFORGE_TOKEN": token])
        #expect(env.status == 0, "\(env.stderr)")
        // SIGNALFORGE_URL is the default server.
        let byURL = try CLI.raw(
            ["experiments", "list", "--output", "json"], environment: ["SIGNALFORGE_URL": server.url, "SIGNALFORGE_TOKEN": token])
        #expect(byURL.status == 0)
        #expect(byURL.array.count == 1)
    }
}

/// The `history` CSV header, as documented.
enum Experiments_HistoryColumns {
    static let all = [
        "id", "name", "outcome", "started_at", "finished_at", "duration_s", "stages_completed", "stages_total", "signals_accepted",
        "total_return", "sharpe", "verdict", "error",
    ]
}
