public import Foundation
public import PostgresClient

/// Deletes a sweep: every child exactly as `DELETE /v1/experiments/{id}`
/// deletes an experiment (``ExperimentDeletion``), then the sweep row.
///
/// Crash-safe without a table of its own: ``mark(_:)`` commits a mark in
/// `experiment_deletions` for every child in one transaction (reason
/// `sweep`); ``finish(_:children:)`` finishes each child, and the last
/// child's deletion deletes the sweep row (a sweep with no child left goes
/// with it). A deletion cut short leaves the children's marks, which the next
/// start (``ExperimentDeletion/finishPending()``) or the retention job
/// finishes, the sweep row last. A pinned child is deleted too: a pin spares
/// an experiment from retention only, as for `DELETE /v1/experiments/{id}`.
public struct SweepDeletion: Sendable {
    let pool: PostgresPool
    let experiments: ExperimentDeletion

    public init(pool: PostgresPool, experiments: ExperimentDeletion) {
        self.pool = pool
        self.experiments = experiments
    }

    /// What ``mark(_:)`` found.
    public enum Mark: Sendable, Equatable {
        /// No such sweep (nor any child of one).
        case notFound
        /// Children that may still run, with their states, in id order: nothing was done.
        case active([ActiveChild])
        /// Every child is marked (now or by an earlier call), in id order: ``finish(_:children:)`` completes it.
        case marked([UUID])
    }

    /// A child that may still run.
    public struct ActiveChild: Sendable, Equatable {
        public var id: UUID
        public var status: String
    }

    /// Marks every child of the sweep for deletion, unless one may still run
    /// (queued, running, pausing, paused or cancelling, and not marked already).
    public func mark(_ id: UUID) throws -> Mark {
        try pool.withTransaction { tx in
            // Children first, then the sweep row: the order the engine's claim and
            // ExperimentDeletion.finish lock in, so none of them deadlock with this.
            let children = try tx.query(
                """
                SELECT e.id, e.status, d.experiment_id IS NOT NULL FROM experiments e
                LEFT JOIN experiment_deletions d ON d.experiment_id = e.id
                WHERE e.sweep_id = \(id) ORDER BY e.id FOR UPDATE OF e
                """
            ).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: String.self), try $0.decode(2, as: Bool.self)) }
            let sweep = try tx.query("SELECT 1 FROM sweeps WHERE id = \(id) FOR UPDATE").first
            if sweep == nil, children.isEmpty { return .notFound }
            let active = children.filter { !$0.2 && ExperimentDeletion.activeStatuses.contains($0.1) }
            if !active.isEmpty { return .active(active.map { ActiveChild(id: $0.0, status: $0.1) }) }
            for (child, _, marked) in children where !marked {
                try tx.execute(
                    "INSERT INTO experiment_deletions (experiment_id, reason) VALUES (\(child), 'sweep') ON CONFLICT (experiment_id) DO NOTHING"
                )
            }
            return .marked(children.map(\.0))
        }
    }

    /// Completes a marked deletion: each child (rows, files, mark), then the
    /// sweep row if a child-less sweep is still there. Safe to call again.
    public func finish(_ id: UUID, children: [UUID]) throws {
        for child in children { try experiments.finish(child) }
        try pool.withTransaction { tx in try ExperimentDeletion.dropSweepIfChildless(tx, id) }
    }

    /// Marks and finishes the deletion of the sweep `id`.
    /// - Returns: what the mark found (`.marked`: it is deleted now).
    @discardableResult
    public func delete(_ id: UUID) throws -> Mark {
        let mark = try mark(id)
        if case .marked(let children) = mark { try finish(id, children: children) }
        return mark
    }
}
