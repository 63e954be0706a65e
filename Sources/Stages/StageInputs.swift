import Foundation
import Logging
import MarketData
import Pipeline

/// What a stage needs from the stages before it: from `artifacts` when they
/// ran in this process, otherwise recovered — a merged table from its
/// checkpoint file, series by reading and resampling the datasets again —
/// under a `recover` step of the asking stage's progress.
enum StageInputs {
    /// The loaded datasets, in request order: bars in memory, or files to stream.
    static func baseInputs(_ context: StageContext, _ plan: ExperimentPlan) throws -> [BaseInput] {
        let found = plan.symbols.compactMap { symbol -> BaseInput? in
            if let s = context.artifacts.get(ArtifactKey.series(symbol), as: OHLCVSeries.self) { return .series(s) }
            return context.artifacts.get(ArtifactKey.streamed(symbol), as: StreamedDataset.self).map { .streamed($0) }
        }
        if found.count == plan.symbols.count { return found }
        context.logger.info("the loaded series are not in memory (load ran in an earlier run): reading the datasets again")
        let node = context.progress.child(of: context.node, "recover_load", weight: 1)
        let inputs = try LoadStage.loadAll(context, plan, under: node)
        context.progress.finish(node)
        store(inputs, in: context)
        return inputs
    }

    /// Hands `load`'s results to later stages.
    static func store(_ inputs: [BaseInput], in context: StageContext) {
        for input in inputs {
            switch input {
            case .series(let s): context.artifacts.set(ArtifactKey.series(s.symbol), s)
            case .streamed(let d): context.artifacts.set(ArtifactKey.streamed(d.symbol), d)
            }
        }
    }

    /// The resampled series per requested timeframe.
    static func resampled(_ context: StageContext, _ plan: ExperimentPlan) throws -> [Timeframe: [OHLCVSeries]] {
        var out: [Timeframe: [OHLCVSeries]] = [:]
        for tf in plan.timeframes {
            let list = plan.symbols.compactMap {
                context.artifacts.get(ArtifactKey.series($0, tf.rawValue), as: OHLCVSeries.self)
            }
            guard list.count == plan.symbols.count else { out = [:]; break }
            out[tf] = list
        }
        if !out.isEmpty { return out }
        let base = try baseInputs(context, plan)
        context.logger.info("the resampled series are not in memory (resample ran in an earlier run): resampling again")
        let node = context.progress.child(of: context.node, "recover_resample", weight: 1)
        out = try ResampleStage.resampleAll(context, plan, base, under: node)
        context.progress.finish(node)
        for (tf, list) in out {
            for s in list { context.artifacts.set(ArtifactKey.series(s.symbol, tf.rawValue), s) }
        }
        return out
    }

    /// The merged table of every requested timeframe.
    static func merged(_ context: StageContext, _ plan: ExperimentPlan) throws -> [Timeframe: AlignedTable] {
        var out: [Timeframe: AlignedTable] = [:]
        var missing = false
        for tf in plan.timeframes {
            if let t = context.artifacts.get(ArtifactKey.merged(tf.rawValue), as: AlignedTable.self) {
                out[tf] = t
            } else if let t = TableCheckpoint.read(checkpointURL(context, merged: tf)) {
                context.logger.info(
                    "merged table reloaded from its checkpoint",
                    metadata: ["timeframe": "\(tf)", "rows": "\(t.count)", "file": "\(checkpointURL(context, merged: tf).path)"])
                context.artifacts.set(ArtifactKey.merged(tf.rawValue), t)
                out[tf] = t
            } else {
                missing = true
            }
        }
        if !missing { return out }
        context.logger.info("a merged table is neither in memory nor checkpointed: merging again")
        let options = plan.options(MergeOptions.self)
        let resampled = try resampled(context, plan)
        let node = context.progress.child(of: context.node, "recover_merge", weight: 1)
        let tables = try MergeStage.mergeAll(context, plan, options, resampled, under: node)
        context.progress.finish(node)
        for (tf, t) in tables { context.artifacts.set(ArtifactKey.merged(tf.rawValue), t) }
        return tables
    }

    /// `checkpoints/merged_<tf>.sftable` in the experiment's folder.
    static func checkpointURL(_ context: StageContext, merged tf: Timeframe) -> URL {
        mergedCheckpointURL(context.directory, tf)
    }

    /// `checkpoints/merged_<tf>.sftable` in `directory`, an experiment's folder.
    static func mergedCheckpointURL(_ directory: URL, _ tf: Timeframe) -> URL {
        directory.appendingPathComponent("checkpoints/merged_\(tf.rawValue).sftable")
    }
}
