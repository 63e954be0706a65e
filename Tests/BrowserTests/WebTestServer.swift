import Foundation
import Hashing
import Logging
import MarketData
import Pipeline
import PostgresClient
import Service
import Stages
import Store
import Synchronization
import TestSupport

/// Tokens of the browser tests' server.
enum WebTokens {
    static let reader = "sf_web_reader_token"
    static let operatorToken = "sf_web_operator_token"
    static let admin = "sf_web_admin_token"
    static var file: String {
        """
        web-reader read \(SHA256.hex(Array(reader.utf8)))
        web-ops operate \(SHA256.hex(Array(operatorToken.utf8)))
        web-admin admin \(SHA256.hex(Array(admin.utf8)))
        """
    }
}

/// The `load` stage with a scripted twin: for an experiment whose name starts
/// with `scripted`, it works in small timed chunks (reporting progress and
/// calling the checkpoint, so it can pause) and logs what a test posts to it,
/// until the test releases it; other experiments get the real `load` stage.
final class ScriptedLoadStage: Stage, Sendable {
    let name = "load"
    let real: any Stage
    /// Units of work and the time each takes while held.
    let units: Int64 = 400
    let chunkSeconds = 0.05

    private struct Script {
        var messages: [String] = []
        var released = false
    }
    private let scripts = Mutex<[UUID: Script]>([:])

    init(real: any Stage) { self.real = real }

    /// Has the running stage log `message` (at info) at its next chunk.
    func post(_ message: String, to id: UUID) { scripts.withLock { $0[id, default: Script()].messages.append(message) } }

    /// Lets the stage finish its remaining units at once.
    func release(_ id: UUID) { scripts.withLock { $0[id, default: Script()].released = true } }

    func run(_ context: StageContext) throws {
        let request = (try? JSONSerialization.jsonObject(with: context.request)) as? [String: Any]
        guard (request?["name"] as? String)?.hasPrefix("scripted") == true else { return try real.run(context) }
        let id = context.experimentID
        let step = context.progress.child(of: context.node, "scripted work", total: units)
        for i in 0..<units {
            try context.checkpoint()
            let (messages, released) = scripts.withLock { s -> ([String], Bool) in
                defer { s[id]?.messages.removeAll() }
                return (s[id]?.messages ?? [], s[id]?.released ?? false)
            }
            for m in messages { context.logger.info("\(m)") }
            if i % 20 == 0 { context.logger.info("chunk \(i) of \(units)", metadata: ["chunk": "\(i)"]) }
            if !released { Thread.sleep(forTimeInterval: chunkSeconds) }
            context.progress.advance(step, by: 1)
        }
        context.logger.info("scripted work done")
    }

    func restore(_ context: StageContext) throws -> Bool { try real.restore(context) }
    var prerequisites: [String] { real.prerequisites }
}

/// A real SignalForge service on a loopback port, over a fresh database, with
/// every product stage (the `load` stage scripted, see ``ScriptedLoadStage``),
/// tokens, and sample data under its data root.
final class WebTestServer: @unchecked Sendable {
    static let symbols = ["EURUSD", "GBPUSD", "USDJPY"]

    let app: Application
    let logs = LogCapture()
    let load: ScriptedLoadStage
    var port: Int { app.port }
    var base: String { "http://127.0.0.1:\(port)" }

