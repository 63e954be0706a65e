public import Foundation
public import Logging
import Synchronization

/// Runs experiments: claims queued work under a lease, executes each on a
/// thread it owns, renews leases, recovers work whose server died, and
/// carries out pause, resume, cancel and retry.
///
/// Control requests change the `experiments` row first (conditionally, via
/// `Lifecycle`), then signal the local runner; runners on other instances see
/// the change on their next heartbeat.
public final class Engine: Sendable {
    public struct Configuration: Sendable {
        /// Experiments run at once by this instance (default: cores).
        public var maxRunning = ProcessInfo.processInfo.activeProcessorCount
        /// Lease length; renewed every third of it (default 15 s).
        public var leaseSeconds = 15.0
        /// How often the scheduler looks for work when not woken (default 0.5 s).
        public var pollSeconds = 0.5
        /// Where experiments keep checkpoints and files (`<dataDir>/experiments/<id>`).
        public var dataDirectory = URL(fileURLWithPath: ".data")
        /// This instance's name in leases (default host:pid:random).
        public var owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
        /// Called on the runner's thread just before an experiment's final
        /// state is recorded (the service waits there for its log lines to be stored).
        public var beforeFinish: (@Sendable () -> Void)?
        /// Data root, datasets and artifacts for the stages (nil in tests that need none).
        public var environment: (any StageEnvironment)?
        /// The memory budget watcher whose pressure stages see.
        public var memory: MemoryMonitor?
        /// Called on the runner's thread after the final state is recorded
        /// (the service stores the final progress tree there).
        public var afterFinish: (@Sendable (UUID, ProgressTree) -> Void)?
        /// Admission (the memory budget): asked on the scheduler thread before
        /// each claim while this instance already runs the experiments given;
        /// false leaves the next queued experiment queued until the next look
        /// for work. Not asked when nothing runs here: one experiment alone
        /// always starts. nil (the default) admits everything.
        public var admit: (@Sendable (_ running: [UUID]) -> Bool)?
        public init() {}
    }

    /// Why a control request was refused.
    public enum ControlError: Error, Equatable, CustomStringConvertible {
        case notFound
        case illegal(Lifecycle.IllegalTransition)
        case unknownStage(String)

        public var description: String {
            switch self {
            case .notFound: "no such experiment"
            case .illegal(let e): e.description
            case .unknownStage(let s): "unknown stage '\(s)'"
            }
        }
    }

    public let configuration: Configuration
    let repository: any ExperimentRepository
    public let registry: StageRegistry
    let logger: Logger
    let makeLogger: @Sendable (UUID, String?) -> Logger

    private struct State {
        var runners: [UUID: Runner] = [:]
        var draining = false
        var stopped = false
        var schedulerRunning = false
    }
    private let state = Mutex(State())
    private let wakeScheduler = DispatchSemaphore(value: 0)
    private let schedulerExited = DispatchSemaphore(value: 0)

    /// - Parameter makeLogger: a logger for an experiment (and stage), whose
    ///   lines reach the experiment's log (default: `logger` with metadata).
    public init(
        configuration: Configuration, repository: any ExperimentRepository, registry: StageRegistry, logger: Logger,
        makeLogger: (@Sendable (UUID, String?) -> Logger)? = nil
    ) {
        self.configuration = configuration
        self.repository = repository
        self.registry = registry
        self.logger = logger
        self.makeLogger =
            makeLogger ?? { id, stage in
                var l = logger
                l[metadataKey: "experiment_id"] = "\(id.uuidString.lowercased())"
                if let stage { l[metadataKey: "stage"] = "\(stage)" }
                return l
            }
    }

    // MARK: scheduling

    /// Starts the scheduler thread.
    public func start() {
        let already = state.withLock { s -> Bool in
            defer { s.schedulerRunning = true }
            return s.schedulerRunning
        }
        guard !already else { return }
        let thread = Thread { [self] in schedulerLoop() }
        thread.name = "scheduler"
        thread.start()
    }

    /// Looks for work now (after an experiment was created or requeued).
    public func wake() { wakeScheduler.signal() }

