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
    /// The run this copy serves (nil: the engine's shared copy): its store
    /// calls wait out outages and carry the run's generation.
    var run: RunStore? = nil

    struct NoSuchDataset: Error, CustomStringConvertible {
        var id: UUID
        var description: String { "no dataset \(id.uuidString.lowercased())" }
    }

    func bound(to store: RunStore) -> any StageEnvironment {
        var copy = self
        copy.run = store
        return copy
    }

    /// Runs a store call through the run's retries (or directly when unbound).
    private func call<T>(_ body: () throws -> T) throws -> T {
        guard let run else { return try body() }
        return try run.write { _ in try body() }
    }

    private var generation: Int64? { run?.fence.generation }

    func datasetFile(id: UUID) throws -> URL {
        let path = try call {
            try pool.withConnection { c in
                try c.query("SELECT path FROM datasets WHERE id = \(id)").first?.decode(0, as: String.self)
            }
        }
        guard let path else { throw NoSuchDataset(id: id) }
        return path.hasPrefix("/") ? URL(fileURLWithPath: path) : dataRoot.appendingPathComponent(path)
    }

    func datasetTimeframe(id: UUID) -> String? {
        try? call {
            try pool.withConnection { c in
                try c.query("SELECT timeframe FROM datasets WHERE id = \(id)").first?.decode(0, as: String.self)
            }
        }
    }

    func datasetSHA256(id: UUID) -> String? {
        try? call {
            try pool.withConnection { c in
                try c.query("SELECT sha256 FROM datasets WHERE id = \(id)").first?.decode(0, as: String?.self)
            }
        }
    }

    func recordArtifact(_ a: ArtifactInfo, experiment: UUID) throws {
        try call {
            try ArtifactStore(pool: pool).record(
                experiment: experiment, name: a.name, format: a.format, path: a.path, sizeBytes: a.sizeBytes, sha256: a.sha256,
                rows: a.rows, generation: generation)
        }
    }
}

extension ServiceStageEnvironment: ResultStore {
    func replaceSignals(_ signals: [SignalRecord], experiment: UUID) throws {
        let rows = signals.map(Self.stored)
        _ = try call { try SignalStore(pool: pool).replace(rows, experiment: experiment, generation: generation) }
    }

    /// In chunks of ``SignalStore/chunkRows``, each its own transaction
    /// retried on its own (``SignalStore/replaceChunk(_:experiment:after:generation:)``
    /// is idempotent), with `checkpoint` between them.
    func replaceSignals(
        _ signals: [SignalRecord], experiment: UUID, checkpoint: () throws(StageCancelled) -> Void
    ) throws {
        let store = SignalStore(pool: pool)
        var watermark: Int64 = 0
        var start = 0
        repeat {
            if start > 0 { try checkpoint() }
            let end = min(signals.count, start + SignalStore.chunkRows)
            let rows = signals[start..<end].map(Self.stored)[...]
            let after = watermark
            watermark = try call { try store.replaceChunk(rows, experiment: experiment, after: after, generation: generation) }
            start = end
        } while start < signals.count
    }

    func signals(experiment: UUID) throws -> [SignalRecord] {
        try call { try SignalStore(pool: pool).all(experiment: experiment) }.map(Self.record)
    }

    func recordReport(_ json: String, experiment: UUID) throws {
        try call { try SignalStore(pool: pool).putReport(json, experiment: experiment, generation: generation) }
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
