import Foundation
import Logging
import Pipeline
import PostgresClient
import Store
import Synchronization

/// One thread that, for the experiments running here, writes progress trees
/// to `pipeline_progress` (at most every 250 ms each, only when they changed,
/// and once more at the end), samples resources into `pipeline_metrics`
/// (every `metricsInterval`, default 2 s: RSS, CPU %, rows/s), watches the
/// memory budget (80 % and 90 % are `memory_warning` / `memory_critical`
/// events of each running experiment as it crosses them, including one that
/// starts under pressure), gives freed heap back to the OS when runs end
/// (`malloc_trim`, and again 1 s later), and probes PostgreSQL every 5 s
/// (``databaseUp``).
///
/// Rows/s is throughput over the last sampling interval: the rows (or bars)
/// every stage counted in its progress since the experiment's previous
/// sample, per second. When none completed in that interval (one long
/// indivisible call), it is the running stage's average since it started.
/// A sample of a young stage that has no average yet and moved no row since
/// the previous sample (a file still opening on a busy host) waits for its
/// first rows, up to one more interval (at least 1 s); a stage that counts
/// nothing for longer has empty rows/s.
final class EngineSampler: Sendable {
    let pool: PostgresPool
    let engine: Engine
    let memory: MemoryMonitor
    let logger: Logger
    let progressInterval: Duration
    let metricsInterval: Duration
    private let versions = Mutex<[UUID: Int]>([:])
    /// Rows counted by each experiment's stages at its previous sample.
    private let windows = Mutex<[UUID: (rows: Int64, at: ContinuousClock.Instant)]>([:])
    /// 1 when the last probe of PostgreSQL answered, 0 when it did not, -1 before the first.
    let databaseUp = Atomic<Int>(-1)
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)

    init(
        pool: PostgresPool, engine: Engine, memory: MemoryMonitor, logger: Logger,
        progressInterval: Duration = .milliseconds(250), metricsInterval: Duration = .seconds(2)
    ) {
        self.pool = pool
        self.engine = engine
        self.memory = memory
        self.logger = logger
        self.progressInterval = progressInterval
        self.metricsInterval = metricsInterval
    }

    func start() {
        started.store(true, ordering: .releasing)
        let t = Thread { [self] in loop() }
        t.name = "engine-sampler"
        t.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        guard started.load(ordering: .acquiring) else { return }
        _ = exited.wait(timeout: .now() + 5)
    }

    private func loop() {
        var lastMetrics = ContinuousClock.now
        var lastCPU = MemoryMonitor.processCPUSeconds()
        var lastWall = ContinuousClock.now
        var lastProbe: ContinuousClock.Instant?
        // Each experiment's sample that is due, since when (a young stage's waits for its first rows).
        var due: [UUID: ContinuousClock.Instant] = [:]
        // The pressure each running experiment last saw (its events fire on crossings from there).
        var seen: [UUID: MemoryPressure] = [:]
        var lastIDs: Set<UUID> = []
        // When to trim once more after a run ended.
        var trimDue: ContinuousClock.Instant?
        while !stopping.load(ordering: .acquiring) {
            Thread.sleep(forTimeInterval: Self.seconds(min(progressInterval, metricsInterval)))
            if lastProbe.map({ $0.duration(to: .now) >= .seconds(5) }) ?? true {
                probeDatabase()
                lastProbe = .now
            }
            flushPending()
            let running = engine.runningProgress
            for (id, tree) in running where versions.withLock({ $0[id] }) != tree.version {
                writeProgress(id, tree)
            }
            let (pressure, previous, rss) = memory.sample()
            // Every threshold an experiment's run crosses upwards is an event for
            // it, including one it starts above (its first sample).
            for (id, _) in running {
                let before = seen[id] ?? .normal
                var crossed: [String] = []
                if before < .shrink, pressure >= .shrink { crossed.append("memory_warning") }
                if before < .spill, pressure >= .spill { crossed.append("memory_critical") }
                for kind in crossed {
                    event(id, kind, ["rss_bytes": "\(rss)", "budget_bytes": "\(memory.budgetBytes)", "pressure": "\(pressure)"])
                }
                seen[id] = pressure
            }
            if pressure > previous {
                logger.warning(
                    "memory pressure",
                    metadata: ["pressure": "\(pressure)", "rss_bytes": "\(rss)", "budget_bytes": "\(memory.budgetBytes)"])
            }
            if pressure < previous {
                logger.notice("memory pressure eased", metadata: ["pressure": "\(pressure)", "rss_bytes": "\(rss)"])
            }
            // Memory back: when a run has ended (even if another started in the
            // same tick: its freed heap may sit in an arena the next run's thread
            // does not use), and once more 1 s later (its thread has exited),
            // freed heap goes back to the kernel.
            let ids = Set(running.map(\.0))
            if !lastIDs.subtracting(ids).isEmpty {
                MemoryMonitor.releaseFreeMemory()
                trimDue = .now + .seconds(1)
            } else if let due = trimDue, due <= .now {
                MemoryMonitor.releaseFreeMemory()
                trimDue = nil
            }
            lastIDs = ids
            if lastMetrics.duration(to: .now) >= metricsInterval {
                let cpu = MemoryMonitor.processCPUSeconds()
                let wall = Self.seconds(lastWall.duration(to: .now))
                let cpuPercent = wall > 0 ? (cpu - lastCPU) / wall * 100 : 0
                lastCPUPercent.withLock { $0 = cpuPercent }
                lastCPU = cpu
                lastWall = .now
                lastMetrics = .now
                for (id, _) in running where due[id] == nil { due[id] = .now }
            }
            if !due.isEmpty {
                let cpuPercent = lastCPUPercent.withLock { $0 }
                for (id, tree) in running {
                    guard let since = due[id] else { continue }
                    // A young stage that has counted nothing yet (a file opening on a
                    // busy host) puts its sample off, up to `firstRowsWait`; after that,
                    // a sample with no rows says the stage is stalled.
                    let mayWait = since.duration(to: .now) < Self.firstRowsWait(metricsInterval)
                    if writeMetrics(id, tree, rss: rss, cpuPercent: cpuPercent, mayWait: mayWait) { due[id] = nil }
                }
            }
            let live = Set(running.map(\.0))
            versions.withLock { v in v = v.filter { live.contains($0.key) } }
            windows.withLock { w in w = w.filter { live.contains($0.key) } }
            due = due.filter { live.contains($0.key) }
            seen = seen.filter { live.contains($0.key) }
        }
        exited.signal()
    }

    /// One progress write at a time in this process (the sampler's thread
    /// and a runner's at its end); across processes the experiment's row
    /// lock does the same. Two writers' DELETE + COPY interleaved was the
    /// `23505 unique_violation` race.
    private let progressWriter = Mutex<Void>(())

    /// Stores the whole tree (also called once when an experiment ends),
    /// only while the run that made it still holds the experiment.
    func writeProgress(_ id: UUID, _ tree: ProgressTree) {
        progressWriter.withLock { _ in writeProgressLocked(id, tree) }
    }

    private func writeProgressLocked(_ id: UUID, _ tree: ProgressTree) {
        let version = tree.version
        guard let generation = engine.fence(of: id)?.generation else { return }
        var rows: [ProgressTree.Snapshot] = []
        func walk(_ n: ProgressTree.Snapshot) {
            rows.append(n)
            n.children.forEach(walk)
        }
        walk(tree.snapshot())
        do {
            try pool.withTransaction { tx in
                // Locks the experiment's row: concurrent writers of its progress take turns.
                try ExperimentStore.requireGeneration(tx, id, generation: generation)
                try tx.execute("DELETE FROM pipeline_progress WHERE experiment_id = \(id)")
                _ = try tx.copyFrom(
                    table: "pipeline_progress",
                    columns: [
                        "experiment_id", "node_path", "parent_path", "kind", "name", "status", "units_done", "units_total",
                        "percent", "rate", "eta_seconds", "position",
                    ]
                ) { w in
                    for (position, n) in rows.enumerated() {
                        w.appendField(id)
                        w.appendField(n.path)
                        if let slash = n.path.lastIndex(of: "/") { w.appendField(String(n.path[..<slash])) } else { w.appendNull() }
                        w.appendField(n.kind.rawValue)
                        w.appendField(n.name)
                        w.appendField(n.status.rawValue)
                        w.appendField(n.unitsDone)
                        if let t = n.unitsTotal { w.appendField(t) } else { w.appendNull() }
                        w.appendField(n.percent)
                        if let r = n.rate { w.appendField(r) } else { w.appendNull() }
                        if let e = n.etaSeconds { w.appendField(e) } else { w.appendNull() }
                        w.appendField(position)
                        try w.endRow()
                    }
                }
                try tx.execute(
                    "UPDATE experiments SET percent = \(min(100, max(0, rows[0].percent))) WHERE id = \(id) AND status NOT IN ('succeeded')"
                )
            }
            ExperimentChanges.committed(id)
            versions.withLock { $0[id] = version }
        } catch is StaleGeneration {
            // Another runner holds the experiment now: its tree is the one to keep.
            versions.withLock { $0[id] = version }
        } catch {
            logger.warning("progress write failed; will retry", metadata: ["experiment_id": "\(id)", "error": "\(error)"])
        }
    }

    /// A row that could not be written yet (PostgreSQL away): kept in order
    /// and written when it is back, before anything newer.
    private enum Pending {
        case metric(id: UUID, generation: Int64, at: Date, stage: String?, rss: Int64, cpu: Double, rate: Double?)
        case event(id: UUID, generation: Int64, at: Date, kind: String, details: String)
    }
    /// Rows waiting for PostgreSQL; at most `maxPending` (then the oldest
    /// metric samples give way, counted in `droppedSamples`; events never do).
    private let pending = Mutex<[Pending]>([])
    private let maxPending = 100_000
    let droppedSamples = Atomic<Int>(0)

    /// Rows waiting for PostgreSQL.
    var pendingCount: Int { pending.withLock { $0.count } }

    private func enqueue(_ row: Pending) {
        pending.withLock { q in
            q.append(row)
            if q.count > maxPending, let i = q.firstIndex(where: { if case .metric = $0 { true } else { false } }) {
                q.remove(at: i)
                droppedSamples.add(1, ordering: .relaxed)
            }
        }
        flushPending()
    }

    /// Writes the waiting rows in order, in one transaction; on failure they
    /// stay for the next tick.
    private func flushPending() {
        // One flush at a time (the sampler thread, and runners at the end of a run).
        flushing.withLock { _ in flushPendingLocked() }
    }

    private let flushing = Mutex<Void>(())
    /// CPU % of the last metrics interval, for the sample taken when a run ends.
    private let lastCPUPercent = Mutex<Double>(0)

    /// One resource sample when an experiment ends, so that even a run shorter
    /// than the sampling interval has one.
    func finalSample(_ id: UUID, _ tree: ProgressTree) {
        writeMetrics(id, tree, rss: MemoryMonitor.processRSS(), cpuPercent: lastCPUPercent.withLock { $0 }, mayWait: false)
    }

    /// Asks PostgreSQL `SELECT 1` through the pool and records the answer in ``databaseUp``.
    private func probeDatabase() {
        let alive = (try? pool.withConnection { $0.ping() }) ?? false
        let before = databaseUp.exchange(alive ? 1 : 0, ordering: .relaxed)
        if before == 1, !alive { logger.warning("database probe: PostgreSQL does not answer") }
        if before == 0, alive { logger.notice("database probe: PostgreSQL answers again") }
    }

    private func flushPendingLocked() {
        let rows = pending.withLock { $0 }
        guard !rows.isEmpty else { return }
        do {
            try pool.withTransaction { tx in
                for row in rows {
                    switch row {
                    // Rows of a run that was taken over meanwhile are left out (fenced).
                    case .metric(let id, let generation, let at, let stage, let rss, let cpu, let rate):
                        try tx.execute(
                            """
                            INSERT INTO pipeline_metrics (experiment_id, ts, stage, rss_bytes, cpu_percent, rows_per_second)
                            SELECT \(id), \(at), \(stage), \(rss), \(cpu), \(rate)
                            WHERE EXISTS (SELECT 1 FROM experiments WHERE id = \(id) AND generation = \(generation))
                            """)
                    case .event(let id, let generation, let at, let kind, let details):
                        try tx.execute(
                            """
                            INSERT INTO pipeline_events (experiment_id, ts, kind, details)
                            SELECT \(id), \(at), \(kind), \(PostgresJSON(details))
                            WHERE EXISTS (SELECT 1 FROM experiments WHERE id = \(id) AND generation = \(generation))
                            """)
                    }
                }
            }
            pending.withLock { q in q.removeFirst(min(rows.count, q.count)) }
        } catch {
            logger.warning("metrics/events write failed; kept for later", metadata: ["rows": "\(rows.count)", "error": "\(error)"])
        }
    }

    /// Takes one resource sample of the experiment (see the type's notes on rows/s).
    /// - Parameter mayWait: whether to put the sample off while the running
    ///   stage, younger than ``firstRowsWait(_:)``, has no average rate yet
    ///   and no rows moved since the last sample (the caller allows this for
    ///   up to ``firstRowsWait(_:)``).
    /// - Returns: false when the sample was put off.
    @discardableResult
    private func writeMetrics(_ id: UUID, _ tree: ProgressTree, rss: Int64, cpuPercent: Double, mayWait: Bool) -> Bool {
        let snap = tree.snapshot()
        let stage = snap.children.first { $0.status == .running }
        let rows = snap.children.reduce(Int64(0)) { $0 + $1.unitsDone }
        let now = ContinuousClock.now
        var rate: Double?
        if let stage {
            if let last = windows.withLock({ $0[id] }), rows > last.rows {
                rate = Double(rows - last.rows) / max(1e-6, Self.seconds(last.at.duration(to: now)))
            } else if let average = stage.rate, average > 0 {
                rate = average
            } else if mayWait, (stage.elapsedSeconds ?? 0) < Self.seconds(Self.firstRowsWait(metricsInterval)) {
                return false
            }
        }
        windows.withLock { $0[id] = (rows, now) }
        guard let generation = engine.fence(of: id)?.generation else { return true }
        enqueue(.metric(id: id, generation: generation, at: Date(), stage: stage?.name, rss: rss, cpu: cpuPercent, rate: rate))
        return true
    }

    private func event(_ id: UUID, _ kind: String, _ details: [String: String]) {
        guard let generation = engine.fence(of: id)?.generation else { return }
        enqueue(
            .event(id: id, generation: generation, at: Date(), kind: kind, details: PostgresExperimentRepository.json(details, error: nil)))
    }

    /// How long a young stage's sample may wait for its first rows: one
    /// interval, at least 1 s (a short interval on a busy host is shorter than
    /// opening a file and reading its first chunk).
    static func firstRowsWait(_ interval: Duration) -> Duration { max(interval, .seconds(1)) }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
