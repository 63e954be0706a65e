import Foundation
import Synchronization
import TestSupport
import Testing

/// `artifacts`, `artifacts get`, `signals` and `report` against an experiment
/// whose stage wrote a file, signals and a report.
struct ResultsTests {
    static func finishedExperiment() throws -> (ClientTestServer, String) {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 2), ResultsStage(name: "resample")])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load,resample", "-q"]).lines.first)
        let done = try server.waitFor(id) { ["succeeded", "failed"].contains($0["status"] as? String ?? "") }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        return (server, id)
    }

    @Test func artifactsListAndResumableDownload() throws {
        let (server, id) = try Self.finishedExperiment()
        let list = try CLI.run(server, ["artifacts", id, "--output", "json"])
        #expect(list.status == 0, "\(list.stderr)")
        let artifact = try #require(list.array.first)
        #expect(artifact["name"] as? String == "features_1h.csv")
        let size = try #require(artifact["size_bytes"] as? Int)
        let csv = try CLI.run(server, ["artifacts", "list", id, "--output", "csv"]).csv
        #expect(csv.first == ["name", "format", "size_bytes", "rows", "sha256", "created_at", "url"])
        #expect(csv.count == 2 && csv[1][0] == "features_1h.csv" && csv[1][2] == String(size))

        let whole = try server.request("GET", "/v1/experiments/\(id)/artifacts/features_1h.csv")
        #expect(whole.body.count == size)
        let etag = try #require(whole.header("ETag"))
        let dir = NSTemporaryDirectory() + "sf-client-dl-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)

        // Into the current folder under its own name; the SHA-256 in the ETag is checked.
        let plain = try CLI.run(server, ["artifacts", "get", id, "features_1h.csv", "--output", "json"], cwd: dir)
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(plain.object["size_bytes"] as? Int == size)
        #expect(plain.object["sha256"] as? String == etag.trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        #expect(plain.object["resumed_from"] as? Int == 0)
        #expect(FileManager.default.contents(atPath: dir + "/features_1h.csv") == Data(whole.body))

        // An interrupted earlier download: the part and its ETag are on disk; the rest comes with Range.
        let dest = dir + "/resumed.csv"
        let cut = size / 3
        try Data(whole.body.prefix(cut)).write(to: URL(fileURLWithPath: dest + ".part"))
        try (etag + "\n").write(toFile: dest + ".part.etag", atomically: true, encoding: .utf8)
        let resumed = try CLI.run(server, ["artifacts", "get", id, "features_1h.csv", "-o", dest, "--output", "json"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.object["resumed_from"] as? Int == cut)
        #expect(FileManager.default.contents(atPath: dest) == Data(whole.body))
        #expect(!FileManager.default.fileExists(atPath: dest + ".part"))
        #expect(!FileManager.default.fileExists(atPath: dest + ".part.etag"))

        // A part from another version of the file (the ETag differs): If-Range gets the whole file.
        let stale = dir + "/stale.csv"
        try Data(repeating: 0x41, count: 100).write(to: URL(fileURLWithPath: stale + ".part"))
        try "\"0123-4567\"\n".write(toFile: stale + ".part.etag", atomically: true, encoding: .utf8)
        let restarted = try CLI.run(server, ["artifacts", "get", id, "features_1h.csv", "-o", stale, "--output", "json"])
        #expect(restarted.status == 0, "\(restarted.stderr)")
        #expect(restarted.object["resumed_from"] as? Int == 0)
        #expect(FileManager.default.contents(atPath: stale) == Data(whole.body))

        // A part that is already complete: the server's 416 says so.
        let complete = dir + "/complete.csv"
        try Data(whole.body).write(to: URL(fileURLWithPath: complete + ".part"))
        try (etag + "\n").write(toFile: complete + ".part.etag", atomically: true, encoding: .utf8)
        let done = try CLI.run(server, ["artifacts", "get", id, "features_1h.csv", "-o", complete])
        #expect(done.status == 0, "\(done.stderr)")
        #expect(FileManager.default.contents(atPath: complete) == Data(whole.body))

        // To stdout.
        let out = try CLI.run(server, ["artifacts", "get", id, "features_1h.csv", "-o", "-"])
        #expect(out.status == 0)
        #expect(out.stdout == whole.text)

        let missing = try CLI.run(server, ["artifacts", "get", id, "nope.parquet", "-o", dir + "/nope"])
        #expect(missing.status == 4)
        #expect(missing.stderr.contains("no artifact 'nope.parquet'"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/nope.part"))
    }

    /// A download whose connection breaks part-way resumes by itself in the same run.
    @Test func aBrokenDownloadResumesByItself() throws {
        let (server, id) = try Self.finishedExperiment()
        let proxy = try CuttingProxy(upstream: server.port, cutAfter: 100_000, pattern: "/artifacts/", maxCuts: 1)
        defer { proxy.stop() }
        let whole = try server.request("GET", "/v1/experiments/\(id)/artifacts/features_1h.csv")
        let dest = NSTemporaryDirectory() + "sf-client-broken-\(UUID().uuidString).csv"
        let r = try CLI.start(server, ["artifacts", "get", id, "features_1h.csv", "-o", dest, "--output", "json"], via: proxy.url).wait()
        #expect(r.status == 0, "\(r.stderr)")
        #expect(proxy.cuts.load(ordering: .relaxed) == 1)
        let resumedFrom = r.object["resumed_from"] as? Int ?? 0
        #expect(resumedFrom > 0 && resumedFrom < 100_000, "\(r.stdout)")
        #expect(r.object["sha256"] is String, "checked against the ETag's digest")
        #expect(FileManager.default.contents(atPath: dest) == Data(whole.body))
    }

    @Test func signalsAndReport() throws {
        let (server, id) = try Self.finishedExperiment()
        let all = try CLI.run(server, ["signals", id, "--output", "json"])
        #expect(all.status == 0, "\(all.stderr)")
        #expect(all.array.count == 6)
        let first = try #require(all.array.first)
        for key in [
            "symbol", "timeframe", "timestamp", "direction", "entry", "stop", "target", "horizon_bars", "quality", "accepted", "components",
            "sources",
        ] {
            #expect(first[key] != nil, "signal member \(key)")
        }
        let accepted = try CLI.run(server, ["signals", id, "--accepted", "--output", "json"]).array
        #expect(accepted.count == 4 && accepted.allSatisfy { $0["accepted"] as? Bool == true })
        let rejected = try CLI.run(server, ["signals", id, "--no-accepted", "--output", "json"]).array
        #expect(rejected.count == 2)
        let eurusd = try CLI.run(server, ["signals", id, "--symbol", "EURUSD", "--min-quality", "0.7", "--output", "json"]).array
        #expect(eurusd.count == 2 && eurusd.allSatisfy { $0["symbol"] as? String == "EURUSD" && ($0["quality"] as? Double ?? 0) >= 0.7 })

        let csv = try CLI.run(server, ["signals", id, "--output", "csv"]).csv
        #expect(
            csv.first == [
                "id", "symbol", "timeframe", "timestamp", "direction", "entry", "stop", "target", "horizon_bars", "quality", "accepted",
                "pattern_strength", "mtf_agreement", "regime_confidence", "volume_confirmation", "sentiment_alignment",
                "correlation_safety",
                "sources", "quality_prior", "outcome", "outcome_r", "resolved_at",
            ])
        #expect(csv.count == 7)
        #expect(csv[1][11...16].compactMap(Double.init) == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
        #expect(csv[1][17] == "pattern:hammer;forecast:ar")
        let table = try CLI.run(server, ["signals", id])
        #expect(table.status == 0 && table.stdout.contains("EURUSD") && table.stdout.contains("QUALITY"))

        let report = try CLI.run(server, ["report", id, "--output", "json"])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.object["win_rate"] as? Double == 0.75)
        #expect((report.object["equity"] as? [Any])?.count == 3)
        let reportCSV = try CLI.run(server, ["report", id, "--output", "csv"]).csv
        #expect(reportCSV.first == ["key", "value"])
        #expect(reportCSV.contains(["sharpe", "1.2"]))
        #expect(reportCSV.contains(["equity[2].equity", "1.03"]))
        let reportTable = try CLI.run(server, ["report", id])
        #expect(reportTable.stdout.contains("profit_factor") && reportTable.stdout.contains("(3 points)"))

        // An experiment with no report yet: the server's 404 detail, exit 4.
        let other = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).lines.first)
        let none = try CLI.run(server, ["report", other])
        #expect(none.status == 4)
        #expect(none.stderr.contains("has no report yet"))
        #expect(none.stderr.contains("404"))
    }
}
