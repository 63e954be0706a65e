import Foundation
import Hashing
import Logging
import Pipeline
import PostgresClient
import Service
import Synchronization
import TestSupport

@testable import SignalForgeClient

#if canImport(Glibc)
import Glibc
#endif

/// A real SignalForge service on loopback, over its own fresh database on the
/// test PostgreSQL (`DATABASE_URL`, else a temporary cluster). It can stop
/// and start again on the same port, database and data folder — a server
/// restart, which is how the tests drop live connections server-side.
final class ClientTestServer: @unchecked Sendable {
    // @unchecked: `app` changes only in start()/stop(), called by the test's own thread.
    private(set) var app: Application?
    let logs = LogCapture()
    let databaseURL: String
    let dataDir: String
    let stages: StageRegistry
    let tokens: String?
    private(set) var port: Int

    var url: String { "http://127.0.0.1:\(port)" }

    init(stages: [any Stage], tokens: String? = nil) throws {
        databaseURL = try Self.freshDatabase()
        dataDir = NSTemporaryDirectory() + "sf-client-data-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        self.stages = StageRegistry(stages)
        self.tokens = tokens
        port = 0
        try start()
    }

    deinit { stop() }

    /// Starts an Application (on the port used before, if any).
    func start() throws {
        var s = Settings()
        s.port = port
        s.httpThreads = 2
        s.databaseURL = databaseURL
        s.poolTimeoutMs = 2000
        s.dataDir = dataDir
        if let tokens {
            let file = dataDir + "/tokens"
            try tokens.write(toFile: file, atomically: true, encoding: .utf8)
            s.tokensFile = file
        }
        let app = try Application(settings: s, logger: logs.logger(level: .info), stages: stages)
        var attempts = 0
        while true {
            do {
                try app.start(waitForDatabase: .seconds(10))
                break
            } catch {
                // The old listener's port can take a moment to be free again.
                attempts += 1
                if attempts > 50 { throw error }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        self.app = app
        port = app.port
    }

    /// Drains and stops the Application: running experiments become
    /// interrupted, open streams end, the port closes.
    func stop() {
        app?.stop()
        app = nil
    }

    func request(_ method: String, _ target: String, body: String? = nil, token: String? = nil) throws -> RawHTTPConnection.Response {
        var h: [String: String] = [:]
        if body != nil { h["Content-Type"] = "application/json" }
        if let token { h["Authorization"] = "Bearer \(token)" }
        return try httpRequest(port: port, method, target, headers: h, body: Array((body ?? "").utf8))
    }

    func status(_ id: String) throws -> String? { try request("GET", "/v1/experiments/\(id)").json["status"] as? String }

    /// Polls until `done` holds for the experiment's JSON; returns the last one.
    @discardableResult
    func waitFor(_ id: String, timeout: Double = 20, _ done: ([String: Any]) -> Bool) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String: Any] = [:]
        while Date() < deadline {
            last = (try? request("GET", "/v1/experiments/\(id)").json) ?? [:]
            if done(last) { return last }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return last
    }

    /// Every stored log line of the experiment, oldest first.
    func storedLogs(_ id: String) throws -> [[String: Any]] {
        var all: [[String: Any]] = []
        var after = "0"
        while true {
            let page = try request("GET", "/v1/experiments/\(id)/logs?limit=5000&after=\(after)").json
            let items = page["items"] as? [[String: Any]] ?? []
            all += items
            guard let next = page["next_cursor"] as? String else { return all }
            after = next
        }
    }

    /// Creates an empty database on the test PostgreSQL and returns its URL.
    static func freshDatabase() throws -> String {
        let base = TestDatabase.url
        let name = "sfc_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: base), logger: Logger(label: "test"))
        defer { conn.close() }
        try conn.simpleQuery(unsafeSQL: "CREATE DATABASE \(name)")
        guard let slash = base.lastIndex(of: "/") else { return base }
        let query = base[slash...].firstIndex(of: "?").map { String(base[$0...]) } ?? ""
        return String(base[..<slash]) + "/" + name + query
    }
}

/// The built `signalforge` executable, run as a child process.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
        /// stdout as JSON (`--output json`).
        var json: Any? { try? JSONSerialization.jsonObject(with: Data(stdout.utf8), options: [.fragmentsAllowed]) }
        var object: [String: Any] { json as? [String: Any] ?? [:] }
        var array: [[String: Any]] { json as? [[String: Any]] ?? [] }
        /// stdout as NDJSON.
        var records: [[String: Any]] {
            lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        }
        /// stdout as CSV rows (no quoted newlines in what the tests print).
        var csv: [[String]] { lines.map(CLI.splitCSV) }
    }

    /// `signalforge`, found beside the test bundle in the build products folder.
    static let executable: URL = {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while dir.path != "/" {
            let candidate = dir.appendingPathComponent("signalforge")
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), !isDir.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate.path)
            {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        fatalError("signalforge executable not found near \(CommandLine.arguments[0]); build it first (swift build --build-tests)")
    }()

    /// A running child: its output is collected on background threads.
    final class Running: @unchecked Sendable {
        // @unchecked: the pipes' data is read on one thread each and handed over through `Mutex`es.
        final class Collected: Sendable {
            let data = Mutex<Data>(Data())
        }

        let process = Process()
        private let out = Collected()
        private let err = Collected()
        private let readers = DispatchGroup()

        init(_ args: [String], environment: [String: String], cwd: String?) throws {
            process.executableURL = CLI.executable
            process.arguments = args
            var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SIGNALFORGE_") }
            env.merge(environment) { $1 }
            process.environment = env
            if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
            let o = Pipe()
            let e = Pipe()
            process.standardOutput = o
            process.standardError = e
            process.standardInput = FileHandle.nullDevice
            try process.run()
            for (pipe, box) in [(o, out), (e, err)] {
                readers.enter()
                let handle = pipe.fileHandleForReading
                Thread.detachNewThread { [readers] in
                    while true {
                        let chunk = handle.availableData
                        if chunk.isEmpty { break }
                        box.data.withLock { $0.append(chunk) }
                    }
                    readers.leave()
                }
            }
        }

        /// What it has printed so far.
        var stdoutSoFar: String { String(decoding: out.data.withLock { $0 }, as: UTF8.self) }

        var isRunning: Bool { process.isRunning }

        /// Waits for the exit (killing it after `timeout` seconds).
        func wait(timeout: Double = 60) -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
            if process.isRunning {
                process.terminate()
                process.waitUntilExit()
            }
            process.waitUntilExit()
            _ = readers.wait(timeout: .now() + 10)
            return Result(
                status: process.terminationStatus, stdout: String(decoding: out.data.withLock { $0 }, as: UTF8.self),
                stderr: String(decoding: err.data.withLock { $0 }, as: UTF8.self))
        }
    }

    /// Starts `signalforge experiments <args> --server URL` without waiting.
    static func start(
        _ server: ClientTestServer, _ args: [String], environment: [String: String] = [:], cwd: String? = nil, via url: String? = nil
    ) throws -> Running {
        try Running(["experiments"] + args + ["--server", url ?? server.url], environment: environment, cwd: cwd)
    }

    /// Runs `signalforge experiments <args> --server URL` to its end.
    static func run(
        _ server: ClientTestServer, _ args: [String], environment: [String: String] = [:], cwd: String? = nil, timeout: Double = 60
    ) throws -> Result {
        try start(server, args, environment: environment, cwd: cwd).wait(timeout: timeout)
    }

    /// Runs `signalforge <args>` as given (no `--server`).
    static func raw(_ args: [String], environment: [String: String] = [:], timeout: Double = 60) throws -> Result {
        try Running(args, environment: environment, cwd: nil).wait(timeout: timeout)
    }

    /// Runs `signalforge experiments <args> --server URL` with stdout on a
    /// pseudo-terminal (120 columns), so it behaves as on a terminal.
    static func runInTerminal(
        _ server: ClientTestServer, _ args: [String], environment: [String: String] = [:], timeout: Double = 60
    ) throws -> Result {
        // posix_openpt, grantpt, unlockpt and ptsname_r need _XOPEN_SOURCE, which the Glibc module
        // does not define: look them up in libc.
        typealias Unlock = @convention(c) (Int32) -> Int32
        typealias Name = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32
        let libc = dlopen(nil, RTLD_NOW)
        guard let g = dlsym(libc, "grantpt"), let u = dlsym(libc, "unlockpt"), let n = dlsym(libc, "ptsname_r") else {
            throw CocoaError(.fileReadUnknown)
        }
        let grantpt = unsafeBitCast(g, to: Unlock.self)
        let unlock = unsafeBitCast(u, to: Unlock.self)
        let ptsname = unsafeBitCast(n, to: Name.self)
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY)  // what posix_openpt does on Linux
        var name = [CChar](repeating: 0, count: 128)
        guard master >= 0, grantpt(master) == 0, unlock(master) == 0, ptsname(master, &name, name.count) == 0 else {
            throw CocoaError(.fileReadUnknown)
        }
        let slave = open(String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), O_RDWR | O_NOCTTY)
        guard slave >= 0 else { throw CocoaError(.fileReadUnknown) }
        var size = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        _ = ioctl(slave, UInt(TIOCSWINSZ), &size)
        let process = Process()
        process.executableURL = executable
        process.arguments = ["experiments"] + args + ["--server", server.url]
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SIGNALFORGE_") && $0.key != "NO_COLOR" }
        env["TERM"] = "xterm-256color"
        env.merge(environment) { $1 }
        process.environment = env
        process.standardOutput = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
        let err = Pipe()
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        close(slave)
        let output = Running.Collected()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n <= 0 { break }  // EIO once the child's side is closed
                output.data.withLock { $0.append(contentsOf: buffer[0..<n]) }
            }
            // Closed by the reader, never while it may still read it.
            close(master)
            done.signal()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
        _ = done.wait(timeout: .now() + 5)
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: output.data.withLock { $0 }, as: UTF8.self),
            stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func splitCSV(_ line: String) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(line)
        var i = 0
        while i < chars.count {
            let c = chars[i]
            if quoted {
                if c == "\"" {
                    if i + 1 < chars.count, chars[i + 1] == "\"" {
                        field.append("\"")
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field)
                field = ""
            } else {
                field.append(c)
            }
            i += 1
        }
        fields.append(field)
        chars = []
        return fields
    }
}

