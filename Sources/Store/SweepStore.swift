public import Foundation
public import PostgresClient

/// A `sweeps` row as the API shows it.
public struct SweepRecord: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var createdAt: Date
    /// `created_at` in microseconds since the epoch: the exact list cursor.
    public var createdMicros: Int64
    /// The name of the token that created it (`""` on a server without tokens).
    public var createdBy: String
    /// The base experiment body, as JSON text.
    public var base: String
    /// The parameters as asked, as JSON text.
    public var parameters: String
    /// `grid` or `random`.
    public var mode: String
    public var seed: Int64?
    /// The number of points (children).
    public var count: Int
    public var maxParallel: Int
    public var priority: String
    /// `running`, `paused`, `cancelled`, or `finished` (derived: every child ended).
    public var state: String
}

/// A sweep about to be created.
public struct NewSweep: Sendable {
    public var id: UUID
    public var name: String
    public var createdBy: String
    public var base: String
    public var parameters: String
    public var mode: String
    public var seed: Int64?
    public var maxParallel: Int
    public var priority: String

    public init(
        id: UUID, name: String, createdBy: String, base: String, parameters: String, mode: String, seed: Int64?,
        maxParallel: Int, priority: String
    ) {
        self.id = id
        self.name = name
        self.createdBy = createdBy
        self.base = base
        self.parameters = parameters
        self.mode = mode
        self.seed = seed
        self.maxParallel = maxParallel
        self.priority = priority
    }
}

/// One child experiment of a sweep about to be created.
public struct NewSweepChild: Sendable {
    public var id: UUID
    public var name: String
    /// The normalized experiment request, as JSON text.
    public var request: String
    /// `{"index": i, "parameters": {...}}`, as JSON text.
    public var point: String

    public init(id: UUID, name: String, request: String, point: String) {
        self.id = id
        self.name = name
        self.request = request
        self.point = point
    }
}

/// A child of a sweep with the headline figures of its report.
public struct SweepChildRecord: Sendable {
    public var id: UUID
    public var status: String
    public var percent: Double
    /// `{"index": i, "parameters": {...}}`, as JSON text.
    public var point: String
    /// `{"total_return":…, "sharpe":…, "deflated_sharpe":…, "trades":…, "verdict":…, "p_value":…}`
    /// from its report (every member null without a report), as JSON text.
    public var metrics: String
}

