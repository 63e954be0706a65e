public import Foundation
public import PostgresClient

/// A `datasets` row: an uploaded, validated OHLCV file under the data root.
public struct DatasetRecord: Sendable, Equatable {
    public var id: UUID
    public var symbol: String
    public var timeframe: String
    /// The file, relative to the data root (`datasets/<id>.csv` or `.csv.gz`).
    public var path: String
    public var sizeBytes: Int64
    public var rowCount: Int64?
    /// The first and last bar's timestamp, microseconds since the epoch (UTC).
    public var firstMicros: Int64?
    public var lastMicros: Int64?
    /// Lowercase hex SHA-256 of the stored file's bytes (as uploaded).
    public var sha256: String?
    public var createdAt: Date
    /// `created_at` in microseconds since the epoch: the exact list cursor.
    public var createdMicros: Int64

    public init(
        id: UUID, symbol: String, timeframe: String, path: String, sizeBytes: Int64, rowCount: Int64?,
        firstMicros: Int64?, lastMicros: Int64?, sha256: String?, createdAt: Date = Date(), createdMicros: Int64 = 0
    ) {
        self.id = id
        self.symbol = symbol
        self.timeframe = timeframe
        self.path = path
        self.sizeBytes = sizeBytes
        self.rowCount = rowCount
        self.firstMicros = firstMicros
        self.lastMicros = lastMicros
        self.sha256 = sha256
        self.createdAt = createdAt
        self.createdMicros = createdMicros
    }
}

/// Reads and writes `datasets`.
public struct DatasetStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns = """
        id, symbol, timeframe, path, size_bytes, row_count,
        (extract(epoch FROM first_ts) * 1000000)::bigint, (extract(epoch FROM last_ts) * 1000000)::bigint,
        sha256, created_at, (extract(epoch FROM created_at) * 1000000)::bigint
        """

    /// Inserts a dataset; `createdAt` and `createdMicros` of `d` are ignored
    /// (the database sets them).
    /// - Returns: the row as stored.
    public func insert(_ d: DatasetRecord) throws -> DatasetRecord {
        try pool.withConnection { c in
            let rows = try c.query(
                """
                INSERT INTO datasets (id, symbol, timeframe, path, size_bytes, row_count, first_ts, last_ts, sha256)
                VALUES (\(d.id), \(d.symbol), \(d.timeframe), \(d.path), \(d.sizeBytes), \(d.rowCount),
                        TIMESTAMPTZ 'epoch' + \(d.firstMicros)::bigint * INTERVAL '1 microsecond',
                        TIMESTAMPTZ 'epoch' + \(d.lastMicros)::bigint * INTERVAL '1 microsecond', \(d.sha256))
                RETURNING \(unsafeSQL: Self.columns)
                """)
            guard let row = rows.first else { throw PostgresError(code: .decoding, message: "INSERT returned no row") }
            return try Self.record(row)
        }
    }

    /// The dataset `id`, or nil.
    public func get(_ id: UUID) throws -> DatasetRecord? {
        try pool.withConnection { c in
            try c.query("SELECT \(unsafeSQL: Self.columns) FROM datasets WHERE id = \(id)").first.map(Self.record)
        }
    }

    /// Newest first, optionally of one symbol and/or timeframe, after a cursor.
    public func list(symbol: String?, timeframe: String?, after: ListCursor?, limit: Int) throws -> [DatasetRecord] {
        let afterMicros = after?.micros
        let afterID = after?.id
        return try pool.withConnection { c in
            try c.query(
                """
                SELECT \(unsafeSQL: Self.columns) FROM datasets
                WHERE (\(symbol)::text IS NULL OR symbol = \(symbol)::text)
                  AND (\(timeframe)::text IS NULL OR timeframe = \(timeframe)::text)
                  AND (\(afterMicros)::bigint IS NULL
                       OR (created_at, id) < (TIMESTAMPTZ 'epoch' + \(afterMicros) * INTERVAL '1 microsecond', \(afterID)::uuid))
                ORDER BY created_at DESC, id DESC
                LIMIT \(limit)
                """
            ).map(Self.record)
        }
    }

    /// What `delete` did.
    public enum Deletion: Sendable, Equatable {
        /// The row is gone; its file (relative to the data root) is the caller's to remove.
        case deleted(DatasetRecord)
        case notFound
        /// Experiments that have not finished name the dataset (their ids).
        case inUse([UUID])
    }

    /// Deletes the dataset's row unless an unfinished experiment names it
    /// (`queued`, `running`, `pausing`, `paused`, `cancelling` or `interrupted`).
    public func delete(_ id: UUID) throws -> Deletion {
        let idText = id.uuidString.lowercased()
        return try pool.withTransaction { tx in
            // Lock the row so a concurrent delete sees it gone.
            guard try tx.query("SELECT id FROM datasets WHERE id = \(id) FOR UPDATE").first != nil else { return .notFound }
            let users = try tx.query(
                """
                SELECT id FROM experiments
                WHERE status IN ('queued', 'running', 'pausing', 'paused', 'cancelling', 'interrupted')
                  AND request -> 'datasets' @> jsonb_build_array(jsonb_build_object('dataset_id', \(idText)::text))
                ORDER BY created_at LIMIT 10
                """
            ).map { try $0.decode(0, as: UUID.self) }
            if !users.isEmpty { return .inUse(users) }
            guard let row = try tx.query("DELETE FROM datasets WHERE id = \(id) RETURNING \(unsafeSQL: Self.columns)").first else {
                return .notFound
            }
            return .deleted(try Self.record(row))
        }
    }

    static func record(_ row: PostgresRow) throws -> DatasetRecord {
        DatasetRecord(
            id: try row.decode(0, as: UUID.self),
            symbol: try row.decode(1, as: String.self),
            timeframe: try row.decode(2, as: String.self),
            path: try row.decode(3, as: String.self),
            sizeBytes: try row.decode(4, as: Int64.self),
            rowCount: try row.decode(5, as: Int64?.self),
            firstMicros: try row.decode(6, as: Int64?.self),
            lastMicros: try row.decode(7, as: Int64?.self),
            sha256: try row.decode(8, as: String?.self),
            createdAt: try row.decode(9, as: Date.self),
            createdMicros: try row.decode(10, as: Int64.self))
    }
}