// MARK: stages the test servers run

/// Works through `units` ticks `interval` apart: a progress step, a log line
/// per tick (`tick <i>`, field `i`), a checkpoint between ticks. Throws at
/// tick `failAt` when set.
struct TickStage: Stage {
    let name: String
    var units = 20
    var interval = 0.01
    var failAt: Int?

    func run(_ context: StageContext) throws {
        let step = context.progress.child(of: context.node, "ticks", total: Int64(units))
        for i in 0..<units {
            try context.checkpoint()
            if i == failAt { throw TickFailure(tick: i) }
            context.logger.info("tick \(i)", metadata: ["i": "\(i)"])
            context.progress.advance(step, by: 1)
            if interval > 0 { Thread.sleep(forTimeInterval: interval) }
        }
    }
}

struct TickFailure: Error, CustomStringConvertible {
    var tick: Int
    var description: String { "deliberate failure at tick \(tick)" }
}

/// Writes what the real export, fusion and analysis stages would: a CSV
/// artifact (with its SHA-256), fused signals and a backtest report.
struct ResultsStage: Stage {
    let name: String
    /// Bytes of the exported file (big enough for ranged downloads to matter).
    var fileRows = 20_000

    /// Six signals, alternating EURUSD and GBPUSD; four have quality ≥ 0.65 (accepted).
    static func signals() -> [SignalRecord] {
        let qualities: [Double] = [0.9, 0.4, 0.7, 0.66, 0.3, 0.8]
        var out: [SignalRecord] = []
        for i in 0..<qualities.count {
            let symbol = i % 2 == 0 ? "EURUSD" : "GBPUSD"
            let micros: Int64 = 1_700_000_000_000_000 + Int64(i) * 3_600_000_000
            let entry = 1.1 + Double(i) / 100
            out.append(
                SignalRecord(
                    symbol: symbol, timeframe: "1h", timestampMicros: micros, direction: i % 3 == 0 ? "short" : "long", entry: entry,
                    stop: 1.09, target: 1.13, horizonBars: 12, quality: qualities[i], accepted: qualities[i] >= 0.65,
                    components: [0.5, 0.6, 0.7, 0.8, 0.9, 1.0], sources: ["pattern:hammer", "forecast:ar"]))
        }
        return out
    }