/// Reads and writes `sweeps` and their children in `experiments`.
public struct SweepStore: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    /// `state` as read: a running or paused sweep whose children have all ended is `finished`.
    static let columns = """
        s.id, s.name, s.created_at, (extract(epoch FROM s.created_at) * 1000000)::bigint, s.created_by, s.base::text,
        s.parameters::text, s.mode, s.seed, s.count, s.max_parallel, s.priority,
        CASE WHEN s.state IN ('running', 'paused') AND NOT EXISTS (
                 SELECT 1 FROM experiments c WHERE c.sweep_id = s.id
                   AND c.status NOT IN ('succeeded', 'failed', 'cancelled'))
             THEN 'finished' ELSE s.state END
        """

    /// What a create gets.
    public enum Create: Sendable {
        case created(SweepRecord)
        /// The key was used before by this token with the same body: that sweep.
        case replay(SweepRecord)
        /// The key was used before by this token with a different body.
        case mismatch
    }

    /// Inserts the sweep and every child (queued, with its `created` event) in
    /// one transaction. With an idempotency key, a second call by the same
    /// token with the same body gets the first sweep; concurrent calls with one
    /// key create one sweep (the unique index makes the second wait, then yield).
    /// - Parameter alsoInTransaction: more rows a child owns (its webhook subscriptions).
    public func create(
        _ sweep: NewSweep, children: [NewSweepChild], idempotencyKey key: String?, requestHash: String?,
        alsoInTransaction: (PostgresConnection, UUID) throws -> Void = { _, _ in }
    ) throws -> Create {
        try pool.withTransaction { tx in
            let inserted = try tx.query(
                """
                INSERT INTO sweeps AS s (id, name, created_by, base, parameters, mode, seed, count, max_parallel, priority,
                                         idempotency_key, request_hash)
                VALUES (\(sweep.id), \(sweep.name), \(sweep.createdBy), \(PostgresJSON(sweep.base)), \(sweep.parameters)::json,
                        \(sweep.mode), \(sweep.seed), \(children.count), \(sweep.maxParallel), \(sweep.priority), \(key), \(requestHash))
                ON CONFLICT (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING s.id
                """)
            if inserted.first == nil, let key {
                guard
                    let row = try tx.query(
                        """
                        SELECT s.request_hash, \(unsafeSQL: Self.columns) FROM sweeps s
                        WHERE s.created_by = \(sweep.createdBy) AND s.idempotency_key = \(key)
                        """
                    ).first
                else { throw PostgresError(code: .decoding, message: "idempotency key vanished") }
                guard try row.decode(0, as: String?.self) == requestHash else { return .mismatch }
                return .replay(try Self.record(row, from: 1))
            }
            for child in children {
                _ = try ExperimentStore.insertQueued(
                    tx, id: child.id, name: child.name, priority: sweep.priority, request: child.request, sweepID: sweep.id,
                    sweepPoint: child.point)
                try alsoInTransaction(tx, child.id)
            }
            guard let row = try tx.query("SELECT \(unsafeSQL: Self.columns) FROM sweeps s WHERE s.id = \(sweep.id)").first else {
                throw PostgresError(code: .decoding, message: "INSERT returned no row")
            }
            return .created(try Self.record(row, from: 0))
        }
    }

    /// The sweep `id`, or nil.
    public func get(_ id: UUID) throws -> SweepRecord? {
        try pool.withConnection { c in
            try c.query("SELECT \(unsafeSQL: Self.columns) FROM sweeps s WHERE s.id = \(id)").first.map { try Self.record($0, from: 0) }
        }
    }

    /// Newest first, after a cursor.
    public func list(after: ListCursor?, limit: Int) throws -> [SweepRecord] {
        let afterMicros = after?.micros
        let afterID = after?.id
        return try pool.withConnection { c in
            try c.query(
                """
                SELECT \(unsafeSQL: Self.columns) FROM sweeps s
                WHERE (\(afterMicros)::bigint IS NULL
                       OR (s.created_at, s.id) < (TIMESTAMPTZ 'epoch' + \(afterMicros) * INTERVAL '1 microsecond', \(afterID)::uuid))
                ORDER BY s.created_at DESC, s.id DESC
                LIMIT \(limit)
                """
            ).map { try Self.record($0, from: 0) }
        }
    }

    /// Sets the asked state when the current one is among `from`.
    /// - Returns: true when the row changed.
    public func setState(_ id: UUID, to state: String, from: [String]) throws -> Bool {
        let list = from.joined(separator: ",")
        return try pool.withConnection { c in
            try c.query(
                "UPDATE sweeps SET state = \(state) WHERE id = \(id) AND state = ANY(string_to_array(\(list), ',')) RETURNING id"
            ).first != nil
        }
    }

    /// The children's ids and states, in point order.
    public func childStates(_ id: UUID) throws -> [(UUID, String)] {
        try pool.withConnection { c in
            try c.query(
                "SELECT id, status FROM experiments WHERE sweep_id = \(id) ORDER BY (sweep_point->>'index')::int, id"
            ).map { (try $0.decode(0, as: UUID.self), try $0.decode(1, as: String.self)) }
        }
    }

    /// The number of children in each state, per sweep.
    public func counts(_ ids: [UUID]) throws -> [UUID: [String: Int]] {
        guard !ids.isEmpty else { return [:] }
        let list = ids.map { $0.uuidString.lowercased() }.joined(separator: ",")
        return try pool.withConnection { c in
            var out: [UUID: [String: Int]] = [:]
            for row in try c.query(
                """
                SELECT sweep_id, status, count(*) FROM experiments
                WHERE sweep_id = ANY(string_to_array(\(list), ',')::uuid[]) GROUP BY sweep_id, status
                """)
            {
                out[try row.decode(0, as: UUID.self), default: [:]][try row.decode(1, as: String.self)] = try row.decode(2, as: Int.self)
            }
            return out
        }
    }

    /// Every child with its point and headline figures, in point order.
    public func children(_ id: UUID) throws -> [SweepChildRecord] {
        try pool.withConnection { c in
            try c.query(
                """
                SELECT e.id, e.status, e.percent, e.sweep_point::text,
                    jsonb_build_object(
                        'total_return', r.body #> '{backtest,summary,total_return}',
                        'sharpe', r.body #> '{backtest,summary,sharpe}',
                        'deflated_sharpe', r.body #> '{evaluation,overall,deflated_sharpe}',
                        'trades', r.body #> '{backtest,summary,trades}',
                        'verdict', r.body #> '{evaluation,overall,verdict}',
                        'p_value', r.body #> '{evaluation,overall,baselines,random_entries,p_value}')::text
                FROM experiments e LEFT JOIN reports r ON r.experiment_id = e.id
                WHERE e.sweep_id = \(id)
                ORDER BY (e.sweep_point->>'index')::int, e.id
                """
            ).map { r in
                SweepChildRecord(
                    id: try r.decode(0, as: UUID.self), status: try r.decode(1, as: String.self), percent: try r.decode(2, as: Double.self),
                    point: try r.decode(3, as: String?.self) ?? "{}", metrics: try r.decode(4, as: String.self))
            }
        }
    }

    static func record(_ row: PostgresRow, from i: Int) throws -> SweepRecord {
        SweepRecord(
            id: try row.decode(i, as: UUID.self), name: try row.decode(i + 1, as: String.self),
            createdAt: try row.decode(i + 2, as: Date.self), createdMicros: try row.decode(i + 3, as: Int64.self),
            createdBy: try row.decode(i + 4, as: String.self), base: try row.decode(i + 5, as: String.self),
            parameters: try row.decode(i + 6, as: String.self), mode: try row.decode(i + 7, as: String.self),
            seed: try row.decode(i + 8, as: Int64?.self), count: try row.decode(i + 9, as: Int.self),
            maxParallel: try row.decode(i + 10, as: Int.self), priority: try row.decode(i + 11, as: String.self),
            state: try row.decode(i + 12, as: String.self))
    }
}
