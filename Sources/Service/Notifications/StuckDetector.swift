import Foundation
import Logging
import Pipeline
import Synchronization

/// Watches the experiments running on this instance (each runs on exactly
/// one) and records a `stuck` event when one's progress tree has not changed
/// for `threshold` seconds while it runs: once per stall, and again after its
/// progress moved (a `progress_resumed` event) and it stalled anew. A paused
/// experiment is not stuck. The event goes through `pipeline_events`, so it
/// is notified like any other.
final class StuckDetector: Sendable {
    let engine: Engine
    let store: NotificationStore
    let threshold: Double
    let logger: Logger
    /// `stuck` events recorded by this instance.
    let stuckTotal = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    private let sleeper = DispatchSemaphore(value: 0)

    private struct Watch {
        var version: Int
        var since: ContinuousClock.Instant
        var flagged: Bool
    }

    init(engine: Engine, store: NotificationStore, threshold: Double, logger: Logger) {
        self.engine = engine
        self.store = store
        self.threshold = threshold
        self.logger = logger
    }

    func start() {
        started.store(true, ordering: .releasing)
        let t = Thread { [self] in
            loop()
            exited.signal()
        }
        t.name = "stuck-detector"
        t.start()
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        sleeper.signal()
        if started.load(ordering: .acquiring) { _ = exited.wait(timeout: .now() + 5) }
    }

    private func loop() {
        var watches: [UUID: Watch] = [:]
        let interval = min(1, threshold / 4)
        while !stopping.load(ordering: .acquiring) {
            let now = ContinuousClock.now
            let running = engine.runningProgress
            let ids = Set(running.map(\.0))
            watches = watches.filter { ids.contains($0.key) }
            for (id, tree) in running {
                let version = tree.version
                let paused = tree.snapshot().children.contains { $0.status == .paused }
                guard var w = watches[id] else {
                    watches[id] = Watch(version: version, since: now, flagged: false)
                    continue
                }
                if version != w.version || paused {
                    if w.flagged, version != w.version {
                        do {
                            try store.recordUnstuck(id, stage: engine.currentStage(of: id))
                            w.flagged = false
                        } catch {
                            logger.warning(
                                "could not record that progress resumed", metadata: ["experiment_id": "\(id)", "error": "\(error)"])
                        }
                    }
                    w.version = version
                    w.since = now
                    watches[id] = w
                    continue
                }
                let stalled = now - w.since
                let seconds = Double(stalled.components.seconds) + Double(stalled.components.attoseconds) / 1e18
                guard !w.flagged, seconds >= threshold else { continue }
                let stage = engine.currentStage(of: id)
                do {
                    try store.recordStuck(id, stage: stage, stalledSeconds: seconds, threshold: threshold)
                    w.flagged = true
                    watches[id] = w
                    stuckTotal.add(1, ordering: .relaxed)
                    logger.warning(
                        "experiment stuck: no progress",
                        metadata: [
                            "experiment_id": "\(id.uuidString.lowercased())", "stage": "\(stage ?? "-")", "stalled_s": "\(Int(seconds))",
                        ])
                } catch {
                    // Tried again on the next tick.
                    logger.warning("could not record a stuck experiment", metadata: ["experiment_id": "\(id)", "error": "\(error)"])
                }
            }
            _ = sleeper.wait(timeout: .now() + interval)
        }
    }

    /// Prometheus text of the counter.
    var metricsText: String {
        """
        # HELP signalforge_experiments_stuck_total Running experiments found without progress for stuck_after_s (stuck events recorded)
        # TYPE signalforge_experiments_stuck_total counter
        signalforge_experiments_stuck_total \(stuckTotal.load(ordering: .relaxed))

        """
    }
}
