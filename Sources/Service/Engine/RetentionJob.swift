import Foundation
import Logging
import PostgresClient
import Store
import Synchronization

/// Deletions and storage as `/metrics` shows them: experiments deleted (by
/// reason), and the last measured disk use of the data folder's areas and
/// sizes of the tables (measured by ``RetentionJob``'s thread, so a scrape
/// never walks the disk or asks PostgreSQL).
final class HistoryCounters: Sendable {
    private let deletions = Mutex<[String: Int]>(["api": 0, "retention": 0, "sweep": 0])
    private let usage = Mutex<Usage?>(nil)

    struct Usage: Sendable {
        /// Bytes under `<data dir>/experiments`, `datasets`, `cache`.
        var experimentsBytes: Int64
        var datasetsBytes: Int64
        var cacheBytes: Int64
        /// `pg_total_relation_size` of each table of the schema.
        var tables: [(name: String, bytes: Int64)]
        var pendingDeletions: Int
    }

    func deleted(reason: String, count: Int = 1) { deletions.withLock { $0[reason, default: 0] += count } }

    func record(_ u: Usage) { usage.withLock { $0 = u } }

    var prometheusText: String {
        var out =
            "# HELP signalforge_experiments_deleted_total Experiments deleted, by reason (api, retention, or sweep: a sweep's delete)\n"
        out += "# TYPE signalforge_experiments_deleted_total counter\n"
        for (reason, n) in deletions.withLock({ $0 }).sorted(by: { $0.key < $1.key }) {
            out += "signalforge_experiments_deleted_total{reason=\"\(reason)\"} \(n)\n"
        }
        guard let u = usage.withLock({ $0 }) else { return out }
        out += "# HELP signalforge_disk_used_bytes Bytes of files under the data folder, by area\n"
        out += "# TYPE signalforge_disk_used_bytes gauge\n"
        out += "signalforge_disk_used_bytes{area=\"experiments\"} \(u.experimentsBytes)\n"
        out += "signalforge_disk_used_bytes{area=\"datasets\"} \(u.datasetsBytes)\n"
        out += "signalforge_disk_used_bytes{area=\"stage_cache\"} \(u.cacheBytes)\n"
        out += "# HELP signalforge_table_size_bytes PostgreSQL size of each table with its indexes and TOAST\n"
        out += "# TYPE signalforge_table_size_bytes gauge\n"
        for t in u.tables { out += "signalforge_table_size_bytes{table=\"\(t.name)\"} \(t.bytes)\n" }
        out += "# HELP signalforge_deletions_pending Experiment deletions marked but not finished\n"
        out += "# TYPE signalforge_deletions_pending gauge\n"
        out += "signalforge_deletions_pending \(u.pendingDeletions)\n"
        return out
    }
}

/// A thread of its own that, every `retention_poll_s`, finishes deletions
/// a crash cut short and applies the retention policy (see ``Retention``),
/// and every `usagePeriod` measures disk and table sizes for `/metrics`.
final class RetentionJob: Sendable {
    let pool: PostgresPool
    let dataDirectory: URL
    let policy: RetentionPolicy
    let period: Duration
    let usagePeriod: Duration
    let counters: HistoryCounters
    let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let exited = DispatchSemaphore(value: 0)
    private let started = Atomic<Bool>(false)

    init(
        pool: PostgresPool, dataDirectory: URL, policy: RetentionPolicy, period: Duration, usagePeriod: Duration = .seconds(30),
        counters: HistoryCounters, logger: Logger
    ) {
        self.pool = pool
        self.dataDirectory = dataDirectory
        self.policy = policy
        self.period = period
        self.usagePeriod = usagePeriod
        self.counters = counters
        self.logger = logger
    }

    func start() {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let thread = Thread { [self] in loop() }
        thread.name = "retention"
        thread.start()
    }

    func stop() {
        guard started.load(ordering: .acquiring), !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        wake.signal()
        exited.wait()
    }

    private func loop() {
        var nextRetention = ContinuousClock.now + period
        var nextUsage = ContinuousClock.now
        while !stopping.load(ordering: .acquiring) {
            if ContinuousClock.now >= nextUsage {
                measure()
                nextUsage = .now + usagePeriod
            }
            if ContinuousClock.now >= nextRetention {
                runOnce()
                nextRetention = .now + period
            }
            let next = min(nextUsage, nextRetention)
            let left = ContinuousClock.now.duration(to: next).components
            let wait = max(0.01, Double(left.seconds) + Double(left.attoseconds) / 1e18)
            _ = wake.wait(timeout: .now() + min(wait, 3600))
        }
        exited.signal()
    }

    /// Finishes pending deletions, then applies the policy.
    /// - Returns: the experiments retention deleted.
    @discardableResult
    func runOnce() -> [RetentionChoice] {
        do {
            let finished = try ExperimentDeletion(pool: pool, dataDirectory: dataDirectory).finishPending()
            if !finished.isEmpty {
                logger.notice("finished deletions a crash cut short", metadata: ["count": "\(finished.count)"])
            }
            let deleted = try Retention.collect(pool: pool, dataDirectory: dataDirectory, policy: policy, dryRun: false)
            counters.deleted(reason: "retention", count: deleted.count)
            for d in deleted {
                logger.notice(
                    "retention deleted an experiment",
                    metadata: [
                        "experiment_id": "\(d.experiment.id.uuidString.lowercased())", "reason": "\(d.reason.rawValue)",
                        "bytes": "\(d.experiment.bytes)",
                    ])
            }
            return deleted
        } catch {
            logger.warning("retention: could not apply; retrying next period", metadata: ["error": "\(error)"])
            return []
        }
    }

    private func measure() {
        do {
            let (tables, pending) = try pool.withConnection { c in
                let tables = try c.query(
                    """
                    SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c
                    WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace ORDER BY c.relname
                    """
                ).map { (name: try $0.decode(0, as: String.self), bytes: try $0.decode(1, as: Int64.self)) }
                let pending = try c.query("SELECT count(*) FROM experiment_deletions").first?.decode(0, as: Int.self) ?? 0
                return (tables, pending)
            }
            counters.record(
                HistoryCounters.Usage(
                    experimentsBytes: Retention.directoryBytes(dataDirectory.appendingPathComponent("experiments")),
                    datasetsBytes: Retention.directoryBytes(dataDirectory.appendingPathComponent("datasets")),
                    cacheBytes: Retention.directoryBytes(dataDirectory.appendingPathComponent("cache")), tables: tables,
                    pendingDeletions: pending))
        } catch {
            logger.debug("usage measure failed", metadata: ["error": "\(error)"])
        }
    }
}
