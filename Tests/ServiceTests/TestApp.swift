import Foundation
import Logging
import Pipeline
import PostgresClient
import Service
import TestSupport

/// A real SignalForge service on a loopback port 0, over its own fresh
/// database on the test PostgreSQL.
final class TestApp {
    let app: Application
    let logs = LogCapture()
    let databaseURL: String
    var port: Int { app.port }

    init(
        tokens: String? = nil, databaseURL: String? = nil, stages: StageRegistry = StageRegistry(),
        configure: (inout Settings) -> Void = { _ in }
    ) throws {
        self.databaseURL = try databaseURL ?? TestApp.freshDatabase()
        var s = Settings()
        s.port = 0
        s.httpThreads = 2
        s.databaseURL = self.databaseURL
        s.poolTimeoutMs = 1000
        // The server's default is on; here every stage is computed: tests compare
        // runs within one app (one data dir, so one cache), and a second run
        // would be restored from the first. StageCacheServiceTests turns it on.
        s.cacheEnabled = false
        if let tokens {
            let file = NSTemporaryDirectory() + "sf-tokens-\(UUID().uuidString)"
            try tokens.write(toFile: file, atomically: true, encoding: .utf8)
            s.tokensFile = file
        }
        configure(&s)
        s.dataDir = NSTemporaryDirectory() + "sf-data-\(UUID().uuidString)"
        app = try Application(settings: s, logger: logs.logger(level: .info), stages: stages)
        try app.start(waitForDatabase: .seconds(10))
    }

    deinit { app.stop() }

    func request(
        _ method: String, _ target: String, token: String? = nil, headers: [String: String] = [:], body: String? = nil
    ) throws -> RawHTTPConnection.Response {
        var h = headers
        if let token { h["Authorization"] = "Bearer \(token)" }
        if body != nil, h["Content-Type"] == nil { h["Content-Type"] = "application/json" }
        return try httpRequest(port: port, method, target, headers: h, body: Array((body ?? "").utf8))
    }

    /// Polls the experiment until `done` holds (or `timeout` passes); returns the last body.
    @discardableResult
    func waitFor(_ id: String, timeout: Double = 10, _ done: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = try request("GET", "/v1/experiments/\(id)").json
            if done(last) { return last }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return last
    }

    func status(_ id: String) throws -> String? { try request("GET", "/v1/experiments/\(id)").json["status"] as? String }

    func create(_ body: String) throws -> String {
        let r = try request("POST", "/v1/experiments", body: body)
        guard r.status == 201, let id = r.json["id"] as? String else {
            throw RawHTTPConnection.Failure(description: "create failed: \(r.status) \(r.text)")
        }
        return id
    }

    /// Creates an empty database on the test server and returns its URL.
    static func freshDatabase() throws -> String {
        let base = TestDatabase.url
        let name = "sf_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: base), logger: Logger(label: "test"))
        defer { conn.close() }
        try conn.simpleQuery(unsafeSQL: "CREATE DATABASE \(name)")
        guard let slash = base.lastIndex(of: "/") else { return base }
        let query = base[slash...].firstIndex(of: "?").map { String(base[$0...]) } ?? ""
        return String(base[..<slash]) + "/" + name + query
    }
}

let validBody = #"{"name":"fx","datasets":[{"symbol":"EURUSD","path":"samples/EURUSD_1m.csv"}],"timeframes":["1h","15m"]}"#
