import Foundation
import Logging

/// One run's use of the ``StageCache``: the keys of its stages (computed
/// once, chained in the experiment's stage order), restoring a stage whose
/// entry is there, storing one just computed. A stage that is not a
/// ``CacheableStage``, or whose material is nil, breaks the chain: the
/// stages after it are computed and not stored. A stage that must be
/// computed first restores the parts of its output that have keys of their
/// own (``CacheableStage/cacheParts(_:)``), and stores those it computed.
struct StageCacheRun {
    let cache: StageCache?
    let registry: StageRegistry
    let stages: [String]
    private var keys: [String: String]?
    /// The key each stage hands the next one (its entry's key, plus its output material when it has one).
    private var chained: [String: String] = [:]
    /// The parts of the stage being computed, with their keys and whether they were restored.
    private var parts: [(part: StageCachePart, key: String, restored: Bool)] = []
    /// The key of the stage being computed, claimed (another run of this process needing it waits for its entry).
    private var claim: StageCache.Claim?
    /// How long a run waits for another's entry before it computes the stage itself (e.g. the other is paused).
    static let claimWait = Duration.seconds(120)

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
                let output: String?
                do {
                    material = try cacheable.cacheKeyMaterial(context)
                    output = try cacheable.cacheOutputMaterial(context)
                } catch {
                    context.logger.warning(
                        "stage cache: no key (the stages from here on are computed)",
                        metadata: ["cache_stage": "\(stage)", "error": "\(error)"])
                    break
                }
                guard let material else { break }
                let key = StageCacheKey.key(stage: stage, material: material, previous: i == 0 ? nil : previous)
                out[stage] = key
                // What the entry leaves out but the output depends on: the next stage's key covers it.
                previous = output.map { StageCacheKey.key(stage: stage + ".output", material: $0, previous: key) } ?? key
                chained[stage] = previous
            }
            keys = out
        }
        return keys?[name]
    }

    /// Restores `stage` from its entry when there is an intact one.
    /// - Returns: the key and time taken when restored; nil when the stage must be computed.
    /// - Throws: ``RunStop`` and `StageCancelled` (any other failure to restore means computing).
    mutating func restore(_ stage: any Stage, _ context: StageContext, at index: Int) throws -> Restored? {
        parts = []
        guard let cache, let cacheable = stage as? any CacheableStage, let key = key(stage.name, context) else { return nil }
        claim = nil
        let next = index + 1 < stages.count ? self.key(stages[index + 1], context) : nil
        let started = ContinuousClock.now
        let suspendedBefore = context.suspendedTime
        var waited = false
        var outcome: StageCache.ReadOutcome
        while true {
            // The next stage reads this output when it is computed (no entry for its key, none being computed).
            var needed = false
            if index + 1 < stages.count {
                if let next { needed = !cache.contains(next) && !cache.isClaimed(next) } else { needed = true }
            }
            do {
                let checkpoint: () throws -> Void = { try context.checkpoint() }
                outcome = try cache.read(key, verify: cacheable.restoreReadsEntry(needed: needed), checkpoint: checkpoint) { entry in
                    try cacheable.restoreCacheEntry(context, from: entry, needed: needed)
                }
            } catch let e as RunStop {
                throw e
            } catch let e as StageCancelled {
                throw e
            } catch is StageCacheValuesNotKept {
                context.logger.info(
                    "stage cache: the entry keeps no values and the next stage needs them; computing the stage",
                    metadata: ["cache_key": "\(key)"])
                claim = cache.claim(key)
                return nil
            } catch {
                if let stop = context.runStore?.stopped { throw stop }
                context.logger.warning(
                    "stage cache: restoring failed; computing the stage", metadata: ["cache_key": "\(key)", "error": "\(error)"])
                claim = cache.claim(key)
                return nil
            }
            if case .corrupt(let reason) = outcome {
                context.logger.warning(
                    "stage cache: the entry is corrupted; dropped, computing the stage",
                    metadata: ["cache_key": "\(key)", "reason": "\(reason)"])
                try context.event("cache_corrupt", ["key": key, "reason": reason])
            }
            guard outcome != .hit else { break }
            if let mine = cache.claim(key) {
                claim = mine
            } else if !waited {
                // Another run of this process is computing the same output: its entry, not a second computation.
                waited = true
                try waitForEntry(key, context)
                continue
            }
            try restoreParts(cacheable, context)
            return nil
        }
        switch outcome {
        case .miss, .corrupt:
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

    /// Waits (parking at the run's checkpoints) while another run of this
    /// process holds the claim of `key`, at most ``claimWait``.
    /// - Throws: what the checkpoint throws (pause, cancel).
    private func waitForEntry(_ key: String, _ context: StageContext) throws {
        guard let cache, cache.isClaimed(key) else { return }
        context.logger.info(
            "stage cache: another experiment is computing this stage; waiting for its entry", metadata: ["cache_key": "\(key)"])
        let deadline = ContinuousClock.now + Self.claimWait
        while cache.isClaimed(key), ContinuousClock.now < deadline {
            try context.checkpoint()
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    /// Restores the parts of `stage`'s output that have an intact entry of
    /// their own (before the stage is computed; it then leaves them out).
    /// - Throws: ``RunStop`` and `StageCancelled` only.
    private mutating func restoreParts(_ stage: any CacheableStage, _ context: StageContext) throws {
        parts = []
        guard let cache else { return }
        let declared: [StageCachePart]
        do { declared = try stage.cacheParts(context) } catch {
            context.logger.warning("stage cache: no parts", metadata: ["error": "\(error)"])
            return
        }
        for part in declared {
            guard let after = chained[part.after] else { continue }
            let key = StageCacheKey.key(stage: "\(stage.name).\(part.name)", material: part.material, previous: after)
            var restored = false
            do {
                let checkpoint: () throws -> Void = { try context.checkpoint() }
                let outcome = try cache.read(key, verify: true, checkpoint: checkpoint) { entry in
                    try stage.restoreCachePart(part.name, context, from: entry)
                }
                restored = outcome == .hit
                if case .corrupt(let reason) = outcome {
                    context.logger.warning(
                        "stage cache: a part's entry is corrupted; dropped, computing it",
                        metadata: ["cache_part": "\(part.name)", "cache_key": "\(key)", "reason": "\(reason)"])
                    try context.event("cache_corrupt", ["key": key, "part": part.name, "reason": reason])
                }
            } catch let e as RunStop {
                throw e
            } catch let e as StageCancelled {
                throw e
            } catch {
                if let stop = context.runStore?.stopped { throw stop }
                context.logger.warning(
                    "stage cache: restoring a part failed; computing it",
                    metadata: ["cache_part": "\(part.name)", "cache_key": "\(key)", "error": "\(error)"])
            }
            if restored {
                context.logger.info(
                    "stage cache: part of the output restored; the stage computes the rest",
                    metadata: ["cache_part": "\(part.name)", "cache_key": "\(key)"])
            }
            parts.append((part, key, restored))
        }
    }

    /// Stores the output `stage` just computed under its key, and the parts
    /// of it that were computed under theirs (a failure is logged, never the stage's).
    /// - Throws: ``RunStop`` and `StageCancelled` only.
    mutating func store(_ stage: any Stage, _ context: StageContext) throws {
        defer {
            parts = []
            // Written (or not storable): a run waiting for it reads the entry, or computes.
            claim = nil
        }
        guard let cache, let cacheable = stage as? any CacheableStage, let key = key(stage.name, context) else { return }
        var writes: [(key: String, name: String, body: (StageCacheEntryWriter) throws -> Bool)] = [
            (key, stage.name, { entry in try cacheable.writeCacheEntry(context, to: entry) })
        ]
        for (part, partKey, restored) in parts where !restored {
            writes.append(
                (partKey, "\(stage.name).\(part.name)", { entry in try cacheable.writeCachePart(part.name, context, to: entry) }))
        }
        for write in writes {
            do {
                let checkpoint: () throws -> Void = { try context.checkpoint() }
                let stored = try cache.write(write.key, stage: write.name, checkpoint: checkpoint, write.body)
                if stored {
                    context.logger.info(
                        "stage output stored in the stage cache", metadata: ["cache_key": "\(write.key)", "cache_entry": "\(write.name)"])
                }
            } catch let e as RunStop {
                throw e
            } catch let e as StageCancelled {
                throw e
            } catch {
                context.logger.warning(
                    "stage cache: cannot store the output", metadata: ["cache_key": "\(write.key)", "error": "\(error)"])
            }
        }
    }
}
