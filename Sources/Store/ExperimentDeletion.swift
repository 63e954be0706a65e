public import Foundation
public import PostgresClient

/// Deletes an experiment and everything it owns: its rows in every table
/// (the `experiments` row; the foreign keys cascade to progress, events,
/// metrics, signals, artifacts, reports, idempotency keys and notifications;
/// a trigger removes its log lines) and its folder
/// `<data dir>/experiments/<id>` (artifacts, checkpoints, spill files).
///
/// A deletion is crash-safe: ``mark(_:reason:)`` first commits a row in
/// `experiment_deletions`; ``finish(_:)`` then deletes the rows (one
/// transaction), the files, and the mark last. A deletion cut short (the
/// process killed) leaves its mark; ``finishPending()`` (run at start-up and
/// by the retention job) completes it. Every step is idempotent.
///
/// A sweep's delete (``SweepDeletion``) marks every child in one transaction
/// and finishes each; the last child's ``finish(_:)`` deletes the sweep row.
public struct ExperimentDeletion: Sendable {
    let pool: PostgresPool
    /// `<data dir>/experiments`.
    let experimentsDirectory: URL
    /// `<data dir>/spill`: files named after the experiment there are its own.
    let spillDirectory: URL

    /// - Parameter dataDirectory: the server's data folder (`data_dir`).
    public init(pool: PostgresPool, dataDirectory: URL) {
        self.pool = pool
        experimentsDirectory = dataDirectory.appendingPathComponent("experiments")
        spillDirectory = dataDirectory.appendingPathComponent("spill")
    }

    /// The states in which something may still run the experiment: a
    /// deletion is refused then (cancel it first).
    public static let activeStatuses: Set<String> = ["queued", "running", "pausing", "paused", "cancelling"]

    /// What ``mark(_:reason:)`` found.
    public enum Mark: Sendable, Equatable {
        /// No such experiment, and no deletion of it under way.
        case notFound
        /// The experiment may be running (`status` says how): nothing was done.
        case active(status: String)
        /// Pinned, and the caller spares pinned experiments: nothing was done.
        case pinned
        /// The deletion is marked (now or by an earlier call): ``finish(_:)`` completes it.
        case marked
    }

    /// Marks the experiment for deletion, unless it is active.
    /// - Parameters:
    ///   - reason: why (`api`, `retention`, `sweep`), kept in the mark.
    ///   - sparePinned: leave a pinned experiment alone (``Mark/pinned``); retention sets it.
    public func mark(_ id: UUID, reason: String, sparePinned: Bool = false) throws -> Mark {
        try pool.withTransaction { tx in
            // The row lock makes a concurrent claim, retry or pin wait for this decision.
            let row = try tx.query("SELECT status, pinned FROM experiments WHERE id = \(id) FOR UPDATE").first
            if try tx.query("SELECT 1 FROM experiment_deletions WHERE experiment_id = \(id)").first != nil { return .marked }
            guard let row else { return .notFound }
            let status = try row.decode(0, as: String.self)
            if Self.activeStatuses.contains(status) { return .active(status: status) }
            if sparePinned, try row.decode(1, as: Bool.self) { return .pinned }
            try tx.execute(
                "INSERT INTO experiment_deletions (experiment_id, reason) VALUES (\(id), \(reason)) ON CONFLICT (experiment_id) DO NOTHING")
            return .marked
        }
    }

    /// Completes a marked deletion: the rows, then the files, then the mark.
    /// Safe to call again at any point (and for an experiment already gone).
    public func finish(_ id: UUID) throws {
        try pool.withTransaction { tx in
            // Cascades to every table that references the experiment (all indexed by experiment_id).
            let gone = try tx.query("DELETE FROM experiments WHERE id = \(id) RETURNING sweep_id").first
            if let sweep = try gone?.decode(0, as: UUID?.self) {
                try Self.dropSweepIfChildless(tx, sweep)
            }
        }
        ExperimentChanges.committed(id)
        try removeFiles(of: id)
        try pool.withConnection { c in try c.execute("DELETE FROM experiment_deletions WHERE experiment_id = \(id)") }
    }

    /// Marks and finishes the deletion of `id`.
    /// - Returns: what the mark found (`.marked`: it is deleted now).
    @discardableResult
    public func delete(_ id: UUID, reason: String, sparePinned: Bool = false) throws -> Mark {
        let mark = try mark(id, reason: reason, sparePinned: sparePinned)
        if mark == .marked { try finish(id) }
        return mark
    }

    /// Deletions marked but not finished (a crash cut them short, or another
    /// instance is finishing them now), oldest first.
    public func pending() throws -> [UUID] {
        try pool.withConnection { c in
            try c.query("SELECT experiment_id FROM experiment_deletions ORDER BY requested_at, experiment_id").map {
                try $0.decode(0, as: UUID.self)
            }
        }
    }

    /// Finishes every pending deletion.
    /// - Returns: the experiments finished.
    @discardableResult
    public func finishPending() throws -> [UUID] {
        let ids = try pending()
        for id in ids { try finish(id) }
        return ids
    }

    /// Deletes the sweep `id` when no child of it is left (its last child was
    /// deleted, by its sweep's delete, by `DELETE /v1/experiments/{id}` or by
    /// retention). The row lock orders concurrent deletions of its children:
    /// the statement after it reads afresh, so the last one sees no child left.
    static func dropSweepIfChildless(_ tx: PostgresConnection, _ id: UUID) throws {
        _ = try tx.query("SELECT 1 FROM sweeps WHERE id = \(id) FOR UPDATE")
        try tx.execute("DELETE FROM sweeps s WHERE s.id = \(id) AND NOT EXISTS (SELECT 1 FROM experiments c WHERE c.sweep_id = s.id)")
    }

    /// The experiment's folder.
    public func directory(of id: UUID) -> URL {
        experimentsDirectory.appendingPathComponent(id.uuidString.lowercased())
    }

    private func removeFiles(of id: UUID) throws {
        let fm = FileManager.default
        let name = id.uuidString.lowercased()
        try Self.remove(directory(of: id))
        // Spill files of the experiment's stages, when they are named after it.
        if let entries = try? fm.contentsOfDirectory(atPath: spillDirectory.path) {
            for entry in entries where entry.lowercased().contains(name) {
                try Self.remove(spillDirectory.appendingPathComponent(entry))
            }
        }
    }

    private static func remove(_ url: URL) throws {
        do { try FileManager.default.removeItem(at: url) } catch let e as CocoaError where e.code == .fileNoSuchFile {
            // Already gone (an earlier attempt got this far).
        } catch {
            if FileManager.default.fileExists(atPath: url.path) { throw error }
        }
    }
}
