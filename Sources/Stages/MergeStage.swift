public import Foundation
public import Logging
public import MarketData
public import Pipeline

/// `merge`: per requested timeframe, all symbols on one time index.
///
/// Each timeframe's series go through ``Aligner/align(_:join:tolerance:)`` with
/// `config.merge.join` and `config.merge.tolerance` (``MergeOptions``); the
/// table (`timestamp`, then `<symbol>_<column>` in lowercase) is stored as
/// `merged.<tf>` (``ArtifactKey/merged(_:)``). Merge only merges: coarser
/// timeframes are joined onto a table (from their bars' close times, never
/// earlier) only with `config.merge.higher_timeframes: true`.
///
/// Each table is also written to `checkpoints/merged_<tf>.sftable` under the
/// experiment's folder (``TableCheckpoint``), so that when a later run skips
/// this stage the stages after it reload the table instead of recomputing.
/// When the experiment succeeds, the web view's chart keeps the bars of each
/// table — every `<symbol>_open/high/low/close/volume` column, exact doubles —
/// in `chart/bars_<tf>.sftable` (``keepAfterSuccess(_:logger:)``).
public struct MergeStage: Stage {
    public let name = "merge"

    public init() {}

    /// The columns the chart shows, by suffix.
    static let barColumns = ["_open", "_high", "_low", "_close", "_volume"]

    /// `chart/bars_<tf>.sftable` in `directory`, an experiment's folder.
    public static func chartBarsURL(_ directory: URL, _ tf: Timeframe) -> URL {
        directory.appendingPathComponent("chart/bars_\(tf.rawValue).sftable")
    }

    /// Keeps the OHLCV columns of every merged checkpoint as the chart's bars.
    public func keepAfterSuccess(_ directory: URL, logger: Logger) throws {
        for tf in Timeframe.allCases {
            guard let table = TableCheckpoint.read(StageInputs.mergedCheckpointURL(directory, tf)) else { continue }
            let bars = AlignedTable(
                timestamps: table.timestamps,
                columns: table.columns.filter { c in Self.barColumns.contains { c.name.hasSuffix($0) } })
            try TableCheckpoint.write(bars, to: Self.chartBarsURL(directory, tf))
            logger.info(
                "chart bars kept", metadata: ["timeframe": "\(tf)", "rows": "\(bars.count)", "columns": "\(bars.columns.count)"])
        }
    }

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        let options = plan.options(MergeOptions.self)
        let resampled = try StageInputs.resampled(context, plan)
        // Each table is stored and checkpointed as soon as it is merged; at
        // `spill` it is kept on disk only (later stages read it back).
        var memory = MemoryReaction(context)
        _ = try Self.mergeAll(context, plan, options, resampled, under: context.node) { tf, table in
            try context.checkpoint()
            let pressure = try memory.level("timeframe \(tf)")
            let url = StageInputs.checkpointURL(context, merged: tf)
            do {
                try TableCheckpoint.write(table, to: url) { try context.checkpoint() }
            } catch let e as StageCancelled {
                throw e
            } catch {
                // A checkpoint only saves work later: its failure is not the stage's.
                context.logger.warning("cannot write checkpoint", metadata: ["file": "\(url.path)", "error": "\(error)"])
                context.artifacts.set(ArtifactKey.merged(tf.rawValue), table)
                return false
            }
            if pressure >= .spill {
                context.artifacts.remove(ArtifactKey.merged(tf.rawValue))
            } else {
                context.artifacts.set(ArtifactKey.merged(tf.rawValue), table)
            }
            return false
        }
    }

    /// Merges every timeframe, reporting progress (rows in) under `node`.
    /// - Parameter each: given each table as soon as it is merged; it returns
    ///   whether the table is also to be returned (nil: every table is).
    /// - Returns: one table per timeframe of `plan` (those `each` kept).
    static func mergeAll(
        _ context: StageContext, _ plan: ExperimentPlan, _ options: MergeOptions, _ resampled: [Timeframe: [OHLCVSeries]],
        under node: String, each: ((Timeframe, AlignedTable) throws -> Bool)? = nil
    ) throws -> [Timeframe: AlignedTable] {
        let steps = plan.timeframes.map { tf in
            let rows = resampled[tf]?.reduce(0) { $0 + $1.count } ?? 0
            return context.progress.child(of: node, tf.rawValue, total: Int64(rows), weight: Double(max(rows, 1)))
        }
        var out: [Timeframe: AlignedTable] = [:]
        for (tf, step) in zip(plan.timeframes, steps) {
            try context.checkpoint()
            context.progress.start(step)
            guard let series = resampled[tf] else { throw StageError("no \(tf) series to merge") }
            var table = try Aligner.align(series, join: options.join, tolerance: options.toleranceMicros)
            // Throughput: the rows aligned count as soon as they are (the joins below add columns only).
            context.progress.advance(step, by: Int64(series.reduce(0) { $0 + $1.count }))
            if options.higherTimeframes {
                for higher in plan.timeframes where higher > tf {
                    try context.checkpoint()
                    for s in resampled[higher] ?? [] {
                        table.columns += try Aligner.joinHigherTimeframe(s, onto: table.timestamps)
                    }
                }
            }
            context.progress.finish(step)
            context.logger.info(
                "merged",
                metadata: [
                    "timeframe": "\(tf)", "rows": "\(table.count)", "columns": "\(table.columns.count + 1)",
                    "join": "\(options.join.rawValue)", "tolerance_us": "\(options.toleranceMicros)",
                ])
            if table.count == 0 {
                context.logger.warning(
                    "the merged table is empty: the symbols share no bar time (an outer join or a tolerance keeps them)",
                    metadata: ["timeframe": "\(tf)"])
            }
            if try each?(tf, table) ?? true { out[tf] = table }
        }
        return out
    }
}
