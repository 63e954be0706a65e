import Foundation
import Logging
import Pipeline
import PostgresClient
import Synchronization

/// The memory budget's admission: the engine asks it before claiming another
/// experiment while some already run here. It estimates the next queued
/// experiment's peak (``MemoryEstimate``) and admits it only when that fits
/// the budget left: the budget minus the larger of the process's RSS now and
/// its start-up RSS plus the estimates of the experiments running. Otherwise
/// the experiment stays queued and gets one `admission_wait` event (and a log
/// line "admission wait") until it starts.
final class MemoryAdmission: Sendable {
    let pool: PostgresPool
    let memory: MemoryMonitor
    let environment: ServiceStageEnvironment
    let logger: Logger
    /// RSS when the server started (before any run).
    let baselineBytes: Int64
    /// The estimates of experiments seen (running or waiting), by id.
    private let estimates = Mutex<[UUID: Int64]>([:])
    /// Experiments already told that they wait.
    private let announced = Mutex<Set<UUID>>([])

    init(pool: PostgresPool, memory: MemoryMonitor, environment: ServiceStageEnvironment, logger: Logger) {
        self.pool = pool
        self.memory = memory
        self.environment = environment
        self.logger = logger
        self.baselineBytes = MemoryMonitor.processRSS()
    }

    /// Whether the next queued experiment may start beside `running`.
    func admit(running: [UUID]) -> Bool {
        do {
            // The next one claimNext would take (same order), not locked: a peek.
            guard
                let row = try pool.withConnection({ c in
                    try c.query(
                        """
                        SELECT id, request::text FROM experiments WHERE status = 'queued'
                        ORDER BY priority_rank DESC, created_at, id LIMIT 1
                        """
                    ).first.map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: String.self)) }
                })
            else { return true }
            let (next, request) = row
            let need = estimate(next, request: request)
            let reserved = try running.reduce(Int64(0)) { $0 + (try estimateOfRunning($1)) }
            let used = max(MemoryMonitor.processRSS(), baselineBytes + reserved)
            let free = memory.budgetBytes - used
            if need <= free {
                announced.withLock { _ = $0.remove(next) }
                return true
            }
            if announced.withLock({ $0.insert(next).inserted }) {
                let details = [
                    "estimate_bytes": "\(need)", "free_bytes": "\(max(0, free))", "budget_bytes": "\(memory.budgetBytes)",
                    "running": "\(running.count)",
                ]
                logger.notice(
                    "admission wait",
                    metadata: ["experiment_id": "\(next.uuidString.lowercased())"].merging(details.mapValues { .string($0) }) { $1 })
                try pool.withConnection { c in
                    try c.execute(
                        """
                        INSERT INTO pipeline_events (experiment_id, kind, details)
                        VALUES (\(next), 'admission_wait', \(PostgresJSON(PostgresExperimentRepository.json(details, error: nil))))
                        """)
                }
            }
            return false
        } catch {
            // The claim that follows meets the same database trouble; let the scheduler report it.
            return true
        }
    }

    /// Forgets an experiment that ended.
    func forget(_ id: UUID) {
        _ = estimates.withLock { $0.removeValue(forKey: id) }
        _ = announced.withLock { $0.remove(id) }
    }

    private func estimate(_ id: UUID, request: String) -> Int64 {
        if let known = estimates.withLock({ $0[id] }) { return known }
        let e = MemoryEstimate(request: Data(request.utf8), budgetBytes: memory.budgetBytes) { path, datasetID in
            let url: URL?
            if let datasetID {
                url = try? environment.datasetFile(id: datasetID)
            } else {
                url = path.map { environment.dataRoot.appendingPathComponent($0) }
            }
            guard let url, let size = (try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber else { return nil }
            return size.int64Value
        }
        estimates.withLock { $0[id] = e.peakBytes }
        return e.peakBytes
    }

    private func estimateOfRunning(_ id: UUID) throws -> Int64 {
        if let known = estimates.withLock({ $0[id] }) { return known }
        let request = try pool.withConnection { c in
            try c.query("SELECT request::text FROM experiments WHERE id = \(id)").first?.decode(0, as: String.self)
        }
        return request.map { estimate(id, request: $0) } ?? 0
    }
}