    private func schedulerLoop() {
        var lastRenew = Date.distantPast
        var lastRecover = Date.distantPast
        while !state.withLock({ $0.stopped }) {
            let draining = state.withLock { $0.draining }
            do {
                if Date().timeIntervalSince(lastRecover) >= configuration.leaseSeconds / 3 {
                    lastRecover = Date()
                    let requeued = try repository.recoverExpiredLeases(except: configuration.owner)
                    if !requeued.isEmpty {
                        logger.warning("recovered experiments whose server stopped", metadata: ["count": "\(requeued.count)"])
                    }
                }
                let ids = state.withLock { Array($0.runners.keys) }
                if Date().timeIntervalSince(lastRenew) >= configuration.leaseSeconds / 3, !ids.isEmpty {
                    lastRenew = Date()
                    try repository.renewLeases(owner: configuration.owner, ids: ids, leaseSeconds: configuration.leaseSeconds)
                }
                if !ids.isEmpty { try syncControl(ids) }
                if !draining, !registry.isEmpty {
                    while state.withLock({ $0.runners.count < configuration.maxRunning && !$0.draining }), admitsNext(),
                        let claimed = try repository.claimNext(owner: configuration.owner, leaseSeconds: configuration.leaseSeconds)
                    {
                        launch(claimed)
                    }
                }
            } catch {
                logger.warning("scheduler: database call failed; retrying", metadata: ["error": "\(error)"])
            }
            _ = wakeScheduler.wait(timeout: .now() + configuration.pollSeconds)
        }
        schedulerExited.signal()
    }

    /// Whether the next queued experiment may be claimed now (see `Configuration.admit`).
    private func admitsNext() -> Bool {
        let running = state.withLock { Array($0.runners.keys) }
        return running.isEmpty || (configuration.admit?(running) ?? true)
    }

    /// Applies control requests that other instances wrote to the database.
    private func syncControl(_ ids: [UUID]) throws {
        let states = try repository.states(of: ids)
        for id in ids {
            guard let runner = state.withLock({ $0.runners[id] }), let s = states[id] else { continue }
            switch (s, runner.gate.request) {
            case (.pausing, .run): requestPark(runner)
            case (.running, .pause): runner.gate.resume()
            case (.cancelling, .run), (.cancelling, .pause): runner.gate.cancel()
            default: break
            }
        }
    }

    private func launch(_ claimed: ClaimedExperiment) {
        let runner = Runner(engine: self, experiment: claimed)
        state.withLock { $0.runners[claimed.id] = runner }
        let thread = Thread { runner.run() }
        thread.name = "experiment-\(claimed.id.uuidString.prefix(8).lowercased())"
        thread.start()
    }

    func runnerFinished(_ id: UUID) {
        _ = state.withLock { $0.runners.removeValue(forKey: id) }
        wake()
    }

    /// The progress tree of an experiment running here, if any.
    public func progress(of id: UUID) -> ProgressTree? { state.withLock { $0.runners[id]?.progress } }

    /// Experiments running on this instance.
    public var runningIDs: [UUID] { state.withLock { Array($0.runners.keys) } }

    /// The progress trees of the experiments running here.
    public var runningProgress: [(UUID, ProgressTree)] { state.withLock { $0.runners.map { ($0.key, $0.value.progress) } } }

    /// The stage an experiment running here is in, if any.
    public func currentStage(of id: UUID) -> String? {
        guard let tree = progress(of: id) else { return nil }
        return tree.snapshot().children.first { $0.status == .running || $0.status == .paused }?.name
    }

    // MARK: control

    /// Reads the current state and applies `event` through `Lifecycle`,
    /// conditionally on that state; retries once if another request raced.
    private func apply(
        _ id: UUID, event: String, details: [String: String] = [:], _ step: (inout Lifecycle) throws -> Lifecycle.Action
    ) throws -> (ExperimentState, Lifecycle.Action) {
        for _ in 0..<3 {
            guard let current = try repository.state(of: id) else { throw ControlError.notFound }
            var machine = Lifecycle(current)
            let action: Lifecycle.Action
            do { action = try step(&machine) } catch let e as Lifecycle.IllegalTransition { throw ControlError.illegal(e) }
            switch try repository.transition(id, from: [current], to: machine.state, event: event, error: nil, details: details) {
            case .moved: return (machine.state, action)
            case .conflict(nil): throw ControlError.notFound
            case .conflict: continue
            }
        }
        throw ControlError.illegal(Lifecycle.IllegalTransition(state: try repository.state(of: id) ?? .queued, event: event))
    }