    init(days: Int) throws {
        let stages = SignalForgeStages.all
        guard let real = stages.first(where: { $0.name == "load" }) else {
            throw Chromium.Failure(description: "SignalForgeStages.all has no load stage")
        }
        let load = ScriptedLoadStage(real: real)
        self.load = load
        var s = Settings()
        s.port = 0
        s.httpThreads = 4
        s.databaseURL = try Self.freshDatabase()
        s.poolTimeoutMs = 2000
        let tokens = NSTemporaryDirectory() + "sf-web-tokens-\(UUID().uuidString)"
        try WebTokens.file.write(toFile: tokens, atomically: true, encoding: .utf8)
        s.tokensFile = tokens
        s.dataDir = NSTemporaryDirectory() + "sf-web-data-\(UUID().uuidString)"
        Self.removeAtExit(tokens, s.dataDir)
        let dir = s.dataDir + "/samples"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let config = SyntheticMarket.Configuration(
            symbols: Self.symbols, bars: SyntheticMarket.Configuration.bars(days: days, timeframe: .m1), seed: 7, sentiment: true)
        _ = try SyntheticMarket.writeCSV(config, to: dir)
        app = try Application(
            settings: s, logger: logs.logger(level: .info),
            stages: StageRegistry(stages.map { $0.name == "load" ? load : $0 }))
        try app.start(waitForDatabase: .seconds(10))
    }

    /// Writes a file under the data root and returns its relative path.
    func writeData(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: app.settings.dataDir + "/" + name, atomically: true, encoding: .utf8)
        return name
    }

    deinit { app.stop() }

    /// Files to remove when the test process exits (the suite's server lives as long as the process).
    nonisolated(unsafe) private static var leftovers: [String] = []
    private static let registerCleanup: Void = {
        atexit {
            for path in WebTestServer.leftovers { try? FileManager.default.removeItem(atPath: path) }
        }
    }()

    private static func removeAtExit(_ paths: String...) {
        _ = registerCleanup
        leftovers += paths
    }

    /// A request with the operator token (or `token`).
    func request(
        _ method: String, _ target: String, token: String? = WebTokens.operatorToken, body: String? = nil
    ) throws
        -> RawHTTPConnection.Response
    {
        var h: [String: String] = [:]
        if let token { h["Authorization"] = "Bearer \(token)" }
        if body != nil { h["Content-Type"] = "application/json" }
        return try httpRequest(port: port, method, target, headers: h, body: Array((body ?? "").utf8))
    }

    /// Starts an experiment over the sample files (or `files`, symbol → path
    /// under the data root) and returns its id.
    func create(
        name: String, priority: String = "medium", stages: [String], timeframes: [String], config: String = "{}",
        files: [(String, String)]? = nil
    ) throws -> String {
        let datasets = (files ?? Self.symbols.map { ($0, "samples/\($0)_1m.csv") })
            .map { #"{"symbol":"\#($0.0)","path":"\#($0.1)"}"# }.joined(separator: ",")
        let list = { (xs: [String]) in xs.map { "\"\($0)\"" }.joined(separator: ",") }
        let body =
            #"{"name":"\#(name)","priority":"\#(priority)","datasets":[\#(datasets)],"timeframes":[\#(list(timeframes))],"stages":[\#(list(stages))],"config":\#(config)}"#
        let r = try request("POST", "/v1/experiments", body: body)
        guard r.status == 201, let id = r.json["id"] as? String else {
            throw Chromium.Failure(description: "create failed: \(r.status) \(r.text)")
        }
        return id
    }

    func experiment(_ id: String) throws -> [String: Any] { try request("GET", "/v1/experiments/\(id)").json }

    /// Polls the experiment until `done` holds; returns the last body.
    @discardableResult
    func waitFor(_ id: String, timeout: Double, _ done: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = try experiment(id)
            if done(last) { return last }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return last
    }

    /// Creates an empty database on the test PostgreSQL and returns its URL.
    static func freshDatabase() throws -> String {
        let base = TestDatabase.url
        let name = "sf_web_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: base), logger: Logger(label: "test"))
        defer { conn.close() }
        try conn.simpleQuery(unsafeSQL: "CREATE DATABASE \(name)")
        guard let slash = base.lastIndex(of: "/") else { return base }
        let query = base[slash...].firstIndex(of: "?").map { String(base[$0...]) } ?? ""
        return String(base[..<slash]) + "/" + name + query
    }
}
