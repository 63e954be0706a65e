// Engine benchmarks (issue: experiment engine). Build in release and run with
// DATABASE_URL pointing at a PostgreSQL (bench/engine/run.sh does both).
//
//   sf-bench bus        event bus, one publisher
//   sf-bench logs       log pipeline: emit → committed rows, next to a raw COPY
//   sf-bench pause      pause latency (request → paused), p50/p99 over 200 pauses
//   sf-bench sse        emit → SSE client latency at 1,000 lines/s, p50/p99
//   sf-bench followers  200 SSE followers of one experiment: server CPU
import Foundation
import Logging
import MicroHTTP
import Pipeline
import PostgresClient
import Service
import Synchronization
import TestSupport

nonisolated func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
nonisolated func percentile(_ xs: [Double], _ p: Double) -> Double {
    let s = xs.sorted()
    guard !s.isEmpty else { return .nan }
    return s[min(s.count - 1, Int((Double(s.count - 1) * p).rounded()))]
}
nonisolated func ms(_ x: Double) -> String { String(format: "%.2f ms", x * 1000) }

let mode = CommandLine.arguments.dropFirst().first ?? "all"
guard ProcessInfo.processInfo.environment["DATABASE_URL"] != nil else {
    FileHandle.standardError.write(Data("DATABASE_URL is required\n".utf8))
    exit(2)
}
nonisolated var quiet: Logger {
    var l = Logger(label: "bench")
    l.logLevel = .critical
    return l
}
nonisolated var url: String { ProcessInfo.processInfo.environment["DATABASE_URL"]! }

/// A fresh database for each benchmark.
nonisolated func freshDatabase() throws -> String {
    let name = "bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
    let c = try PostgresConnection.connect(try PostgresConfiguration(url: url), logger: quiet)
    defer { c.close() }
    try c.simpleQuery(unsafeSQL: "CREATE DATABASE \(name)")
    let slash = url.lastIndex(of: "/")!
    return String(url[..<slash]) + "/" + name
}

nonisolated func makeApp(_ stages: [any Stage], maxRunning: Int = 2) throws -> Application {
    var s = Settings()
    s.port = 0
    s.databaseURL = try freshDatabase()
    s.dataDir = NSTemporaryDirectory() + "sf-bench-\(UUID().uuidString)"
    s.accessLog = false
    s.maxRunning = maxRunning
    s.poolMax = 16
    let app = try Application(settings: s, logger: quiet, stages: StageRegistry(stages))
    try app.start()
    return app
}

nonisolated func create(_ app: Application, stages: [String]) throws -> String {
    let list = stages.map { "\"\($0)\"" }.joined(separator: ",")
    let body = #"{"name":"bench","datasets":[{"symbol":"A","path":"a.csv"}],"stages":[\#(list)]}"#
    let r = try httpRequest(
        port: app.port, "POST", "/v1/experiments", headers: ["Content-Type": "application/json"], body: Array(body.utf8))
    guard let id = r.json["id"] as? String else { fatalError("create failed: \(r.text)") }
    return id
}

nonisolated func status(_ app: Application, _ id: String) throws -> String {
    try httpRequest(port: app.port, "GET", "/v1/experiments/\(id)").json["status"] as? String ?? ""
}

// MARK: event bus

nonisolated func benchBus() {
    struct Line: Sendable { var id: Int; var message: String }
    let bus = EventBus<Line>()
    let sub = bus.subscribe()
    let n = 10_000_000
    let drained = Atomic<Int>(0)
    let done = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        while drained.load(ordering: .relaxed) < n {
            drained.add(sub.next(max: 65536, timeout: .milliseconds(100)).count, ordering: .relaxed)
        }
        done.signal()
    }
    let t0 = now()
    for i in 0..<n { bus.publish(Line(id: i, message: "line")) }
    let publish = now() - t0
    done.wait()
    let total = now() - t0
    print(
        String(
            format: "event bus: %d events, publish %.0f events/s, delivered to a consumer thread %.0f events/s (target >= 1,000,000)",
            n, Double(n) / publish, Double(n) / total))
}

