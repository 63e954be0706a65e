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
/// (up to `maxBuffered` in memory, the rest in spill files under the data
/// root, oldest first) and retries with backoff. Each line is stored once:
/// its `line_key`, given when the writer takes it, makes a retried batch
/// insert nothing twice.
///
/// Fencing: a runner's line carries its run's generation, and is refused (not
/// stored, counted in ``refusedCount``) once the experiment moved on to
/// another generation — a stale runner's late lines, as for its other writes.
/// Lines of an experiment that no longer exists are refused too.
final class LogWriter: Sendable {
    static let channel = "sf_logs"
    let pool: PostgresPool
    let subscription: Subscription<LogLine>
    let logger: Logger
    let maxBatch: Int
    let maxDelay: Duration
    private let written = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    private let backlogCount = Atomic<Int>(0)
    private let spilled = Atomic<Int>(0)
    /// Lines held in memory while PostgreSQL is away before they go to disk.
    let maxBuffered: Int
    /// Where lines wait on disk during a long outage (nil: keep them in memory).
    let spillDirectory: URL?

    init(
        pool: PostgresPool, bus: EventBus<LogLine>, logger: Logger, maxBatch: Int = 5000, maxDelay: Duration = .milliseconds(250),
        maxBuffered: Int = 200_000, spillDirectory: URL? = nil
    ) {
        self.maxBuffered = max(1, maxBuffered)
        self.spillDirectory = spillDirectory
        self.pool = pool
        self.subscription = bus.subscribe()
        self.logger = logger
        self.maxBatch = maxBatch
        self.maxDelay = maxDelay
    }

    /// Lines handled so far: committed, or refused (``refusedCount``).
    var writtenCount: Int { written.load(ordering: .relaxed) }

    /// Lines refused so far: their run's generation was superseded, or their experiment is gone.
    var refusedCount: Int { refused.load(ordering: .relaxed) }

