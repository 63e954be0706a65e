import Foundation
import Pipeline
import Store

/// What `DELETE …?cancel=true` does before it deletes (an experiment, or a
/// sweep's children): cancels each experiment that may still run, then waits
/// until no runner holds any of them (here: the engine let go of it;
/// elsewhere: its row reached a final state).
struct ExperimentStopper {
    let engine: Engine
    let store: ExperimentStore
    /// How long to wait for the runners to stop (default 60 s).
    var timeout: Duration = .seconds(60)

    /// Cancels each of `targets` (id and the state it was seen in) and waits.
    /// - Throws: a 409 when one is still stopping after ``timeout``.
    func stop(_ targets: [(id: UUID, status: String)], cause: ControlCause) throws {
        for target in targets where target.status != "cancelling" {
            do { _ = try database { try engine.cancel(target.id, cause: cause) } } catch is Engine.ControlError {
                // Finished meanwhile (the delete goes ahead), or gone (the 404 follows).
            }
        }
        var waiting = targets.map(\.id)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let running = Set(engine.runningIDs)
            waiting = try waiting.filter { id in
                guard let now = try database({ try store.status(id) }) else { return false }
                return ExperimentDeletion.activeStatuses.contains(now) || running.contains(id)
            }
            if waiting.isEmpty { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw APIError(
            409,
            "\(waiting.count == 1 ? "experiment is" : "\(waiting.count) experiments are") still stopping after the cancel; try the delete again",
            extra: [("current_state", "cancelling")])
    }
}
