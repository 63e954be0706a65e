import Foundation
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// A real `signalforge serve` process (the product binary, built beside the
/// test bundle), so that its resident memory is its own.
final class ProductServer {
    let process = Process()
    let port: Int
    let dataDir: String

    /// The `signalforge` executable beside the test bundle.
    static func binary() throws -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("signalforge").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        let url = dir.appendingPathComponent("signalforge")
        guard FileManager.default.isExecutableFile(atPath: url.path) else {
            throw RawHTTPConnection.Failure(description: "no signalforge binary beside the tests (swift build --build-tests builds it)")
        }
        return url
    }

    /// Writes `days` of 1m bars of each symbol under `<dataDir>/samples` with `signalforge sample-data`.
    static func sampleData(dataDir: String, symbols: [String], days: Int) throws {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = [
            "sample-data", "--out", dataDir + "/samples", "--symbols", symbols.joined(separator: ","), "--timeframe", "1m",
            "--days", "\(days)", "--seed", "42",
        ]
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw RawHTTPConnection.Failure(description: "sample-data failed") }
    }

    init(databaseURL: String, dataDir: String, arguments: [String]) throws {
        port = try localFreePort()
        self.dataDir = dataDir
        process.executableURL = try Self.binary()
        process.arguments = ["serve", "--port", "\(port)", "--data-dir", dataDir, "--log-level", "warning"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["DATABASE_URL": databaseURL]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        guard eventually(timeout: 30, { (try? httpRequest(port: port, "GET", "/readyz").status) == 200 }) else {
            throw RawHTTPConnection.Failure(description: "signalforge serve did not get ready on port \(port)")
        }
    }

    func request(_ method: String, _ target: String, body: String? = nil) throws -> RawHTTPConnection.Response {
        try httpRequest(
            port: port, method, target, headers: body == nil ? [:] : ["Content-Type": "application/json"], body: Array((body ?? "").utf8))
    }

    /// A field of /proc/<pid>/status in bytes (`VmRSS`, `VmHWM`).
    func status(_ field: String) -> Int64 {
        let text = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
            let kb = Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }

    func events(_ id: String) throws -> [[String: Any]] {
        try request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
    }

    deinit {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

struct MemoryBudgetTests {
    static let mb: Int64 = 1 << 20

    /// A default experiment (every stage, 15m/1h/4h) over three symbols' 1m bars.
    static func defaultExperiment(_ name: String, symbols: [String]) -> String {
        let datasets = symbols.map { #"{"symbol":"\#($0)","path":"samples/\#($0)_1m.csv"}"# }.joined(separator: ",")
        return #"{"name":"\#(name)","datasets":[\#(datasets)],"timeframes":["15m","1h","4h"]}"#
    }

    /// Three default experiments at once under a 256 MB budget, in a real
    /// server process: all succeed, its peak RSS (VmHWM) stays within the
    /// budget + 96 MB, the events show admission waits rather than overruns,
    /// and once idle its RSS comes back within 64 MB of the start-up figure.
    /// `SF_MEMORY_TEST_DAYS` sets the data (default 120 days of 1m bars per symbol).
    @Test func threeConcurrentDefaultExperimentsUnderA256MBBudget() throws {
        let days = Int(ProcessInfo.processInfo.environment["SF_MEMORY_TEST_DAYS"] ?? "") ?? 120
        let url = try TestApp.freshDatabase()
        let dataDir = NSTemporaryDirectory() + "sf-memory-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let symbols = ["EURUSD", "GBPUSD", "USDJPY"]
        try ProductServer.sampleData(dataDir: dataDir, symbols: symbols, days: days)
        let server = try ProductServer(databaseURL: url, dataDir: dataDir, arguments: ["--memory-budget-mb", "256", "--max-running", "3"])
        // Start-up figure: once the server answers and has settled.
        Thread.sleep(forTimeInterval: 0.5)
        let startup = server.status("VmRSS")
        #expect(startup > 0)

        var ids: [String] = []
        for i in 0..<3 {
            let r = try server.request("POST", "/v1/experiments", body: Self.defaultExperiment("mem-\(i)", symbols: symbols))
            #expect(r.status == 201)
            ids.append(try #require(r.json["id"] as? String))
        }
        var statuses: [String] = []
        _ = try eventually(timeout: 900) {
            statuses = try ids.map { try server.request("GET", "/v1/experiments/\($0)").json["status"] as? String ?? "" }
            return statuses.allSatisfy { ["succeeded", "failed", "cancelled"].contains($0) }
        }
        #expect(statuses == ["succeeded", "succeeded", "succeeded"])
        let peak = server.status("VmHWM")
        #expect(peak <= (256 + 96) * Self.mb, "peak RSS \(peak / Self.mb) MB over the 256 MB budget + 96 MB")

        let kinds = try ids.flatMap { try server.events($0).compactMap { $0["kind"] as? String } }
        let waits = kinds.filter { $0 == "admission_wait" }.count
        // The estimate of one default experiment leaves no room for three: the
        // later ones wait to be admitted instead of overrunning the budget.
        #expect(waits >= 1, "events: \(kinds)")

        // Memory back: once idle, RSS returns within 64 MB of start-up.
        var idle: Int64 = 0
        let back = eventually(timeout: 30) {
            idle = server.status("VmRSS")
            return idle <= startup + 64 * Self.mb
        }
        #expect(back, "idle RSS \(idle / Self.mb) MB against \(startup / Self.mb) MB at start-up")
        print("memory: startup \(startup / Self.mb) MB, peak \(peak / Self.mb) MB, idle \(idle / Self.mb) MB, admission waits \(waits)")
    }

    /// Under a budget far below what the process uses (16 MB: the pressure is
    /// `spill` from the first sample), a default experiment succeeds, its
    /// stages stream their tables through disk (`memory_streaming` events from
    /// merge, features and fusion, after `memory_critical`), and its files are
    /// those of the same experiment run without a budget, byte for byte
    /// (`report.json` apart from its id and timing fields).
    @Test func aTinyBudgetStreamsEveryStageAndWritesTheSameFiles() throws {
        let body = ResumeReproducesTests.body
        let free = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        try StageTests.sample(free, days: 30)
        let clean = try free.create(body)
        let cleanDone = try free.waitFor(clean, timeout: 300, StageTests.finished)
        #expect(cleanDone["status"] as? String == "succeeded", "\(cleanDone)")
        let cleanKinds = try free.request("GET", "/v1/experiments/\(clean)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(!cleanKinds.contains { $0["kind"] as? String == "memory_streaming" }, "streamed without pressure")

        let tiny = try TestApp(stages: StageRegistry(SignalForgeStages.all), configure: { $0.memoryBudgetMB = 16 })
        try StageTests.sample(tiny, days: 30)
        let spilled = try tiny.create(body)
        let done = try tiny.waitFor(spilled, timeout: 300, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")

        let events = try tiny.request("GET", "/v1/experiments/\(spilled)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        let kinds = events.compactMap { $0["kind"] as? String }
        #expect(kinds.contains("memory_warning") && kinds.contains("memory_critical"), "\(kinds)")
        let streamed = events.filter { $0["kind"] as? String == "memory_streaming" }.compactMap {
            ($0["details"] as? [String: Any])?["stage"] as? String
        }
        for stage in ["merge", "features", "patterns", "forecast", "fusion", "export", "analysis"] {
            #expect(streamed.contains(stage), "\(stage) did not stream: \(streamed)")
        }
        #expect(
            !tiny.logs.messages("memory pressure: tables stream through their checkpoint files, read back one timeframe at a time").isEmpty)

        let expected = try ResumeReproducesTests.digests(free, clean)
        let got = try ResumeReproducesTests.digests(tiny, spilled)
        #expect(expected.count >= 10 && Set(got.keys) == Set(expected.keys), "\(got.keys.sorted()) against \(expected.keys.sorted())")
        for (name, digest) in expected.sorted(by: { $0.key < $1.key }) where name != "report.json" {
            #expect(got[name] == digest, "\(name) differs from the unconstrained run's")
        }
        #expect(try ResumeReproducesTests.report(tiny, spilled) == ResumeReproducesTests.report(free, clean))
    }

    /// A run that starts while memory is already over 80 % and 90 % of the
    /// budget gets `memory_warning` and `memory_critical` at its start, even
    /// though the process crossed those thresholds during an earlier run.
    @Test func aRunStartedUnderPressureGetsTheEventsAtItsStart() throws {
        let t = try TestApp(
            stages: StageRegistry([ChunkedStage(name: "load", units: 60, chunkSeconds: 0.01)]), configure: { $0.memoryBudgetMB = 16 })
        let first = try t.create(body("first", stages: ["load"]))
        try t.waitFor(first, timeout: 20) { $0["status"] as? String == "succeeded" }
        let second = try t.create(body("second", stages: ["load"]))
        try t.waitFor(second, timeout: 20) { $0["status"] as? String == "succeeded" }
        for id in [first, second] {
            let events = try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
            let kinds = events.compactMap { $0["kind"] as? String }
            #expect(kinds.contains("memory_warning"), "\(id): \(kinds)")
            #expect(kinds.contains("memory_critical"), "\(id): \(kinds)")
            // At its start: before its stage completed.
            let warning = kinds.firstIndex(of: "memory_warning") ?? Int.max
            let completed = kinds.firstIndex(of: "stage_completed") ?? -1
            #expect(warning < completed, "\(id): \(kinds)")
        }
    }

    /// With the budget already used up, a second experiment waits queued (an
    /// `admission_wait` event, a log line) while the first runs alone, then runs.
    @Test func admissionKeepsTheNextExperimentQueuedUntilTheBudgetHasRoom() throws {
        let t = try TestApp(
            stages: StageRegistry([ChunkedStage(name: "load", units: 80, chunkSeconds: 0.01)]),
            configure: {
                $0.memoryBudgetMB = 16; $0.maxRunning = 3
            })
        let first = try t.create(body("first", stages: ["load"]))
        try t.waitFor(first) { $0["status"] as? String == "running" }
        let second = try t.create(body("second", stages: ["load"]))
        // While the first runs, the second stays queued and is told why.
        #expect(
            eventually(timeout: 10) {
                let kinds =
                    (try? t.request("GET", "/v1/experiments/\(second)/events?limit=100").json["items"] as? [[String: Any]])?
                    .compactMap { $0["kind"] as? String } ?? []
                return kinds.contains("admission_wait")
            })
        let firstNow = try t.request("GET", "/v1/experiments/\(first)").json["status"] as? String
        let secondNow = try t.request("GET", "/v1/experiments/\(second)").json["status"] as? String
        if firstNow == "running" { #expect(secondNow == "queued") }
        #expect(!t.logs.messages("admission wait").isEmpty)
        try t.waitFor(second, timeout: 30) { $0["status"] as? String == "succeeded" }
        #expect(try t.status(first) == "succeeded")
        // The second started only after the first ended.
        let events = try t.request("GET", "/v1/experiments/\(second)/events?limit=100").json["items"] as? [[String: Any]] ?? []
        let kinds = events.compactMap { $0["kind"] as? String }
        #expect(kinds.firstIndex(of: "admission_wait")! < kinds.firstIndex(of: "started")!)
    }
}
