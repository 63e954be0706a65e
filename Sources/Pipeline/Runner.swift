import Foundation
import Logging
import Synchronization

/// Runs one claimed experiment's stages, in order, on its own thread.
final class Runner: Sendable {
    let experiment: ClaimedExperiment
    let gate = PauseGate()
    let progress: ProgressTree
    let artifacts = Artifacts()
    /// Set by `Engine.drain`: a cancel at a checkpoint means "interrupted".
    let interrupting = Atomic<Bool>(false)
    /// The claim this runner holds; every write names it.
    let fence: Fence
    /// The run's access to the store (retries, outage bound, fencing).
    let store: RunStore
    private unowned let engine: Engine

    private struct LeaseState {
        /// When the last renewal that covered this run was sent.
        var renewedAt: ContinuousClock.Instant
        /// Since when the runner is held at its checkpoint (lease not renewed).
        var heldSince: ContinuousClock.Instant?
        /// The final state is being recorded: a missing renewal means nothing now.
        var finishing = false
    }
    private let lease: Mutex<LeaseState>

    init(engine: Engine, experiment: ClaimedExperiment) {
        self.engine = engine
        self.experiment = experiment
        self.progress = ProgressTree(stages: experiment.stages)
        let fence = Fence(owner: engine.configuration.owner, generation: experiment.generation)
        self.fence = fence
        let repository = engine.repository
        store = RunStore(
            experimentID: experiment.id, fence: fence, gate: gate,
            outageWait: .milliseconds(Int64(engine.configuration.outageWaitSeconds * 1000)), logger: engine.logger,
            isTransient: { repository.isTransient($0) }, isFenced: { repository.isFenced($0) })
        lease = Mutex(LeaseState(renewedAt: .now))
    }

    // MARK: lease (called by the engine's lease and watchdog threads)

    /// A renewal sent at `sent` covered this run: a held runner goes on.
    func leaseRenewed(at sent: ContinuousClock.Instant) {
        let held = lease.withLock { l -> ContinuousClock.Instant? in
            l.renewedAt = max(l.renewedAt, sent)
            defer { l.heldSince = nil }
            return l.heldSince
        }
        if held != nil {
            engine.logger.notice("lease renewed: runner goes on", metadata: ["experiment_id": "\(experiment.id)"])
            if gate.request == .pause { gate.resume() }
        }
    }

    /// Whether the runner is held because its lease went unrenewed.
    var isHeld: Bool { lease.withLock { $0.heldSince != nil } }

    /// The renewal found the experiment taken over: stop at the next
    /// checkpoint and write nothing more.
    func leaseLost() {
        guard !lease.withLock({ $0.finishing }) else { return }
        store.stop(.fenced)
        gate.cancel()
    }

    /// Holds the runner once its lease went unrenewed for `stale`; stops it
    /// once held for `outageWait`.
    func watch(stale: Duration, outageWait: Duration) {
        let now = ContinuousClock.now
        enum Step { case none, hold, stop }
        let step = lease.withLock { l -> Step in
            if l.finishing { return .none }
            if let since = l.heldSince { return since.duration(to: now) >= outageWait ? .stop : .none }
            // A runner parked by a pause is still already: only a running one is held.
            guard l.renewedAt.duration(to: now) >= stale, gate.request == .run else { return .none }
            l.heldSince = now
            return .hold
        }
        switch step {
        case .none: break
        case .hold:
            engine.logger.warning(
                "lease not renewed for half its length: runner holds at its next checkpoint",
                metadata: ["experiment_id": "\(experiment.id)"])
            gate.requestPause(onParked: {})
        case .stop:
            store.stop(.outage(seconds: Double(outageWait.components.seconds)))
            gate.cancel()
        }
    }

