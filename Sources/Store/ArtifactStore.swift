public import Foundation
public import PostgresClient

/// An `artifacts` row: a file an experiment produced.
public struct ArtifactRecord: Sendable, Equatable {
    public var experimentID: UUID
    /// The download name, unique per experiment (`features_1h.parquet`).
    public var name: String
    /// `csv`, `csv.gz`, `parquet`, `json`, …
    public var format: String
    /// The file: absolute, or relative to the data root.
    public var path: String
    public var sizeBytes: Int64
    /// Lowercase hex SHA-256 of the file, when the producer computed it.
    public var sha256: String?
    public var rowCount: Int64?
    public var createdAt: Date
}

/// Reads `artifacts`, and records them for the stages' environment.
public struct ArtifactStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// Records (or replaces) an artifact row; refused (``StaleGeneration``)
    /// when `generation` is given and the experiment moved on.
    public func record(
        experiment id: UUID, name: String, format: String, path: String, sizeBytes: Int64, sha256: String?, rows: Int64?,
        generation: Int64? = nil
    ) throws {
        try pool.withTransaction { tx in
            if let generation { try ExperimentStore.requireGeneration(tx, id, generation: generation) }
            try tx.execute(
                """
                INSERT INTO artifacts (experiment_id, name, format, path, size_bytes, sha256, row_count)
                VALUES (\(id), \(name), \(format), \(path), \(sizeBytes), \(sha256), \(rows))
                ON CONFLICT (experiment_id, name) DO UPDATE SET format = EXCLUDED.format, path = EXCLUDED.path,
                    size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256, row_count = EXCLUDED.row_count,
                    created_at = now()
                """)
        }
    }

    static let columns = "experiment_id, name, format, path, size_bytes, sha256, row_count, created_at"

    /// The experiment's artifacts by name, or nil when there is no such experiment.
    public func list(experiment id: UUID) throws -> [ArtifactRecord]? {
        try pool.withConnection { c in
            guard try c.query("SELECT 1 FROM experiments WHERE id = \(id)").first != nil else { return nil }
            return try c.query(
                "SELECT \(unsafeSQL: Self.columns) FROM artifacts WHERE experiment_id = \(id) ORDER BY name"
            ).map(Self.record)
        }
    }

    /// What looking up one artifact found.
    public enum Lookup: Sendable, Equatable {
        case found(ArtifactRecord)
        case noExperiment
        case noArtifact
    }

    /// The artifact `name` of experiment `id`.
    public func get(experiment id: UUID, name: String) throws -> Lookup {
        try pool.withConnection { c in
            if let row = try c.query(
                "SELECT \(unsafeSQL: Self.columns) FROM artifacts WHERE experiment_id = \(id) AND name = \(name)"
            ).first {
                return .found(try Self.record(row))
            }
            let exists = try c.query("SELECT 1 FROM experiments WHERE id = \(id)").first != nil
            return exists ? .noArtifact : .noExperiment
        }
    }

    static func record(_ row: PostgresRow) throws -> ArtifactRecord {
        ArtifactRecord(
            experimentID: try row.decode(0, as: UUID.self),
            name: try row.decode(1, as: String.self),
            format: try row.decode(2, as: String.self),
            path: try row.decode(3, as: String.self),
            sizeBytes: try row.decode(4, as: Int64.self),
            sha256: try row.decode(5, as: String?.self),
            rowCount: try row.decode(6, as: Int64?.self),
            createdAt: try row.decode(7, as: Date.self))
    }
}
