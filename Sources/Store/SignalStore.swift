public import Foundation
public import PostgresClient

/// A `signals` row.
public struct StoredSignal: Sendable, Equatable {
    public var id: Int64
    public var symbol: String
    public var timeframe: String
    /// Bar open time, µs since the epoch.
    public var timestampMicros: Int64
    public var direction: String
    public var entry: Double
    public var stop: Double
    public var target: Double
    public var horizonBars: Int
    public var quality: Double
    public var accepted: Bool
    /// The six components as a JSON object (text), for the API. Numbers in
    /// `jsonb` are `numeric`: use ``componentValues`` for the exact doubles.
    public var components: String
    /// The six components, bit for bit as written (`float8[]`), in the order
    /// of `components`' documented names.
    public var componentValues: [Double]
    /// The sources as a JSON array (text).
    public var sources: String
    /// The component formula's quality; `quality` is the calibrated one.
    public var qualityPrior: Double
    /// `target`, `stop`, `horizon` or `open`.
    public var outcome: String
    public var outcomeR: Double?
    /// µs since the epoch; nil while open.
    public var resolvedAtMicros: Int64?

    public init(
        id: Int64 = 0, symbol: String, timeframe: String, timestampMicros: Int64, direction: String, entry: Double,
        stop: Double, target: Double, horizonBars: Int, quality: Double, accepted: Bool, components: String,
        componentValues: [Double] = [], sources: String,
        qualityPrior: Double? = nil, outcome: String = "open", outcomeR: Double? = nil, resolvedAtMicros: Int64? = nil
    ) {
        self.id = id
        self.symbol = symbol
        self.timeframe = timeframe
        self.timestampMicros = timestampMicros
        self.direction = direction
        self.entry = entry
        self.stop = stop
        self.target = target
        self.horizonBars = horizonBars
        self.quality = quality
        self.accepted = accepted
        self.components = components
        self.componentValues = componentValues
        self.sources = sources
        self.qualityPrior = qualityPrior ?? quality
        self.outcome = outcome
        self.outcomeR = outcomeR
        self.resolvedAtMicros = resolvedAtMicros
    }
}

/// What `GET /v1/experiments/{id}/signals` may ask for.
public struct SignalQuery: Sendable {
    public var symbol: String?
    public var timeframe: String?
    public var minQuality: Double?
    public var accepted: Bool?
    /// `target`, `stop`, `horizon` or `open`.
    public var outcome: String?
    /// Bar open time bounds, µs, inclusive.
    public var fromMicros: Int64?
    public var toMicros: Int64?
    /// Rows with an id above this one.
    public var after: Int64 = 0
    public var limit: Int = 500

    public init() {}
}