// MARK: log pipeline

struct Emitter: Stage {
    let name: String
    let lines: Int
    func run(_ context: StageContext) throws {
        for i in 0..<lines {
            if i & 1023 == 0 { try context.checkpoint() }
            context.logger.info("row processed", metadata: ["i": "\(i)"])
        }
    }
}

nonisolated func benchLogs() throws {
    let n = 1_000_000
    // Raw COPY of the same rows into the same (migrated) table, measured in the same run.
    let setup = try makeApp([])
    let rawURL = setup.settings.databaseURL!
    setup.stop()
    let conn = try PostgresConnection.connect(try PostgresConfiguration(url: rawURL), logger: quiet)
    let eid = UUID()
    try conn.execute("INSERT INTO experiments (id, name, status, priority, request) VALUES (\(eid), 'raw', 'running', 'medium', '{}')")
    let rows = 500_000
    let t0 = now()
    var done = 0
    while done < rows {
        let batch = min(5000, rows - done)
        try conn.withTransaction { tx in
            _ = try tx.copyFrom(table: "pipeline_logs", columns: ["experiment_id", "ts", "level", "stage", "message", "fields"]) { w in
                for i in 0..<batch {
                    w.appendField(eid)
                    w.appendField(Date())
                    w.appendField("info")
                    w.appendField("load")
                    w.appendField("row processed")
                    w.appendField(PostgresJSON("{\"i\":\"\(done + i)\"}"))
                    try w.endRow()
                }
            }
        }
        done += batch
    }
    let raw = Double(rows) / (now() - t0)
    conn.close()

    let app = try makeApp([Emitter(name: "load", lines: n)])
    let t1 = now()
    let id = try create(app, stages: ["load"])
    let c2 = try PostgresConnection.connect(try PostgresConfiguration(url: app.settings.databaseURL!), logger: quiet)
    var stored = 0
    // Done when every emitted line (plus the runner's own few) is committed.
    while stored < n {
        Thread.sleep(forTimeInterval: 0.005)
        stored = try c2.query(
            "SELECT count(*) FROM pipeline_logs WHERE experiment_id = \(UUID(uuidString: id)!) AND message = 'row processed'"
        ).first!.decode(0, as: Int.self)
    }
    let elapsed = now() - t1
    c2.close()
    app.stop()
    let rate = Double(stored) / elapsed
    print(
        String(
            format:
                "log pipeline: %d lines emitted → %d committed in %.2f s = %.0f lines/s (target >= 200,000); raw COPY %.0f rows/s; ratio %.2f (target >= 0.5)",
            n, stored, elapsed, rate, raw, rate / raw))
}

// MARK: pause latency

struct Spinner: Stage {
    let name: String
    func run(_ context: StageContext) throws {
        var x = 1.0
        while true {
            try context.checkpoint()
            // ~0.2 ms of arithmetic between checkpoints
            for i in 0..<20_000 { x = x * 1.0000001 + Double(i & 7) }
            if x == .infinity { break }
        }
    }
}

nonisolated func benchPause() throws {
    let app = try makeApp([Spinner(name: "load")])
    let id = try create(app, stages: ["load"])
    while try status(app, id) != "running" { Thread.sleep(forTimeInterval: 0.005) }
    var latencies: [Double] = []
    for _ in 0..<200 {
        let t0 = now()
        let r = try httpRequest(port: app.port, "POST", "/v1/experiments/\(id)/pause")
        guard r.status == 202 else { fatalError("pause: \(r.status) \(r.text)") }
        while try status(app, id) != "paused" {}
        latencies.append(now() - t0)
        _ = try httpRequest(port: app.port, "POST", "/v1/experiments/\(id)/resume")
        while try status(app, id) != "running" {}
    }
    _ = try httpRequest(port: app.port, "POST", "/v1/experiments/\(id)/cancel")
    app.stop()
    print(
        "pause latency (request → paused, 200 pauses of a CPU-bound stage): p50 \(ms(percentile(latencies, 0.5))), p99 \(ms(percentile(latencies, 0.99))), max \(ms(latencies.max()!)) (target p99 <= 50 ms)"
    )
}

