import Foundation
import Logging
import MicroHTTP
import Pipeline
import PostgresClient
import Store
import Synchronization

extension LogRecord {
    var json: String {
        """
        {"id":\(id),"ts":\(JSONText.quote(Timestamps.iso8601(ts))),"level":"\(level)","stage":\(stage.map(JSONText.quote) ?? "null"),\
        "message":\(JSONText.quote(message)),"fields":\(fields)}
        """
    }
}

/// Which lines a reader wants.
struct LogFilter: Sendable {
    /// Levels to include (nil: all).
    var levels: [String]?
    var stage: String?

    func accepts(_ r: LogRecord) -> Bool {
        (levels == nil || levels!.contains(r.level)) && (stage == nil || r.stage == stage)
    }

    static let order = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// `level=warning` selects warning and above.
    static func levels(atLeast level: String) -> [String]? {
        guard let i = order.firstIndex(of: level) else { return nil }
        return Array(order[i...])
    }
}

/// Serves every live log follower of this instance from one thread: it
/// LISTENs on `sf_logs`, and on each notification reads the new committed
/// rows of the experiments followed and writes them to their streams. A
/// follower registers with the last id it has seen (`Last-Event-ID`), so the
/// hub's first read is also its catch-up: no gap and no duplicate, whether the
/// lines were written before or after it connected. Idle streams cost nothing:
/// their connections stay suspended until there is something to send.
final class LogFollowHub: Sendable {
    enum Format: Sendable { case sse, ndjson }

    final class Follower: Sendable {
        let key = UUID()
        let experimentID: UUID
        let filter: LogFilter
        let format: Format
        let stream: ResponseStream
        let lastID: Atomic<Int64>

        init(experimentID: UUID, after: Int64, filter: LogFilter, format: Format, stream: ResponseStream) {
            self.experimentID = experimentID
            self.filter = filter
            self.format = format
            self.stream = stream
            self.lastID = Atomic(after)
        }
    }

    let pool: PostgresPool
    let store: ExperimentStore
    let configuration: PostgresConfiguration
    let logger: Logger
    private let followers = Mutex<[UUID: Follower]>([:])
    private let dirty = Mutex<Set<UUID>>([])
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    /// How often idle streams get a keep-alive (finds clients that left).
    let heartbeat: Duration

    init(pool: PostgresPool, configuration: PostgresConfiguration, logger: Logger, heartbeat: Duration = .seconds(15)) {
        self.pool = pool
        self.store = ExperimentStore(pool: pool)
        self.configuration = configuration
        self.logger = logger
        self.heartbeat = heartbeat
    }

    var followerCount: Int { followers.withLock { $0.count } }

    func start() {
        let t = Thread { [self] in loop() }
        started.store(true, ordering: .releasing)
        t.name = "log-follow"
        t.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        guard started.load(ordering: .acquiring) else { return }
        _ = try? pool.withConnection { try $0.execute("SELECT pg_notify(\(LogWriter.channel), '')") }
        _ = exited.wait(timeout: .now() + 5)
        let all = followers.withLock { f -> [Follower] in
            defer { f.removeAll() }
            return Array(f.values)
        }
        for f in all { f.stream.finish() }
    }

    /// Adds a follower; its catch-up starts at once.
    func add(_ f: Follower) throws {
        followers.withLock { $0[f.key] = f }
        f.stream.onClose { [weak self] in _ = self?.followers.withLock { $0.removeValue(forKey: f.key) } }
        dirty.withLock { _ = $0.insert(f.experimentID) }
        try pool.withConnection { try $0.execute("SELECT pg_notify(\(LogWriter.channel), \(f.experimentID.uuidString.lowercased()))") }
    }

    private func loop() {
        var listener: PostgresConnection?
        var lastBeat = ContinuousClock.now
        while !stopping.load(ordering: .acquiring) {
            do {
                if listener == nil || listener?.isOpen == false {
                    listener?.close()
                    let c = try PostgresConnection.connect(configuration, logger: logger)
                    try c.listen(LogWriter.channel)
                    listener = c
                    // Notifications may have been missed while we were away: catch everyone up.
                    dirty.withLock { d in for f in followers.withLock({ Array($0.values) }) { d.insert(f.experimentID) } }
                }
                var notified = dirty.withLock { d -> Set<UUID> in
                    defer { d.removeAll() }
                    return d
                }
                if notified.isEmpty, let n = try listener!.waitForNotification(timeout: .seconds(1)) {
                    for part in n.payload.split(separator: ",") { if let id = UUID(uuidString: String(part)) { notified.insert(id) } }
                    while let more = try listener!.waitForNotification(timeout: .zero) {
                        for part in more.payload.split(separator: ",") {
                            if let id = UUID(uuidString: String(part)) { notified.insert(id) }
                        }
                    }
                }
                if !notified.isEmpty { try deliver(to: notified) }
                if lastBeat.duration(to: .now) >= heartbeat {
                    lastBeat = .now
                    for f in followers.withLock({ Array($0.values) }) {
                        _ = f.stream.write(f.format == .sse ? ": keep-alive\n\n" : "\n")
                    }
                }
            } catch {
                logger.warning("log follow: PostgreSQL unavailable; retrying", metadata: ["error": "\(error)"])
                listener?.close()
                listener = nil
                Thread.sleep(forTimeInterval: 0.5)
            }
        }
        listener?.close()
        exited.signal()
    }

    /// Sends new rows of the notified experiments to their followers, and the
    /// final event when an experiment has ended.
    private func deliver(to experiments: Set<UUID>) throws {
        let all = followers.withLock { Array($0.values) }
        for experiment in experiments {
            let mine = all.filter { $0.experimentID == experiment && !$0.stream.isClosed }
            guard !mine.isEmpty else { continue }
            // The state first, then the rows: the engine commits every line of a
            // run before its final state (`beforeFinish`), so when the state read
            // here is final, the rows read after it include the last line. (Rows
            // first and state second could end a stream one line short.)
            let status = try store.status(experiment)
            let from = mine.map { $0.lastID.load(ordering: .relaxed) }.min() ?? 0
            var cursor = from
            while true {
                let rows = try store.logs(experiment, after: cursor, levels: nil, stage: nil, limit: 5000)
                for f in mine {
                    let seen = f.lastID.load(ordering: .relaxed)
                    var out = ""
                    for row in rows where row.id > seen && f.filter.accepts(row) { out += Self.frame(row, f.format) }
                    if !out.isEmpty { f.stream.write(out) }
                    if let last = rows.last, last.id > seen { f.lastID.store(last.id, ordering: .relaxed) }
                }
                guard rows.count == 5000, let last = rows.last else { break }
                cursor = last.id
            }
            if let status, ["succeeded", "failed", "cancelled"].contains(status) {
                for f in mine {
                    f.stream.write(Self.end(status, f.format))
                    f.stream.finish()
                }
            }
        }
    }

    static func frame(_ row: LogRecord, _ format: Format) -> String {
        switch format {
        case .sse: "id: \(row.id)\nevent: log\ndata: \(row.json)\n\n"
        case .ndjson: row.json + "\n"
        }
    }

    static func end(_ status: String, _ format: Format) -> String {
        switch format {
        case .sse: "event: end\ndata: {\"status\":\"\(status)\"}\n\n"
        case .ndjson: "{\"event\":\"end\",\"status\":\"\(status)\"}\n"
        }
    }
}
