import Foundation
import Logging
import MarketData
import Pipeline

/// The per-timeframe table grows stage by stage: `merge` builds it, then
/// `features`, `patterns` and `forecast` each add columns. Each of those
/// stages reads the table of the latest of them the experiment runs before
/// it, stores its own as `table.<stage>.<tf>` and checkpoints it to
/// `checkpoints/<stage>_<tf>.sftable`; `export` writes the last one.
///
/// A later run (after a retry or a restart) finds a table in memory, else in
/// its checkpoint (the log says so), else recomputes it from its input, and
/// so on back to `merge`.
enum TableChain {
    typealias Enrich = (StageContext, ExperimentPlan, Timeframe, AlignedTable, _ step: String) throws -> AlignedTable

    /// The stages that produce a table, in pipeline order.
    static let order = ["merge", "features", "patterns", "forecast"]

    static func enricher(_ stage: String) -> Enrich? {
        switch stage {
        case "features": FeaturesStage.enrich
        case "patterns": PatternsStage.enrich
        case "forecast": ForecastStage.enrich
        default: nil
        }
    }

    static func key(_ stage: String, _ tf: Timeframe) -> String {
        stage == "merge" ? ArtifactKey.merged(tf.rawValue) : "table.\(stage).\(tf.rawValue)"
    }

    static func checkpointURL(_ context: StageContext, _ stage: String, _ tf: Timeframe) -> URL {
        stage == "merge"
            ? StageInputs.checkpointURL(context, merged: tf)
            : context.directory.appendingPathComponent("checkpoints/\(stage)_\(tf.rawValue).sftable")
    }

    /// The stage whose table `stage` reads: the latest table stage before it that the plan runs.
    static func producer(before stage: String, _ plan: ExperimentPlan) -> String {
        let earlier = order.firstIndex(of: stage).map { Array(order[..<$0]) } ?? order
        return earlier.last { plan.stages.contains($0) } ?? "merge"
    }

    /// The tables `stage` reads, one per timeframe of the plan.
    static func input(for stage: String, _ context: StageContext, _ plan: ExperimentPlan) throws -> [Timeframe: AlignedTable] {
        try output(of: producer(before: stage, plan), context, plan)
    }

    /// The tables `stage` produced: from memory, a checkpoint, or computed again.
    static func output(of stage: String, _ context: StageContext, _ plan: ExperimentPlan) throws -> [Timeframe: AlignedTable] {
        guard stage != "merge", let enrich = enricher(stage) else { return try StageInputs.merged(context, plan) }
        var out: [Timeframe: AlignedTable] = [:]
        var missing: [Timeframe] = []
        for tf in plan.timeframes {
            if let t = context.artifacts.get(key(stage, tf), as: AlignedTable.self) {
                out[tf] = t
            } else if let t = TableCheckpoint.read(checkpointURL(context, stage, tf)) {
                context.logger.info(
                    "\(stage) table reloaded from its checkpoint",
                    metadata: ["timeframe": "\(tf)", "rows": "\(t.count)", "file": "\(checkpointURL(context, stage, tf).path)"])
                // Under memory pressure it stays on disk for the next reader too.
                if context.memoryPressure < .shrink { context.artifacts.set(key(stage, tf), t) }
                out[tf] = t
            } else {
                missing.append(tf)
            }
        }
        if missing.isEmpty { return out }
        context.logger.info(
            "the \(stage) tables are neither in memory nor checkpointed: computing them again",
            metadata: ["timeframes": "\(missing.map(\.rawValue).joined(separator: ","))"])
        let inputs = try input(for: stage, context, plan)
        let node = context.progress.child(of: context.node, "recover_\(stage)", weight: 1)
        context.progress.start(node)
        for tf in missing {
            guard let table = inputs[tf] else { throw StageError("no \(tf) table for \(stage)") }
            let t = try enrich(context, plan, tf, table, node)
            context.artifacts.set(key(stage, tf), t)
            out[tf] = t
        }
        context.progress.finish(node)
        return out
    }

