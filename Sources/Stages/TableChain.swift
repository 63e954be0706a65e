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
                context.artifacts.set(key(stage, tf), t)
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
    static func run(_ stage: String, _ context: StageContext, _ plan: ExperimentPlan, enrich given: Enrich? = nil) throws {
        guard let enrich = given ?? enricher(stage) else { throw StageError("\(stage) is not a table stage") }
        let inputs = try input(for: stage, context, plan)
        let steps = plan.timeframes.map { tf in
            let rows = inputs[tf]?.count ?? 0
            return context.progress.child(of: context.node, tf.rawValue, total: Int64(rows), weight: Double(max(rows, 1)))
        }
        for (tf, step) in zip(plan.timeframes, steps) {
            try context.checkpoint()
            guard let table = inputs[tf] else { throw StageError("no \(tf) table for \(stage)") }
            context.progress.start(step)
            let started = ContinuousClock.now
            let result = try enrich(context, plan, tf, table, step)
            context.progress.finish(step)
            context.artifacts.set(key(stage, tf), result)
            context.logger.info(
                "\(stage) computed",
                metadata: [
                    "timeframe": "\(tf)", "rows": "\(result.count)", "columns_added": "\(result.columns.count - table.columns.count)",
                    "ms": "\(Int(started.duration(to: .now).seconds * 1000))",
                ])
            let url = checkpointURL(context, stage, tf)
            do { try TableCheckpoint.write(result, to: url) { try context.checkpoint() } } catch let e as StageCancelled {
                throw e
            } catch {
                context.logger.warning("cannot write checkpoint", metadata: ["file": "\(url.path)", "error": "\(error)"])
            }
        }
    }
}
