import Foundation
import Logging

/// One run's use of the ``StageCache``: the keys of its stages (computed
/// once, chained in the experiment's stage order), restoring a stage whose
/// entry is there, storing one just computed. A stage that is not a
/// ``CacheableStage``, or whose material is nil, breaks the chain: the
/// stages after it are computed and not stored.
struct StageCacheRun {
    let cache: StageCache?
    let registry: StageRegistry
    let stages: [String]
    private var keys: [String: String]?

    init(cache: StageCache?, registry: StageRegistry, stages: [String]) {
        self.cache = cache
        self.registry = registry
        self.stages = stages
    }

    /// A stage restored from the cache.
    struct Restored {
        var key: String
        var durationMs: Double
    }

    /// The key of every cacheable stage of the run (computed at the first call).
    mutating func key(_ name: String, _ context: StageContext) -> String? {
        guard cache != nil else { return nil }
        if keys == nil {
            var out: [String: String] = [:]
            var previous: String? = nil
            for (i, stage) in stages.enumerated() {
                guard let cacheable = registry.stage(stage) as? any CacheableStage else { break }
                let material: String?
                do { material = try cacheable.cacheKeyMaterial(context) } catch {
                    context.logger.warning(
                        "stage cache: no key (the stages from here on are computed)",
                        metadata: ["cache_stage": "\(stage)", "error": "\(error)"])
                    break
                }
                guard let material else { break }
                let key = StageCacheKey.key(stage: stage, material: material, previous: i == 0 ? nil : previous)
                out[stage] = key
                previous = key
            }
            keys = out
        }
        return keys?[name]
    }

    /// Restores `stage` from its entry when there is an intact one.
    /// - Returns: the key and time taken when restored; nil when the stage must be computed.
    /// - Throws: ``RunStop`` and `StageCancelled` (any other failure to restore means computing).
    mutating func restore(_ stage: any Stage, _ context: StageContext, at index: Int) throws -> Restored? {
        guard let cache, let cacheable = stage as? any CacheableStage, let key = key(stage.name, context) else { return nil }
        // The next stage reads this output when it is computed (no entry for its key).
        var needed = false
        if index + 1 < stages.count {
            if let next = self.key(stages[index + 1], context) { needed = !cache.contains(next) } else { needed = true }
        }
        let started = ContinuousClock.now
        let suspendedBefore = context.suspendedTime
        let outcome: StageCache.ReadOutcome
        do {
            let checkpoint: () throws -> Void = { try context.checkpoint() }
            outcome = try cache.read(key, verify: cacheable.restoreReadsEntry(needed: needed), checkpoint: checkpoint) { entry in
                try cacheable.restoreCacheEntry(context, from: entry, needed: needed)
            }
        } catch let e as RunStop {
            throw e
        } catch let e as StageCancelled {
            throw e
        } catch {
            if let stop = context.runStore?.stopped { throw stop }
            context.logger.warning(
                "stage cache: restoring failed; computing the stage", metadata: ["cache_key": "\(key)", "error": "\(error)"])
            return nil
        }
        switch outcome {
        case .miss:
            return nil
        case .corrupt(let reason):
            context.logger.warning(
                "stage cache: the entry is corrupted; dropped, computing the stage",
                metadata: ["cache_key": "\(key)", "reason": "\(reason)"])
            try context.event("cache_corrupt", ["key": key, "reason": reason])
            return nil
        case .hit:
            context.progress.finish(context.node, .cached)
            let elapsed = started.duration(to: .now) - (context.suspendedTime - suspendedBefore)
            let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
            context.logger.info(
                "stage cached: restored from the stage cache", metadata: ["cache_key": "\(key)", "duration_ms": "\(Int(ms))"])
            return Restored(key: key, durationMs: ms)
        }
    }

    /// Stores the output `stage` just computed under its key (a failure is
    /// logged, never the stage's).
    /// - Throws: ``RunStop`` and `StageCancelled` only.
    mutating func store(_ stage: any Stage, _ context: StageContext) throws {
        guard let cache, let cacheable = stage as? any CacheableStage, let key = key(stage.name, context) else { return }
        do {
            let checkpoint: () throws -> Void = { try context.checkpoint() }
            let stored = try cache.write(key, stage: stage.name, checkpoint: checkpoint) { entry in
                try cacheable.writeCacheEntry(context, to: entry)
            }
            if stored { context.logger.info("stage output stored in the stage cache", metadata: ["cache_key": "\(key)"]) }
        } catch let e as RunStop {
            throw e
        } catch let e as StageCancelled {
            throw e
        } catch {
            context.logger.warning("stage cache: cannot store the output", metadata: ["cache_key": "\(key)", "error": "\(error)"])
        }
    }
}
