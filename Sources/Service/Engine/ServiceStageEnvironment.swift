import Foundation
import MicroHTTP
import Pipeline
import PostgresClient
import Store

/// The stages' view of the service: the data root, uploaded datasets and the
/// `artifacts` table.
struct ServiceStageEnvironment: StageEnvironment {
    let dataRoot: URL
    let pool: PostgresPool

    struct NoSuchDataset: Error, CustomStringConvertible {
        var id: UUID
        var description: String { "no dataset \(id.uuidString.lowercased())" }
    }

    func datasetFile(id: UUID) throws -> URL {
        let path = try pool.withConnection { c in
            try c.query("SELECT path FROM datasets WHERE id = \(id)").first?.decode(0, as: String.self)
        }
        guard let path else { throw NoSuchDataset(id: id) }
        return path.hasPrefix("/") ? URL(fileURLWithPath: path) : dataRoot.appendingPathComponent(path)
    }

    func datasetTimeframe(id: UUID) -> String? {
        try? pool.withConnection { c in
            try c.query("SELECT timeframe FROM datasets WHERE id = \(id)").first?.decode(0, as: String.self)
        }
    }

    func recordArtifact(_ a: ArtifactInfo, experiment: UUID) throws {
        try pool.withConnection { c in
            try c.execute(
                """
                INSERT INTO artifacts (experiment_id, name, format, path, size_bytes, sha256, row_count)
                VALUES (\(experiment), \(a.name), \(a.format), \(a.path), \(a.sizeBytes), \(a.sha256), \(a.rows))
                ON CONFLICT (experiment_id, name) DO UPDATE SET format = EXCLUDED.format, path = EXCLUDED.path,
                    size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256, row_count = EXCLUDED.row_count,
                    created_at = now()
                """)
        }
    }
}

extension ServiceStageEnvironment: ResultStore {
    func replaceSignals(_ signals: [SignalRecord], experiment: UUID) throws {
        try SignalStore(pool: pool).replace(signals.map(Self.stored), experiment: experiment)
    }

    func signals(experiment: UUID) throws -> [SignalRecord] {
        try SignalStore(pool: pool).all(experiment: experiment).map(Self.record)
    }

    func recordReport(_ json: String, experiment: UUID) throws {
        try SignalStore(pool: pool).putReport(json, experiment: experiment)
    }

    static func stored(_ s: SignalRecord) -> StoredSignal {
        let components = zip(SignalRecord.componentNames, s.components)
            .map { "\"\($0)\":\(JSONText.number($1))" }.joined(separator: ",")
        return StoredSignal(
            symbol: s.symbol, timeframe: s.timeframe, timestampMicros: s.timestampMicros, direction: s.direction,
            entry: s.entry, stop: s.stop, target: s.target, horizonBars: s.horizonBars, quality: s.quality,
            accepted: s.accepted, components: "{\(components)}", componentValues: s.components,
            sources: "[" + s.sources.map { JSONText.quote($0) }.joined(separator: ",") + "]",
            qualityPrior: s.qualityPrior, outcome: s.outcome, outcomeR: s.outcomeR, resolvedAtMicros: s.resolvedAtMicros)
    }

    /// The signal as fusion made it: the components from their exact
    /// `float8[]` (not the `jsonb` object, whose numbers are `numeric`).
    static func record(_ s: StoredSignal) -> SignalRecord {
        let sources = (try? JSONSerialization.jsonObject(with: Data(s.sources.utf8))) as? [String] ?? []
        return SignalRecord(
            symbol: s.symbol, timeframe: s.timeframe, timestampMicros: s.timestampMicros, direction: s.direction,
            entry: s.entry, stop: s.stop, target: s.target, horizonBars: s.horizonBars, quality: s.quality,
            accepted: s.accepted,
            components: s.componentValues,
            sources: sources, qualityPrior: s.qualityPrior, outcome: s.outcome, outcomeR: s.outcomeR,
            resolvedAtMicros: s.resolvedAtMicros)
    }
}
