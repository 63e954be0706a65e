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
    private unowned let engine: Engine

    init(engine: Engine, experiment: ClaimedExperiment) {
        self.engine = engine
        self.experiment = experiment
        self.progress = ProgressTree(stages: experiment.stages)
    }

    func run() {
        let id = experiment.id
        let repo = engine.repository
        let log = engine.makeLogger(id, nil)
        let directory = engine.configuration.dataDirectory.appendingPathComponent("experiments/\(id.uuidString.lowercased())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        progress.start("pipeline")
        log.info("experiment started", metadata: ["stages": "\(experiment.stages.joined(separator: ","))"])
        let configs = Self.stageConfigs(experiment.request)
        do {
            for (index, name) in experiment.stages.enumerated() {
                try gate.checkpoint()
                let node = "pipeline/\(name)"
                guard let stage = engine.registry.stage(name) else {
                    throw StageFailure(stage: name, message: "this build has no stage named '\(name)'")
                }
                let stageLog = engine.makeLogger(id, name)
                let context = StageContext(
                    experimentID: id, stage: name, config: configs[name] ?? Data("{}".utf8), request: experiment.request,
                    logger: stageLog, progress: progress, artifacts: artifacts, directory: directory, gate: gate,
                    environment: engine.configuration.environment, memory: engine.configuration.memory,
                    recordEvent: { [self] kind, details in
                        try self.persist { try self.engine.repository.recordEvent(self.experiment.id, kind: kind, stage: name, details: details) }
                    })
                if experiment.completedStages.contains(name) {
                    if (try? stage.restore(context)) == true {
                        progress.finish(node, .skipped)
                        stageLog.info("stage skipped: it completed in an earlier run")
                        try persist { try repo.stageSkipped(id, stage: name, reason: "completed in an earlier run") }
                        continue
                    }
                    stageLog.warning("stage completed in an earlier run but its checkpoint is missing: recomputing it")
                    try persist { try repo.recordEvent(id, kind: "recompute", stage: name, details: ["reason": "checkpoint missing"]) }
                }
                try persist { try repo.stageStarted(id, stage: name) }
                progress.start(node)
                stageLog.info("stage started")
                let started = ContinuousClock.now
                let suspendedBefore = gate.suspendedTime
                do {
                    try stage.run(context)
                } catch let e as StageCancelled {
                    throw e
                } catch {
                    throw StageFailure(stage: name, message: "\(error)")
                }
                progress.finish(node)
                // Paused (and otherwise suspended) time is not the stage's.
                let elapsed = started.duration(to: .now) - (gate.suspendedTime - suspendedBefore)
                let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                stageLog.info("stage completed", metadata: ["duration_ms": "\(Int(ms))"])
                let percent = Double(index + 1) / Double(experiment.stages.count) * 100
                try persist { try repo.stageCompleted(id, stage: name, durationMs: ms, percent: percent) }
            }
            log.info("experiment succeeded")
            try finish(.succeeded, from: [.running, .pausing], event: "succeeded", error: nil)
        } catch is StageCancelled {
            if interrupting.load(ordering: .acquiring) {
                // Draining: paused work stays paused; running work is interrupted.
                let current = (try? repo.state(of: id)) ?? nil
                if current == .paused {
                    try? repo.releaseLease(id)
                } else {
                    // Back in the queue at once, as after an expired lease: another
                    // instance (or this one, restarted) goes on after the last completed stage.
                    _ = try? repo.interruptAndRequeue(id, reason: "server stopping")
                    _ = try? repo.transition(id, from: [.cancelling], to: .cancelled, event: "cancelled", error: nil, details: [:])
                }
                log.warning("experiment interrupted: the server is stopping")
            } else {
                log.info("experiment cancelled")
                try? finish(.cancelled, from: [.cancelling], event: "cancelled", error: nil)
            }
        } catch {
            let message = (error as? StageFailure)?.description ?? "\(error)"
            progress.finish("pipeline", .failed)
            log.error("experiment failed", metadata: ["error": "\(message)"])
            try? finish(.failed, from: [.running, .pausing, .cancelling], event: "failed", error: message)
        }
        engine.configuration.afterFinish?(id, progress)
        engine.runnerFinished(id)
    }

    /// Runs a store call, waiting out an unreachable store (the experiment keeps
    /// its place; a cancel still gets through at the checkpoint).
    private func persist(_ call: () throws -> Void) throws {
        var delay = 0.1
        while true {
            do { return try call() } catch where engine.repository.isTransient(error) {
                engine.logger.warning("store unreachable; retrying", metadata: ["experiment_id": "\(experiment.id)", "error": "\(error)"])
                try gate.checkpoint()
                Thread.sleep(forTimeInterval: delay)
                delay = min(delay * 2, 2)
            }
        }
    }

    /// Records the final state, after every log line emitted so far is stored
    /// (so a live follower gets them all before the end event).
    private func finish(_ to: ExperimentState, from: [ExperimentState], event: String, error: String?) throws {
        if to == .succeeded { progress.finish("pipeline") }
        engine.configuration.beforeFinish?()
        try persist { _ = try engine.repository.transition(experiment.id, from: from, to: to, event: event, error: error, details: [:]) }
    }

    /// The `config` sections of the request, as JSON per stage name.
    static func stageConfigs(_ request: Data) -> [String: Data] {
        guard let object = try? JSONSerialization.jsonObject(with: request) as? [String: Any],
            let config = object["config"] as? [String: Any]
        else { return [:] }
        var out: [String: Data] = [:]
        for (k, v) in config {
            if let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]) { out[k] = d }
        }
        return out
    }
}

/// A stage's failure, as the experiment's `error` shows it.
struct StageFailure: Error, CustomStringConvertible {
    var stage: String
    var message: String
    var description: String { "stage \(stage): \(message)" }
}