    static let report =
        #"{"trades":4,"win_rate":0.75,"profit_factor":2.5,"sharpe":1.2,"max_drawdown":0.05,"equity":[{"ts":"2023-11-14T22:00:00Z","equity":1.0},{"ts":"2023-11-14T23:00:00Z","equity":1.01},{"ts":"2023-11-15T00:00:00Z","equity":1.03}]}"#

    func run(_ context: StageContext) throws {
        try context.checkpoint()
        let dir = context.directory.appendingPathComponent("exports")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var text = "timestamp,eurusd_close\n"
        for i in 0..<fileRows { text += "2024-01-01T00:\(String(format: "%02d", i % 60)):00Z,\(1.1 + Double(i) / 1e6)\n" }
        let bytes = Array(text.utf8)
        let file = dir.appendingPathComponent("features_1h.csv")
        try Data(bytes).write(to: file)
        try context.environment?.recordArtifact(
            ArtifactInfo(
                name: "features_1h.csv", format: "csv", path: file.path, sizeBytes: Int64(bytes.count), sha256: SHA256.hex(bytes),
                rows: Int64(fileRows)),
            experiment: context.experimentID)
        guard let results = context.environment as? any ResultStore else { throw TickFailure(tick: -1) }
        try results.replaceSignals(Self.signals(), experiment: context.experimentID)
        try results.recordReport(Self.report, experiment: context.experimentID)
        context.logger.info("results written")
    }
}