    /// Waits until `count` lines in all have been handled (at most `timeout`).
    func waitUntilWritten(_ count: Int, timeout: Duration = .seconds(5)) {
        let deadline = ContinuousClock.now + timeout
        while written.load(ordering: .acquiring) < count, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.001)
        }
    }

    /// Lines waiting to be written.
    var pendingCount: Int { subscription.pendingCount + backlogCount.load(ordering: .relaxed) }

    /// Lines that went through a spill file so far.
    var spilledCount: Int { spilled.load(ordering: .relaxed) }

    /// Spill files waiting to be stored now (0 while PostgreSQL keeps up).
    var spillFileCount: Int { spillFilesNow.load(ordering: .relaxed) }
    private let spillFilesNow = Atomic<Int>(0)

    func start() {
        // Lines a previous process spilled and could not store: they go first.
        if let dir = spillDirectory,
            let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path)
        {
            spillFiles = names.filter { $0.hasPrefix("logs-") && $0.hasSuffix(".ndjson") }.sorted().map { dir.appendingPathComponent($0) }
            spillSequence = spillFiles.count
            if !spillFiles.isEmpty { logger.notice("log writer: replaying spill files", metadata: ["files": "\(spillFiles.count)"]) }
        }
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

    /// A line and the key that names it in `pipeline_logs.line_key`, given
    /// once when the writer takes it: a batch retried after an ambiguous
    /// failure (the commit went through, its answer was lost) stores each line once.
    struct KeyedLine {
        var line: LogLine
        var key: String
    }
    /// This writer's prefix of line keys (unique per process start).
    private let keyPrefix = UUID().uuidString.lowercased()
    private nonisolated(unsafe) var keySequence = 0

    private func keyed(_ lines: [LogLine]) -> [KeyedLine] {
        lines.map { l in
            keySequence += 1
            return KeyedLine(line: l, key: "\(keyPrefix):\(keySequence)")
        }
    }

    private func loop() {
        var backoff = 0.05
        var memory: [KeyedLine] = []  // oldest first; older lines still may be in spill files
        var memoryHead = 0  // lines before this index are already stored
        while true {
            // Take what has arrived (this also keeps the bus's buffer small during an outage).
            let fresh =
                memoryHead == memory.count && spillFiles.isEmpty
                ? subscription.next(max: maxBatch, timeout: maxDelay) : subscription.poll(max: maxBatch)
            if memoryHead > 0, memoryHead >= memory.count / 2 {
                memory.removeFirst(memoryHead)  // amortized: only once half is stored
                memoryHead = 0
            }
            memory.append(contentsOf: keyed(fresh))
            if memory.count - memoryHead > maxBuffered {
                memory.removeFirst(memoryHead)
                memoryHead = 0
                spill(&memory)
            }
            backlogCount.store(memory.count - memoryHead, ordering: .relaxed)

            let fromSpill = spillFiles.first
            let batch: [KeyedLine]
            if let file = fromSpill {
                batch = readSpill(file)
            } else {
                batch = Array(memory[memoryHead..<min(memory.count, memoryHead + maxBatch)])
            }
            if batch.isEmpty {
                if let file = fromSpill { removeSpill(file) }
                if stopping.load(ordering: .acquiring) && memoryHead == memory.count && spillFiles.isEmpty && subscription.pendingCount == 0
                {
                    break
                }
                continue
            }
            do {
                let refusedNow = try write(batch)
                if refusedNow > 0 {
                    refused.add(refusedNow, ordering: .relaxed)
                    logger.notice(
                        "log writer: refused lines of a superseded run or of a deleted experiment", metadata: ["lines": "\(refusedNow)"])
                }
                written.add(batch.count, ordering: .releasing)
                if let file = fromSpill { removeSpill(file) } else { memoryHead += batch.count }
                backoff = 0.05
            } catch {
                // Keep every line (in memory, then on disk); try again once PostgreSQL answers.
                logger.warning(
                    "log writer: PostgreSQL write failed; keeping lines and retrying",
                    metadata: ["buffered": "\(memory.count - memoryHead)", "spill_files": "\(spillFiles.count)", "error": "\(error)"])
                if stopping.load(ordering: .acquiring), backoff >= 2 {
                    memory.removeFirst(memoryHead)
                    memoryHead = 0
                    spill(&memory)
                    break
                }
                Thread.sleep(forTimeInterval: backoff)
                backoff = min(backoff * 2, 2)
            }
        }
        exited.signal()
    }

    // MARK: spilling (touched only by the writer thread)

    private nonisolated(unsafe) var spillFiles: [URL] = [] {
        didSet { spillFilesNow.store(spillFiles.count, ordering: .relaxed) }
    }

    /// Moves every line held in memory to a new spill file (oldest files first).
    private func spill(_ memory: inout [KeyedLine]) {
        guard !memory.isEmpty, let dir = spillDirectory else { return }
        var text = ""
        for k in memory {
            let l = k.line
            let obj: [String: Any] = [
                "e": l.experimentID.uuidString, "t": l.micros, "l": l.level.rawValue, "s": l.stage ?? NSNull(), "m": l.message,
                "f": l.fields,
                "k": k.key,
                "g": l.generation.map { NSNumber(value: $0) } ?? NSNull(),
            ]
            if let d = try? JSONSerialization.data(withJSONObject: obj) { text += String(decoding: d, as: UTF8.self) + "\n" }
        }
        spillSequence += 1
        let stamp = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let file = dir.appendingPathComponent(String(format: "logs-%016lld-%06d.ndjson", stamp, spillSequence))
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: file)
            spillFiles.append(file)
            spilled.add(memory.count, ordering: .relaxed)
            logger.warning(
                "log writer: spilled lines to disk while PostgreSQL is away",
                metadata: ["lines": "\(memory.count)", "file": "\(file.path)"])
            memory.removeAll()
        } catch {
            logger.error("log writer: cannot spill to disk; keeping lines in memory", metadata: ["error": "\(error)"])
        }
    }

    private nonisolated(unsafe) var spillSequence = 0

    private func readSpill(_ file: URL) -> [KeyedLine] {
        guard let text = try? String(contentsOf: file, encoding: .utf8) else { return [] }
        var out: [KeyedLine] = []
        for line in text.split(separator: "\n") {
            guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let e = (o["e"] as? String).flatMap(UUID.init(uuidString:)), let t = (o["t"] as? NSNumber)?.int64Value,
                let level = (o["l"] as? String).flatMap(Logger.Level.init(rawValue:)), let m = o["m"] as? String, let f = o["f"] as? String
            else { continue }
            let line = LogLine(
                experimentID: e, micros: t, level: level, stage: o["s"] as? String, message: m, fields: f,
                generation: (o["g"] as? NSNumber)?.int64Value)
            // Files of an older build carry no key: they get one now (their retry after an ambiguous failure may repeat).
            if let k = o["k"] as? String { out.append(KeyedLine(line: line, key: k)) } else { out.append(contentsOf: keyed([line])) }
        }
        return out
    }

    private func removeSpill(_ file: URL) {
        try? FileManager.default.removeItem(at: file)
        spillFiles.removeFirst()
    }

    /// Stores `batch` in one transaction, except the lines it refuses.
    /// - Returns: how many lines were refused (see the type's fencing note).
    private func write(_ batch: [KeyedLine]) throws -> Int {
        try pool.withTransaction { tx in
            // The batch's experiments and their generations, read without a lock: a
            // row lock held here by a process that then stalls (SIGSTOP, a frozen VM:
            // its connection stays open) would make the lease recovery's
            // `FOR UPDATE SKIP LOCKED` skip the experiment for as long as the stall
            // lasts (LeaseTests.aStalledOwnerIsFencedOutWhenItWakes found it). What is
            // left open is a takeover committed during this one transaction: that
            // batch's lines, emitted before the takeover, are still stored.
            let ids = Set(batch.map(\.line.experimentID)).map { $0.uuidString.lowercased() }.sorted().joined(separator: ",")
            var current: [UUID: Int64] = [:]
            for row in try tx.query(
                "SELECT id, generation FROM experiments WHERE id = ANY(string_to_array(\(ids), ',')::uuid[]) ORDER BY id")
            {
                current[try row.decode(0, as: UUID.self)] = try row.decode(1, as: Int64.self)
            }
            let accepted = batch.filter { keyed in
                guard let now = current[keyed.line.experimentID] else { return false }
                return keyed.line.generation.map { $0 == now } ?? true
            }
            guard !accepted.isEmpty else { return batch.count }
            // COPY into a session's staging table, then insert what is not stored yet, in order.
            try tx.execute(
                """
                CREATE TEMP TABLE IF NOT EXISTS sf_log_staging (
                    seq bigint, experiment_id uuid, ts timestamptz, level text, stage text, message text, fields jsonb, line_key text
                ) ON COMMIT DELETE ROWS
                """)
            _ = try tx.copyFrom(
                table: "sf_log_staging", columns: ["seq", "experiment_id", "ts", "level", "stage", "message", "fields", "line_key"]
            ) { w in
                for (seq, keyed) in accepted.enumerated() {
                    let line = keyed.line
                    w.appendField(seq)
                    w.appendField(line.experimentID)
                    w.appendField(Date(timeIntervalSince1970: Double(line.micros) / 1_000_000))
                    w.appendField(line.level.rawValue)
                    if let stage = line.stage { w.appendField(stage) } else { w.appendNull() }
                    w.appendField(
                        line.message.utf8.contains(0) ? line.message.replacingOccurrences(of: "\0", with: "\u{FFFD}") : line.message)
                    w.appendField(PostgresJSON(line.fields))
                    w.appendField(keyed.key)
                    try w.endRow()
                }
            }
            try tx.execute(
                """
                INSERT INTO pipeline_logs (experiment_id, ts, level, stage, message, fields, line_key)
                SELECT experiment_id, ts, level, stage, message, fields, line_key FROM sf_log_staging s
                -- Lines of an experiment deleted meanwhile are dropped (they would fail the batch forever).
                WHERE EXISTS (SELECT 1 FROM experiments e WHERE e.id = s.experiment_id)
                ORDER BY seq
                ON CONFLICT (line_key) WHERE line_key IS NOT NULL DO NOTHING
                """)
            let stored = Set(accepted.map(\.line.experimentID)).map { $0.uuidString.lowercased() }.sorted().joined(separator: ",")
            try tx.execute("SELECT pg_notify(\(Self.channel), \(stored))")
            return batch.count - accepted.count
        }
    }
}
