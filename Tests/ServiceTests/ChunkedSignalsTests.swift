import Foundation
import Logging
import Pipeline
import PostgresClient
import Store
import Testing

@testable import Service

/// Fusion's signals are written in chunks (a checkpoint between them, so a
/// pause takes effect within the write) and stay exact: every row once, in
/// the order given, whatever chunk was retried or where a write stopped.
struct ChunkedSignalsTests {
    static func database() throws -> (PostgresPool, UUID) {
        let url = try TestApp.freshDatabase()
        let logger = Logger(label: "test")
        let pool = PostgresPool(configuration: try PostgresConfiguration(url: url), maxConnections: 2, logger: logger)
        try pool.withConnection { c in _ = try Migrator.migrate(c, logger: logger) }
        let experiment = UUID()
        try pool.withConnection { c in
            try c.execute(
                "INSERT INTO experiments (id, name, status, priority, request) VALUES (\(experiment), 'x', 'running', 'medium', '{}')")
        }
        return (pool, experiment)
    }

    static func signals(_ n: Int, tag: String) -> [SignalRecord] {
        (0..<n).map { i in
            SignalRecord(
                symbol: tag, timeframe: "1h", timestampMicros: Int64(n - i) * 3_600_000_000, direction: i % 2 == 0 ? "long" : "short",
                entry: 1 + Double(i) / 3, stop: 0.5, target: 2, horizonBars: i, quality: 0.5, accepted: i % 3 == 0,
                components: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], sources: ["pattern:\(i)"])
        }
    }

    @Test func aChunkedReplaceStoresEveryRowOnceInOrderWithACheckpointBetweenChunks() throws {
        let (pool, experiment) = try Self.database()
        defer { pool.close() }
        let environment = ServiceStageEnvironment(dataRoot: URL(fileURLWithPath: NSTemporaryDirectory()), pool: pool)
        let first = Self.signals(2 * SignalStore.chunkRows + 5, tag: "A")
        var checkpoints = 0
        try environment.replaceSignals(first, experiment: experiment) { () throws(StageCancelled) in checkpoints += 1 }
        #expect(checkpoints == 2, "three chunks, a checkpoint between each two")
        let read = try environment.signals(experiment: experiment)
        #expect(read == first)

        // A second replace removes the first's rows, whatever their number.
        let second = Self.signals(SignalStore.chunkRows / 2, tag: "B")
        checkpoints = 0
        try environment.replaceSignals(second, experiment: experiment) { () throws(StageCancelled) in checkpoints += 1 }
        #expect(checkpoints == 0)
        #expect(try environment.signals(experiment: experiment) == second)

        // Cancelled at the first checkpoint: the first chunk stays, the next replace removes it.
        #expect(throws: StageCancelled()) {
            try environment.replaceSignals(first, experiment: experiment) { () throws(StageCancelled) in throw StageCancelled() }
        }
        #expect(try environment.signals(experiment: experiment) == Array(first.prefix(SignalStore.chunkRows)))
        try environment.replaceSignals([], experiment: experiment) { () throws(StageCancelled) in }
        #expect(try environment.signals(experiment: experiment).isEmpty)
    }

    /// A chunk written again with the same watermark (a retry after its
    /// commit's answer was lost) replaces its first attempt instead of adding to it.
    @Test func aRetriedChunkIsNotStoredTwiceAndAStaleGenerationIsRefused() throws {
        let (pool, experiment) = try Self.database()
        defer { pool.close() }
        let store = SignalStore(pool: pool)
        let rows = Self.signals(30, tag: "A").map(ServiceStageEnvironment.stored)
        let w1 = try store.replaceChunk(rows[0..<10], experiment: experiment, after: 0, generation: 0)
        let w2 = try store.replaceChunk(rows[10..<20], experiment: experiment, after: w1, generation: 0)
        let again = try store.replaceChunk(rows[10..<20], experiment: experiment, after: w1, generation: 0)
        #expect(again > w2)
        let w3 = try store.replaceChunk(rows[20..<30], experiment: experiment, after: again, generation: 0)
        #expect(try store.replaceChunk([], experiment: experiment, after: w3, generation: 0) == w3)
        let back = try store.all(experiment: experiment)
        #expect(back.map(\.horizonBars) == Array(0..<30))
        #expect(back.map(\.id) == back.map(\.id).sorted())

        #expect(throws: StaleGeneration(experimentID: experiment, generation: 1)) {
            try store.replaceChunk(rows[0..<10], experiment: experiment, after: 0, generation: 1)
        }
        #expect(try store.all(experiment: experiment).count == 30)
    }
}