    /// Pauses a running experiment: `pausing` now, `paused` once its runner parks.
    @discardableResult
    public func pause(_ id: UUID) throws -> ExperimentState {
        let (next, _) = try apply(id, event: "pause_requested") { try $0.pause() }
        if let runner = state.withLock({ $0.runners[id] }) { requestPark(runner) }
        return next
    }

    private func requestPark(_ runner: Runner) {
        let id = runner.experiment.id
        runner.gate.requestPause { [self] in
            runner.progress.setRunning(to: .paused)
            do {
                _ = try repository.transition(id, from: [.pausing], to: .paused, event: "paused", error: nil, details: [:])
            } catch {
                logger.error("could not record the pause", metadata: ["experiment_id": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Resumes a paused experiment in place (or requeues it when no runner
    /// holds it, e.g. after a restart), or takes back a pending pause.
    @discardableResult
    public func resume(_ id: UUID) throws -> ExperimentState {
        let local = state.withLock { $0.runners[id] }
        guard let current = try repository.state(of: id) else { throw ControlError.notFound }
        if current == .paused, local == nil, try !repository.hasLiveLease(id) {
            // Orphaned by a restart: continue after the last completed stage.
            switch try repository.transition(id, from: [.paused], to: .queued, event: "resumed", error: nil, details: ["requeued": "true"]) {
            case .moved:
                wake()
                return .queued
            case .conflict(let s): throw ControlError.illegal(.init(state: s ?? .queued, event: "resume"))
            }
        }
        let (next, _) = try apply(id, event: "resumed") { try $0.resume() }
        if let local {
            local.progress.setRunning(to: .running)
            local.gate.resume()
        }
        return next
    }

    /// Cancels: at once when nothing runs it, else `cancelling` until its
    /// runner stops at a checkpoint.
    @discardableResult
    public func cancel(_ id: UUID) throws -> ExperimentState {
        let local = state.withLock { $0.runners[id] }
        if local == nil, let current = try repository.state(of: id), current == .paused, try !repository.hasLiveLease(id) {
            switch try repository.transition(id, from: [.paused], to: .cancelled, event: "cancelled", error: nil, details: [:]) {
            case .moved: return .cancelled
            case .conflict(let s): throw ControlError.illegal(.init(state: s ?? .queued, event: "cancel"))
            }
        }
        let (next, _) = try apply(id, event: "cancel_requested") { try $0.cancel() }
        local?.gate.cancel()
        return next
    }

    /// Requeues a failed, cancelled or interrupted experiment, after its last
    /// completed stage or from `fromStage`.
    @discardableResult
    public func retry(_ id: UUID, fromStage: String?) throws -> ExperimentState {
        if let fromStage, !ExperimentStages.all.contains(fromStage) { throw ControlError.unknownStage(fromStage) }
        var details: [String: String] = [:]
        if let fromStage { details["from_stage"] = fromStage }
        let (next, _) = try apply(id, event: "retry", details: details) { try $0.retry() }
        wake()
        return next
    }

    /// Pauses every experiment running on this instance (SIGUSR1).
    /// - Returns: how many were asked to pause.
    @discardableResult
    public func pauseAll() -> Int {
        runningIDs.reduce(0) { n, id in (try? pause(id)) != nil ? n + 1 : n }
    }

    /// Resumes every paused experiment held by this instance (SIGUSR2).
    @discardableResult
    public func resumeAll() -> Int {
        runningIDs.reduce(0) { n, id in (try? resume(id)) != nil ? n + 1 : n }
    }

    // MARK: draining

    /// Stops claiming, stops every local runner at its next checkpoint and
    /// marks the experiments interrupted (paused ones stay paused), then waits
    /// up to `timeout` for the runner threads.
    public func drain(timeout: Duration = .seconds(30)) {
        guard let runners = state.withLock({ s -> [Runner]? in
            if s.draining { return nil }
            s.draining = true
            return Array(s.runners.values)
        }) else { return }
        for r in runners {
            r.interrupting.store(true, ordering: .releasing)
            r.gate.cancel()
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, !state.withLock({ $0.runners.isEmpty }) { Thread.sleep(forTimeInterval: 0.01) }
        state.withLock { $0.stopped = true }
        wake()
        if state.withLock({ $0.schedulerRunning }) { _ = schedulerExited.wait(timeout: .now() + 5) }
    }
}

/// The stage names of DESIGN.md, in their default order.
public enum ExperimentStages {
    public static let all = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]
}
