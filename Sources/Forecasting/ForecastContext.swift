import Dispatch
import Synchronization

/// What a model gets besides its input: the configuration and the checkpoint
/// through which the runner stops it (timeout) or holds it (pause).
///
/// A context made with ``init(config:)`` stands alone (no runner): its
/// checkpoint only stops after ``cancel()``.
public final class ForecastContext: Sendable {
    /// The forecast configuration: `horizonBars`, `refitEvery`, `window`, `minTrain`, …
    public let config: ForecastConfig
    let job: ModelJob
    let gate: RunGate?
    let worker: ModelWorker?

    /// A stand-alone context, e.g. to run a model directly.
    /// - Parameter config: the configuration. Default ``ForecastConfig/init()``.
    public init(config: ForecastConfig = ForecastConfig()) {
        self.config = config
        self.job = ModelJob()
        self.gate = nil
        self.worker = nil
    }

    init(config: ForecastConfig, job: ModelJob, gate: RunGate, worker: ModelWorker? = nil) {
        self.config = config
        self.job = job
        self.gate = gate
        self.worker = worker
    }

    /// True once the model should stop (its timeout passed, the run was
    /// abandoned or ``cancel()`` was called).
    public var isCancelled: Bool { job.stop.load(ordering: .relaxed) }

    /// Asks the model to stop at its next checkpoint.
    public func cancel() { job.stop.store(true, ordering: .relaxed) }

    /// Records progress, waits while the run is paused, and throws once the
    /// model must stop. Cheap (two atomic loads, one store): call it every
    /// few hundred bars.
    /// - Parameter completed: bars done so far, out of `input.count`.
    /// - Throws: ``ForecastError`` with code `.cancelled`.
    public func checkpoint(completed: Int) throws(ForecastError) {
        job.completed.store(completed, ordering: .relaxed)
        if job.stop.load(ordering: .relaxed) {
            throw ForecastError(.cancelled, "stopped by the runner")
        }
        if let worker {
            // Enrolled with the engine's gate: park there (never on the run
            // gate too, or a pause would wait for a thread held off the gate).
            do { try worker.checkpoint() } catch {
                job.stop.store(true, ordering: .relaxed)
                throw ForecastError(.cancelled, "cancelled")
            }
        } else {
            gate?.pass()
        }
        if job.stop.load(ordering: .relaxed) {
            throw ForecastError(.cancelled, "stopped by the runner")
        }
    }
}

/// How a model's thread checks in with the engine's pause gate (the engine's
/// worker enrollment: see ``ForecastRunner/run(_:models:progress:checkpoint:worker:suspendedTime:)``).
/// `checkpoint` parks the thread while the experiment is paused and throws
/// once it is cancelled; `leave` withdraws the thread when its model ends.
public struct ModelWorker: Sendable {
    public var checkpoint: @Sendable () throws -> Void
    public var leave: @Sendable () -> Void

    public init(checkpoint: @escaping @Sendable () throws -> Void, leave: @escaping @Sendable () -> Void) {
        self.checkpoint = checkpoint
        self.leave = leave
    }
}

/// The runner's handle on one model's run: its stop flag and progress.
final class ModelJob: Sendable {
    let stop = Atomic<Bool>(false)
    let completed = Atomic<Int>(0)
}

/// Holds model threads at their checkpoints while the runner's own thread is
/// inside the engine's checkpoint (which parks there while paused). The
/// engine's checkpoint is thus only ever called from the runner's thread.
final class RunGate: Sendable {
    private let closed = Atomic<Bool>(false)
    private let group = DispatchGroup()

    func close() {
        group.enter()
        closed.store(true, ordering: .releasing)
    }

    func open() {
        closed.store(false, ordering: .releasing)
        group.leave()
    }

    /// Returns at once while open; waits for `open()` while closed.
    func pass() {
        if closed.load(ordering: .acquiring) { group.wait() }
    }
}
