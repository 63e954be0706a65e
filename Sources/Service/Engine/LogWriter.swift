import Foundation
import Logging
import Pipeline
import PostgresClient
import Synchronization

/// Moves experiment log lines from the log bus into `pipeline_logs` with
/// COPY, on a thread it owns. Group commit: it takes whatever is waiting (up
/// to `maxBatch`), writes it in one transaction, and goes back for more, so a
/// line waits at most one batch (a few ms) and never more than `maxDelay`
/// (250 ms). Each commit NOTIFYs `sf_logs` with the experiment ids, which is
/// how live followers on every instance learn of new rows.
///
/// It never drops a line: while PostgreSQL is unreachable it keeps the lines
/// and retries with backoff.
final class LogWriter: Sendable {
    static let channel = "sf_logs"
    let pool: PostgresPool
    let subscription: Subscription<LogLine>
    let logger: Logger
    let maxBatch: Int
    let maxDelay: Duration
    private let written = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    private let backlog = Mutex<[LogLine]>([])

    init(pool: PostgresPool, bus: EventBus<LogLine>, logger: Logger, maxBatch: Int = 5000, maxDelay: Duration = .milliseconds(250)) {
        self.pool = pool
        self.subscription = bus.subscribe()
        self.logger = logger
        self.maxBatch = maxBatch
        self.maxDelay = maxDelay
    }

    /// Lines committed so far.
    var writtenCount: Int { written.load(ordering: .relaxed) }

    /// Waits until `count` lines in all have been committed (at most `timeout`).
    func waitUntilWritten(_ count: Int, timeout: Duration = .seconds(5)) {
        let deadline = ContinuousClock.now + timeout
        while written.load(ordering: .acquiring) < count, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.001)
        }
    }

    /// Lines waiting to be written.
    var pendingCount: Int { subscription.pendingCount + backlog.withLock { $0.count } }

    func start() {
        let t = Thread { [self] in loop() }
        started.store(true, ordering: .releasing)
        t.name = "log-writer"
        t.start()
    }

    /// Writes what is waiting, then stops (waits up to `timeout`).
    func stop(timeout: Duration = .seconds(10)) {
        stopping.store(true, ordering: .releasing)
        guard started.load(ordering: .acquiring) else { return }
        let (s, a) = timeout.components
        _ = exited.wait(timeout: .now() + Double(s) + Double(a) / 1e18)
    }

    private func loop() {
        var backoff = 0.05
        while true {
            var batch = backlog.withLock { b -> [LogLine] in
                defer { b.removeAll() }
                return b
            }
            if batch.count < maxBatch {
                let more = batch.isEmpty ? subscription.next(max: maxBatch, timeout: maxDelay) : subscription.poll(max: maxBatch - batch.count)
                batch.append(contentsOf: more)
            }
            if batch.isEmpty {
                if stopping.load(ordering: .acquiring) { break }
                continue
            }
            do {
                try write(batch)
                written.add(batch.count, ordering: .releasing)
                backoff = 0.05
            } catch {
                // Keep every line; try again once PostgreSQL answers.
                backlog.withLock { $0.insert(contentsOf: batch, at: 0) }
                logger.warning("log writer: PostgreSQL write failed; keeping lines and retrying",
                               metadata: ["lines": "\(batch.count)", "error": "\(error)"])
                if stopping.load(ordering: .acquiring), backoff > 2 { break }
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 2)
            }
        }
        exited.signal()
    }

    private func write(_ batch: [LogLine]) throws {
        try pool.withTransaction { tx in
            _ = try tx.copyFrom(table: "pipeline_logs", columns: ["experiment_id", "ts", "level", "stage", "message", "fields"]) { w in
                for line in batch {
                    w.appendField(line.experimentID)
                    w.appendField(Date(timeIntervalSince1970: Double(line.micros) / 1_000_000))
                    w.appendField(line.level.rawValue)
                    if let stage = line.stage { w.appendField(stage) } else { w.appendNull() }
                    w.appendField(line.message.contains("\0") ? line.message.replacingOccurrences(of: "\0", with: "\u{FFFD}") : line.message)
                    w.appendField(PostgresJSON(line.fields))
                    try w.endRow()
                }
            }
            let ids = Set(batch.map(\.experimentID)).map { $0.uuidString.lowercased() }.sorted().joined(separator: ",")
            try tx.execute("SELECT pg_notify(\(Self.channel), \(ids))")
        }
    }
}