    func run() {
        let id = experiment.id
        let repo = engine.repository
        let fence = self.fence
        let log = engine.makeLogger(id, nil, fence)
        let directory = engine.configuration.dataDirectory.appendingPathComponent("experiments/\(id.uuidString.lowercased())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        progress.start("pipeline")
        log.info("experiment started", metadata: ["stages": "\(experiment.stages.joined(separator: ","))"])
        let environment = engine.configuration.environment?.bound(to: store)
        var cache = StageCacheRun(cache: engine.configuration.stageCache, registry: engine.registry, stages: experiment.stages)
        do {
            for (index, name) in experiment.stages.enumerated() {
                try gate.checkpoint()
                let node = "pipeline/\(name)"
                guard let stage = engine.registry.stage(name) else {
                    throw StageFailure(stage: name, message: "this build has no stage named '\(name)'")
                }
                let stageLog = engine.makeLogger(id, name, fence)
                let context = StageContext(
                    experimentID: id, stage: name, request: experiment.request,
                    logger: stageLog, progress: progress, artifacts: artifacts, directory: directory, gate: gate,
                    environment: environment, memory: engine.configuration.memory,
                    recordEvent: { [store] kind, details in
                        try store.write { key in try repo.recordEvent(id, kind: kind, stage: name, details: details, fence: fence, key: key)
                        }
                    }, runStore: store)
                if experiment.completedStages.contains(name) {
                    if (try? stage.restore(context)) == true {
                        progress.finish(node, .skipped)
                        stageLog.info("stage skipped: it completed in an earlier run")
                        try store.write { key in
                            try repo.stageSkipped(id, stage: name, reason: "completed in an earlier run", fence: fence, key: key)
                        }
                        continue
                    }
                    stageLog.warning("stage completed in an earlier run but its checkpoint is missing: recomputing it")
                    try store.write { key in
                        try repo.recordEvent(
                            id, kind: "recompute", stage: name, details: ["reason": "checkpoint missing"], fence: fence, key: key)
                    }
                }
                if let cached = try cache.restore(stage, context, at: index) {
                    let percent = Double(index + 1) / Double(experiment.stages.count) * 100
                    try store.write { key in
                        try repo.recordEvent(id, kind: "stage_cached", stage: name, details: ["key": cached.key], fence: fence, key: key)
                    }
                    try store.write { key in
                        try repo.stageCompleted(id, stage: name, durationMs: cached.durationMs, percent: percent, fence: fence, key: key)
                    }
                    continue
                }
                try store.write { key in try repo.stageStarted(id, stage: name, fence: fence, key: key) }
                progress.start(node)
                stageLog.info("stage started")
                let started = ContinuousClock.now
                let suspendedBefore = gate.suspendedTime
                do {
                    try stage.run(context)
                } catch let e as StageCancelled {
                    throw e
                } catch {
                    // A write the stage made found the run fenced out or the store gone for too long.
                    if let stop = store.stopped { throw stop }
                    throw StageFailure(stage: name, message: "\(error)")
                }
                progress.finish(node)
                // Paused (and otherwise suspended: held, waiting for PostgreSQL) time is not the stage's.
                let elapsed = started.duration(to: .now) - (gate.suspendedTime - suspendedBefore)
                let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                stageLog.info("stage completed", metadata: ["duration_ms": "\(Int(ms))"])
                let percent = Double(index + 1) / Double(experiment.stages.count) * 100
                try store.write { key in try repo.stageCompleted(id, stage: name, durationMs: ms, percent: percent, fence: fence, key: key)
                }
                try cache.store(stage, context)
            }
            try gate.checkpoint()
            lease.withLock { $0.finishing = true }
            // Only the runner that still holds the experiment says it succeeded.
            let ours = try store.write { _ in
                try repo.renewLeases(
                    owner: fence.owner, generations: [id: fence.generation], leaseSeconds: engine.configuration.leaseSeconds)
            }
            guard ours.contains(id) else { throw RunStop.fenced }
            engine.registry.compactSucceeded(directory, logger: log)
            log.info("experiment succeeded")
            try finish(.succeed, error: nil)
        } catch let stop as RunStop {
            stopped(stop, log)
            return
        } catch is StageCancelled {
            if let stop = store.stopped {
                stopped(stop, log)
                return
            }
            if interrupting.load(ordering: .acquiring) {
                // Draining: paused work stays paused; running work is interrupted
                // and back in the queue at once, as after an expired lease: another
                // instance (or this one, restarted) goes on after the last completed stage.
                log.warning("experiment interrupted: the server is stopping")
                engine.drained(id, fence: fence)
            } else {
                log.info("experiment cancelled")
                do {
                    try finish(.stopped, error: nil)
                } catch {
                    if let stop = store.stopped {
                        stopped(stop, log)
                        return
                    }
                }
            }
        } catch {
            let message = (error as? StageFailure)?.description ?? "\(error)"
            progress.finish("pipeline", .failed)
            log.error("experiment failed", metadata: ["error": "\(message)"])
            do {
                try finish(.fail, error: message)
            } catch {
                if let stop = store.stopped {
                    stopped(stop, log)
                    return
                }
            }
        }
        engine.configuration.afterFinish?(id, progress)
        engine.runnerFinished(id)
    }

    /// The run stops without recording an outcome: fenced out (another
    /// runner has it: nothing more is written), or the store stayed away
    /// too long (the engine gives the experiment back once it answers).
    private func stopped(_ stop: RunStop, _ log: Logger) {
        switch stop {
        case .fenced:
            engine.logger.warning(
                "runner fenced out: another runner holds the experiment; stopping without writing",
                metadata: ["experiment_id": "\(experiment.id)", "fence": "\(fence)"])
        case .outage:
            log.warning("experiment interrupted: \(stop)")
            engine.orphaned(experiment.id, fence: fence, reason: "\(stop)")
        }
        engine.runnerFinished(experiment.id)
    }

    /// Records the final state, after every log line emitted so far is stored
    /// (so a live follower gets them all before the end event); only while
    /// this runner still holds the experiment.
    private func finish(_ event: Lifecycle.Event, error: String?) throws {
        lease.withLock { $0.finishing = true }
        if event == .succeed { progress.finish("pipeline") }
        engine.configuration.beforeFinish?()
        let fence = self.fence
        _ = try store.write { _ in try engine.finish(experiment.id, event, error: error, fence: fence) }
    }
}

/// A stage's failure, as the experiment's `error` shows it.
struct StageFailure: Error, CustomStringConvertible {
    var stage: String
    var message: String
    var description: String { "stage \(stage): \(message)" }
}