/// The `signals` and `reports` tables.
public struct SignalStore: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) { self.pool = pool }

    static let columns = """
        id, symbol, timeframe, (EXTRACT(EPOCH FROM ts) * 1000000)::bigint, direction, entry, stop, target, horizon_bars, \
        quality, accepted, components::text, sources::text, component_values::text, quality_prior, outcome, outcome_r, \
        (EXTRACT(EPOCH FROM resolved_at) * 1000000)::bigint
        """

    /// Replaces every signal of the experiment, in one transaction (COPY).
    ///
    /// The rows get increasing ids in the order of `signals` (one COPY), so
    /// ``all(experiment:)`` gives them back in that order. Doubles are sent
    /// in their shortest round-trip text (`float8` and `float8[]`), so they
    /// read back bit for bit.
    /// - Parameter generation: the writing runner's generation: the write is
    ///   refused (``StaleGeneration``) when the experiment moved on.
    /// - Returns: rows written.
    @discardableResult
    public func replace(_ signals: [StoredSignal], experiment id: UUID, generation: Int64? = nil) throws -> Int {
        try pool.withTransaction { tx in
            if let generation { try ExperimentStore.requireGeneration(tx, id, generation: generation) }
            try tx.execute("DELETE FROM signals WHERE experiment_id = \(id)")
            return try Self.copy(signals[...], experiment: id, tx)
        }
    }

    /// The rows one chunk of a chunked replace (``replaceChunk(_:experiment:after:generation:)``)
    /// writes by default: a few milliseconds of COPY, so that the writer
    /// can pause (or stop) between chunks.
    public static let chunkRows = 2_048

    /// Writes one chunk of a replace done in several transactions, so that
    /// the writer reaches a checkpoint between chunks. In one transaction:
    /// removes the experiment's rows with an id above `watermark` (all of
    /// them for the first chunk, whose `watermark` is 0; for a later chunk,
    /// what an earlier attempt of this same chunk may have committed before
    /// its connection failed), then appends `signals` (COPY).
    ///
    /// Idempotent: calling it again with the same `watermark` leaves the
    /// same rows, so a retried chunk is never stored twice; calling it in
    /// order, each with the watermark the previous one returned, leaves the
    /// rows ``replace(_:experiment:generation:)`` would (ids increase in
    /// the order given, so ``all(experiment:)`` reads them back in it).
    /// A writer stopped between chunks leaves a prefix, which the next
    /// replace (starting again at watermark 0) removes.
    /// - Parameters:
    ///   - watermark: 0 for the first chunk, else what the previous chunk returned.
    ///   - generation: the writing runner's generation: the write is refused
    ///     (``StaleGeneration``) when the experiment moved on.
    /// - Returns: the watermark for the next chunk (the largest id of the
    ///   experiment's rows, or `watermark` when this chunk was empty).
    public func replaceChunk(
        _ signals: ArraySlice<StoredSignal>, experiment id: UUID, after watermark: Int64, generation: Int64? = nil
    ) throws -> Int64 {
        try pool.withTransaction { tx in
            if let generation { try ExperimentStore.requireGeneration(tx, id, generation: generation) }
            // `id > watermark` first: the primary key finds the few rows above it.
            try tx.execute("DELETE FROM signals WHERE id > \(watermark) AND experiment_id = \(id)")
            if try Self.copy(signals, experiment: id, tx) == 0 { return watermark }
            let top = try tx.query("SELECT max(id) FROM signals WHERE id > \(watermark) AND experiment_id = \(id)")
            return try top.first?.decode(0, as: Int64?.self) ?? watermark
        }
    }

    /// Appends `signals` to the experiment's rows (COPY, in order).
    /// - Returns: rows written.
    private static func copy(_ signals: ArraySlice<StoredSignal>, experiment id: UUID, _ tx: PostgresConnection) throws -> Int {
        if signals.isEmpty { return 0 }
        return try tx.copyFrom(
            table: "signals",
            columns: [
                "experiment_id", "symbol", "timeframe", "ts", "direction", "entry", "stop", "target", "horizon_bars",
                "quality", "accepted", "components", "sources", "component_values",
                "quality_prior", "outcome", "outcome_r", "resolved_at",
            ]
        ) { w in
            for s in signals {
                w.appendField(id)
                w.appendField(s.symbol)
                w.appendField(s.timeframe)
                w.appendTimestamp(microsecondsSince1970: s.timestampMicros)
                w.appendField(s.direction)
                w.appendField(s.entry)
                w.appendField(s.stop)
                w.appendField(s.target)
                w.appendField(s.horizonBars)
                w.appendField(s.quality)
                w.appendField(s.accepted)
                w.appendField(PostgresJSON(s.components))
                w.appendField(PostgresJSON(s.sources))
                w.appendField(Self.arrayLiteral(s.componentValues))
                w.appendField(s.qualityPrior)
                w.appendField(s.outcome)
                w.appendField(s.outcomeR)
                if let at = s.resolvedAtMicros {
                    w.appendTimestamp(microsecondsSince1970: at)
                } else {
                    w.appendField(Optional<Int64>.none)
                }
                try w.endRow()
            }
        }
    }

    /// One page of the experiment's signals, by id.
    public func list(experiment id: UUID, _ q: SignalQuery) throws -> [StoredSignal] {
        try pool.withConnection { c in
            try c.query(
                """
                SELECT \(unsafeSQL: Self.columns) FROM signals
                WHERE experiment_id = \(id) AND (experiment_id, id) > (\(id), \(q.after))
                  AND (\(q.symbol)::text IS NULL OR symbol = \(q.symbol))
                  AND (\(q.timeframe)::text IS NULL OR timeframe = \(q.timeframe))
                  AND (\(q.minQuality)::float8 IS NULL OR quality >= \(q.minQuality))
                  AND (\(q.accepted)::boolean IS NULL OR accepted = \(q.accepted))
                  AND (\(q.outcome)::text IS NULL OR outcome = \(q.outcome))
                  AND (\(q.fromMicros)::bigint IS NULL OR ts >= TIMESTAMPTZ 'epoch' + \(q.fromMicros) * INTERVAL '1 microsecond')
                  AND (\(q.toMicros)::bigint IS NULL OR ts <= TIMESTAMPTZ 'epoch' + \(q.toMicros) * INTERVAL '1 microsecond')
                ORDER BY experiment_id, id
                LIMIT \(q.limit)
                """
            ).map(Self.record)
        }
    }

    /// Every signal of the experiment, in the order ``replace(_:experiment:)``
    /// was given them (by id).
    public func all(experiment id: UUID) throws -> [StoredSignal] {
        try pool.withConnection { c in
            try c.query("SELECT \(unsafeSQL: Self.columns) FROM signals WHERE experiment_id = \(id) ORDER BY experiment_id, id").map(
                Self.record)
        }
    }

    /// Stores (or replaces) the experiment's backtest report (refused, like
    /// ``replace(_:experiment:generation:)``, when `generation` is stale).
    public func putReport(_ json: String, experiment id: UUID, generation: Int64? = nil) throws {
        try pool.withTransaction { c in
            if let generation { try ExperimentStore.requireGeneration(c, id, generation: generation) }
            try c.execute(
                """
                INSERT INTO reports (experiment_id, body) VALUES (\(id), \(PostgresJSON(json)))
                ON CONFLICT (experiment_id) DO UPDATE SET body = EXCLUDED.body, created_at = now()
                """)
        }
    }

    /// The experiment's report (JSON text), or nil.
    public func report(experiment id: UUID) throws -> String? {
        try pool.withConnection { c in
            try c.query("SELECT body::text FROM reports WHERE experiment_id = \(id)").first?.decode(0, as: String.self)
        }
    }

    static func record(_ row: PostgresRow) throws -> StoredSignal {
        StoredSignal(
            id: try row.decode(0, as: Int64.self), symbol: try row.decode(1, as: String.self),
            timeframe: try row.decode(2, as: String.self), timestampMicros: try row.decode(3, as: Int64.self),
            direction: try row.decode(4, as: String.self), entry: try row.decode(5, as: Double.self),
            stop: try row.decode(6, as: Double.self), target: try row.decode(7, as: Double.self),
            horizonBars: try row.decode(8, as: Int.self), quality: try row.decode(9, as: Double.self),
            accepted: try row.decode(10, as: Bool.self), components: try row.decode(11, as: String.self),
            componentValues: try parseArray(row.decode(13, as: String.self)), sources: try row.decode(12, as: String.self),
            qualityPrior: try row.decode(14, as: Double.self), outcome: try row.decode(15, as: String.self),
            outcomeR: try row.decode(16, as: Double?.self), resolvedAtMicros: try row.decode(17, as: Int64?.self))
    }

    /// A `float8[]` literal: `{v,…}`, each value as PostgreSQL reads back the
    /// same double (`NaN`, `Infinity`, `-Infinity`, else Swift's shortest
    /// round-trip `description`, `-0.0` included).
    static func arrayLiteral(_ values: [Double]) -> String {
        "{" + values.map { $0.postgresValue.text }.joined(separator: ",") + "}"
    }

    struct MalformedArray: Error, CustomStringConvertible {
        var text: String
        var description: String { "signals.component_values: not a float8[] literal: \(text.prefix(80))" }
    }

    /// Parses a one-dimensional `float8[]` as PostgreSQL prints it (`{0.5,-0,NaN}`;
    /// shortest round-trip digits since PostgreSQL 12, which Swift's parser reads
    /// back exactly). `NULL` elements become NaN.
    static func parseArray(_ text: String) throws -> [Double] {
        guard text.hasPrefix("{"), text.hasSuffix("}") else { throw MalformedArray(text: text) }
        let inner = text.dropFirst().dropLast()
        if inner.isEmpty { return [] }
        return try inner.split(separator: ",", omittingEmptySubsequences: false).map { item in
            switch item {
            case "NULL", "NaN": return .nan
            case "Infinity": return .infinity
            case "-Infinity": return -.infinity
            default:
                guard let v = Double(item), v.isFinite else { throw MalformedArray(text: text) }
                return v
            }
        }
    }
}