// MARK: SSE latency and followers

struct Ticker: Stage {
    let name: String
    let lines: Int
    let interval: Double
    func run(_ context: StageContext) throws {
        let start = now()
        for i in 0..<lines {
            try context.checkpoint()
            let due = start + Double(i) * interval
            let wait = due - now()
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            context.logger.info("tick", metadata: ["t": "\(now())"])
        }
    }
}

enum SSE {
    nonisolated static func read(_ c: RawHTTPConnection, onData: (String) -> Bool) throws {
        var pending = ""
        while let chunk = try c.readChunk() {
            pending += String(decoding: chunk, as: UTF8.self)
            while let r = pending.range(of: "\n\n") {
                let block = String(pending[..<r.lowerBound])
                pending.removeSubrange(..<r.upperBound)
                if block.hasPrefix("event: end") { return }
                if let d = block.split(separator: "\n").first(where: { $0.hasPrefix("data: ") }) {
                    if !onData(String(d.dropFirst(6))) { return }
                }
            }
        }
    }
}

nonisolated func benchSSE() throws {
    let app = try makeApp([Ticker(name: "load", lines: 5000, interval: 0.001)])
    let id = try create(app, stages: ["load"])
    let c = try RawHTTPConnection(port: app.port)
    c.sendRequest("GET", "/v1/experiments/\(id)/logs?follow=true", headers: ["Accept": "text/event-stream"])
    _ = try c.readHead()
    var latencies: [Double] = []
    try SSE.read(c) { data in
        if let obj = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any],
            let fields = obj["fields"] as? [String: Any], let t = (fields["t"] as? String).flatMap(Double.init)
        {
            latencies.append(now() - t)
        }
        return true
    }
    app.stop()
    print(
        "emit → SSE client at 1,000 lines/s (\(latencies.count) lines): p50 \(ms(percentile(latencies, 0.5))), p99 \(ms(percentile(latencies, 0.99))) (target p99 <= 10 ms)"
    )
}

nonisolated func benchFollowers() throws {
    let app = try makeApp([Ticker(name: "load", lines: 6000, interval: 0.001)])
    let id = try create(app, stages: ["load"])
    let received = Atomic<Int>(0)
    let group = DispatchGroup()
    for _ in 0..<200 {
        group.enter()
        Thread.detachNewThread {
            defer { group.leave() }
            guard let c = try? RawHTTPConnection(port: app.port, timeout: 30) else { return }
            c.sendRequest("GET", "/v1/experiments/\(id)/logs?follow=true", headers: ["Accept": "text/event-stream"])
            _ = try? c.readHead()
            try? SSE.read(c) { _ in
                received.add(1, ordering: .relaxed)
                return true
            }
        }
    }
    Thread.sleep(forTimeInterval: 1)
    let server0 = threadCPUSeconds(namePrefix: "MHD").seconds + threadCPUSeconds(namePrefix: "log-follow").seconds
    let t0 = now()
    Thread.sleep(forTimeInterval: 4)
    let server1 = threadCPUSeconds(namePrefix: "MHD").seconds + threadCPUSeconds(namePrefix: "log-follow").seconds
    let cores = (server1 - server0) / (now() - t0)
    _ = group.wait(timeout: .now() + 30)
    app.stop()
    print(
        String(
            format:
                "200 SSE followers of one experiment at 1,000 lines/s: server CPU %.2f cores (HTTP + follow threads; target < 1), %d events delivered",
            cores, received.load(ordering: .relaxed)))
}

switch mode {
case "bus": benchBus()
case "logs": try benchLogs()
case "pause": try benchPause()
case "sse": try benchSSE()
case "followers": try benchFollowers()
case "all":
    benchBus()
    try benchLogs()
    try benchPause()
    try benchSSE()
    try benchFollowers()
default:
    FileHandle.standardError.write(Data("unknown benchmark \(mode)\n".utf8))
    exit(2)
}
exit(0)
