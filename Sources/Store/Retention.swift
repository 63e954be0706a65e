public import Foundation
public import PostgresClient

/// Which finished experiments retention deletes. One selection serves the
/// server's periodic job, `signalforge gc --dry-run` and `gc --now`, so a dry
/// run lists exactly what a real one deletes.
public struct RetentionPolicy: Sendable, Equatable {
    /// Finished experiments older than this many days (by `finished_at`) go; nil: no age limit.
    public var maxAgeDays: Double?
    /// The experiments' folders together stay under this many bytes (the
    /// oldest finished ones go first); nil: no size limit.
    public var maxBytes: Int64?

    public init(maxAgeDays: Double? = nil, maxBytes: Int64? = nil) {
        self.maxAgeDays = maxAgeDays
        self.maxBytes = maxBytes
    }

    /// Whether the policy deletes anything at all.
    public var isEnabled: Bool { maxAgeDays != nil || maxBytes != nil }
}

/// An experiment as retention sees it.
public struct RetentionCandidate: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var status: String
    public var pinned: Bool
    public var createdAt: Date
    public var finishedAt: Date?
    /// Bytes of the files in its folder.
    public var bytes: Int64

    public init(id: UUID, name: String, status: String, pinned: Bool, createdAt: Date, finishedAt: Date?, bytes: Int64) {
        self.id = id
        self.name = name
        self.status = status
        self.pinned = pinned
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.bytes = bytes
    }

    /// Finished (succeeded, failed or cancelled): nothing will run it unless retried.
    public var isFinished: Bool { Retention.finishedStatuses.contains(status) }
}

/// One experiment retention deletes, and why.
public struct RetentionChoice: Sendable, Equatable {
    public enum Reason: String, Sendable {
        /// Older than `retention_days`.
        case age
        /// The total was above `retention_max_gb`.
        case size
    }
    public var experiment: RetentionCandidate
    public var reason: Reason
}

public enum Retention {
    public static let finishedStatuses: Set<String> = ["succeeded", "failed", "cancelled"]

    /// The experiments `policy` deletes, in the order they go: finished and
    /// unpinned ones only, oldest `finished_at` first. First every one older
    /// than `maxAgeDays`; then, while the total of all experiments' bytes
    /// (pinned and running ones count, but never go) is above `maxBytes`,
    /// the next oldest.
    public static func select(_ all: [RetentionCandidate], policy: RetentionPolicy, now: Date) -> [RetentionChoice] {
        let deletable = all.filter { $0.isFinished && !$0.pinned }.sorted {
            let (a, b) = ($0.finishedAt ?? $0.createdAt, $1.finishedAt ?? $1.createdAt)
            return a != b ? a < b : $0.id.uuidString < $1.id.uuidString
        }
        var total = all.reduce(Int64(0)) { $0 + $1.bytes }
        var chosen: [RetentionChoice] = []
        var rest: [RetentionCandidate] = []
        for e in deletable {
            if let days = policy.maxAgeDays, now.timeIntervalSince(e.finishedAt ?? e.createdAt) > days * 86_400 {
                chosen.append(RetentionChoice(experiment: e, reason: .age))
                total -= e.bytes
            } else {
                rest.append(e)
            }
        }
        if let limit = policy.maxBytes {
            for e in rest where total > limit {
                chosen.append(RetentionChoice(experiment: e, reason: .size))
                total -= e.bytes
            }
        }
        return chosen
    }

    /// Every experiment with the bytes of its folder under `dataDirectory`.
    public static func candidates(pool: PostgresPool, dataDirectory: URL) throws -> [RetentionCandidate] {
        let rows = try pool.withConnection { c in
            try c.query("SELECT id, name, status, pinned, created_at, finished_at FROM experiments").map { r in
                (
                    try r.decode(0, as: UUID.self), try r.decode(1, as: String.self), try r.decode(2, as: String.self),
                    try r.decode(3, as: Bool.self), try r.decode(4, as: Date.self), try r.decode(5, as: Date?.self)
                )
            }
        }
        let folder = dataDirectory.appendingPathComponent("experiments")
        return rows.map { id, name, status, pinned, created, finished in
            RetentionCandidate(
                id: id, name: name, status: status, pinned: pinned, createdAt: created, finishedAt: finished,
                bytes: directoryBytes(folder.appendingPathComponent(id.uuidString.lowercased())))
        }
    }

    /// The experiments `policy` deletes now (see ``select(_:policy:now:)``).
    public static func plan(
        pool: PostgresPool, dataDirectory: URL, policy: RetentionPolicy, now: Date = Date()
    ) throws
        -> [RetentionChoice]
    {
        guard policy.isEnabled else { return [] }
        return select(try candidates(pool: pool, dataDirectory: dataDirectory), policy: policy, now: now)
    }

    /// Applies `policy`: plans (``plan(pool:dataDirectory:policy:now:)``) and,
    /// unless `dryRun`, deletes each chosen experiment, sparing any that was
    /// pinned or started again since the plan was made.
    /// - Returns: the experiments deleted (with `dryRun`, those a real run deletes now).
    public static func collect(
        pool: PostgresPool, dataDirectory: URL, policy: RetentionPolicy, dryRun: Bool, now: Date = Date()
    ) throws -> [RetentionChoice] {
        let chosen = try plan(pool: pool, dataDirectory: dataDirectory, policy: policy, now: now)
        if dryRun { return chosen }
        let deletion = ExperimentDeletion(pool: pool, dataDirectory: dataDirectory)
        return try chosen.filter { try deletion.delete($0.experiment.id, reason: "retention", sparePinned: true) == .marked }
    }

    /// The bytes of the regular files under `url` (0 when it does not exist).
    public static func directoryBytes(_ url: URL) -> Int64 {
        guard
            let walker = FileManager.default.enumerator(
                at: url, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey], options: [], errorHandler: { _, _ in true })
        else { return 0 }
        var total: Int64 = 0
        for case let file as URL in walker {
            guard let values = try? file.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true
            else { continue }
            total += Int64(values.fileSize ?? 0)
        }
        return total
    }
}
