import Foundation
import Logging
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

    init(tokens: String? = nil, databaseURL: String? = nil, configure: (inout Settings) -> Void = { _ in }) throws {
        self.databaseURL = try databaseURL ?? TestApp.freshDatabase()
        var s = Settings()
        s.port = 0
        s.httpThreads = 2
        s.databaseURL = self.databaseURL
        s.poolTimeoutMs = 1000
        if let tokens {
            let file = NSTemporaryDirectory() + "sf-tokens-\(UUID().uuidString)"
            try tokens.write(toFile: file, atomically: true, encoding: .utf8)
            s.tokensFile = file
        }
        configure(&s)
        app = try Application(settings: s, logger: logs.logger(level: .info))
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