    /// Runs a table stage: reads its input, enriches each timeframe under its
    /// own progress step, stores and checkpoints the results.
    ///
    /// One timeframe at a time, with the memory pressure read before each
    /// (``MemoryReaction``): at `shrink` the input table just consumed is let
    /// go when its checkpoint is on disk; at `spill` the result, once
    /// checkpointed, is not kept in memory either, and the next reader reads
    /// it back from the file. The tables are the same whatever the pressure.
    static func run(_ stage: String, _ context: StageContext, _ plan: ExperimentPlan, enrich given: Enrich? = nil) throws {
        guard let enrich = given ?? enricher(stage) else { throw StageError("\(stage) is not a table stage") }
        let inputs = try Source(for: stage, context, plan)
        var memory = MemoryReaction(context)
        let steps = plan.timeframes.map { tf in
            let rows = inputs.rows[tf] ?? 0
            return context.progress.child(of: context.node, tf.rawValue, total: Int64(rows), weight: Double(max(rows, 1)))
        }
        for (tf, step) in zip(plan.timeframes, steps) {
            try context.checkpoint()
            let pressure = try memory.level("timeframe \(tf)")
            guard let table = try inputs.table(tf) else { throw StageError("no \(tf) table for \(stage)") }
            context.progress.start(step)
            let started = ContinuousClock.now
            let result = try enrich(context, plan, tf, table, step)
            context.progress.finish(step)
            let url = checkpointURL(context, stage, tf)
            var written = false
            do {
                try TableCheckpoint.write(result, to: url) { try context.checkpoint() }
                written = true
            } catch let e as StageCancelled {
                throw e
            } catch {
                context.logger.warning("cannot write checkpoint", metadata: ["file": "\(url.path)", "error": "\(error)"])
            }
            if written, pressure >= .spill {
                context.artifacts.remove(key(stage, tf))
            } else {
                context.artifacts.set(key(stage, tf), result)
            }
            if pressure >= .shrink { inputs.release(tf) }
            context.logger.info(
                "\(stage) computed",
                metadata: [
                    "timeframe": "\(tf)", "rows": "\(result.count)", "columns_added": "\(result.columns.count - table.columns.count)",
                    "ms": "\(Int(started.duration(to: .now).seconds * 1000))",
                    "kept": written && pressure >= .spill ? "on disk" : "in memory",
                ])
        }
    }

    /// The tables a stage reads, one timeframe at a time: each from memory,
    /// else read back from its checkpoint when asked for (and not kept), so
    /// that a reader under memory pressure holds one table at a time. When a
    /// table is in neither place, every input is recovered at once as
    /// ``input(for:_:_:)`` does.
    struct Source {
        let context: StageContext
        /// The stage whose tables these are.
        let producer: String
        /// The rows of each timeframe's table.
        let rows: [Timeframe: Int]
        /// Tables recovered (computed again) up front, when some were missing.
        private let recovered: [Timeframe: AlignedTable]

        /// The input of `stage`.
        init(for stage: String, _ context: StageContext, _ plan: ExperimentPlan) throws {
            try self.init(of: TableChain.producer(before: stage, plan), context, plan)
        }

        /// The output of `producer`.
        init(of producer: String, _ context: StageContext, _ plan: ExperimentPlan) throws {
            self.context = context
            self.producer = producer
            var rows: [Timeframe: Int] = [:]
            for tf in plan.timeframes {
                if let t = context.artifacts.get(key(producer, tf), as: AlignedTable.self) {
                    rows[tf] = t.count
                } else if let n = TableCheckpoint.rowCount(checkpointURL(context, producer, tf)) {
                    rows[tf] = n
                }
            }
            if rows.count == plan.timeframes.count {
                recovered = [:]
            } else {
                recovered = try output(of: producer, context, plan)
                rows = recovered.mapValues(\.count)
            }
            self.rows = rows
        }

        /// The table of `tf`: from memory, else read back from its checkpoint (not kept in memory).
        func table(_ tf: Timeframe) throws -> AlignedTable? {
            if let t = recovered[tf] ?? context.artifacts.get(key(producer, tf), as: AlignedTable.self) { return t }
            let url = checkpointURL(context, producer, tf)
            guard let t = TableCheckpoint.read(url) else {
                // Gone since (a checkpoint removed under us): recover it as a first reader would.
                return try output(of: producer, context, context.plan)[tf]
            }
            context.logger.info(
                "\(producer) table reloaded from its checkpoint", metadata: ["timeframe": "\(tf)", "rows": "\(t.count)"])
            return t
        }

        /// Lets go of the table of `tf` in memory when its checkpoint is on disk (a later reader reads it back).
        func release(_ tf: Timeframe) {
            guard FileManager.default.fileExists(atPath: checkpointURL(context, producer, tf).path) else { return }
            context.artifacts.remove(key(producer, tf))
        }
    }
}
