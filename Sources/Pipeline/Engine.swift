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
        /// Lease length (default 15 s). A thread of its own renews the leases
        /// every quarter of it; a runner whose lease went unrenewed for half of
        /// it holds at its next checkpoint until the store answers again.
        public var leaseSeconds = 15.0
        /// How long a runner waits out an unreachable store (retrying its
        /// writes, or held at a checkpoint) before its run is interrupted and
        /// requeued (default 600 s).
        public var outageWaitSeconds = 600.0
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
        /// Runs that stopped without recording their end (store away, lease
        /// lost): given back (`abandon`) once the store answers, if still ours.
        var orphans: [UUID: (fence: Fence, reason: String)] = [:]
        var draining = false
        var stopped = false
        var schedulerRunning = false
    }
    private let state = Mutex(State())
    private let wakeScheduler = DispatchSemaphore(value: 0)
    private let schedulerExited = DispatchSemaphore(value: 0)
    private let leaseThreadsExited = DispatchSemaphore(value: 0)

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
        let leases = Thread { [self] in leaseLoop() }
        leases.name = "leases"
        leases.start()
        let watchdog = Thread { [self] in watchdogLoop() }
        watchdog.name = "lease-watchdog"
        watchdog.start()
    }

    /// Looks for work now (after an experiment was created or requeued).
    public func wake() { wakeScheduler.signal() }

    private func schedulerLoop() {
        while !state.withLock({ $0.stopped }) {
            let draining = state.withLock { $0.draining }
            do {
                let ids = state.withLock { Array($0.runners.keys) }
                if !ids.isEmpty { try syncControl(ids) }
                if !draining, !registry.isEmpty {
                    while state.withLock({ $0.runners.count < configuration.maxRunning && !$0.draining }),
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

    // MARK: leases

    /// Renews this instance's leases every quarter lease, on its own thread
    /// (a slow claim or control sync never delays a renewal); then, and only
    /// then, recovers other instances' expired leases and gives back the
    /// runs that stopped while the store was away.
    private func leaseLoop() {
        let interval = configuration.leaseSeconds / 4
        var lastAttempt = ContinuousClock.now - .seconds(3600)
        var failing = false
        while !state.withLock({ $0.stopped }) {
            if lastAttempt.duration(to: .now) >= .seconds(interval) {
                lastAttempt = .now
                do {
                    try renewAndRecover()
                    if failing { logger.notice("leases renewed again") }
                    failing = false
                } catch {
                    if !failing { logger.warning("lease renewal failed; retrying", metadata: ["error": "\(error)"]) }
                    failing = true
                }
            }
            Thread.sleep(forTimeInterval: min(0.05, interval))
        }
        leaseThreadsExited.signal()
    }

    private func renewAndRecover() throws {
        let (runners, orphans) = state.withLock { (Array($0.runners.values), $0.orphans) }
        var generations: [UUID: Int64] = [:]
        for r in runners { generations[r.experiment.id] = r.fence.generation }
        for (id, o) in orphans { generations[id] = o.fence.generation }
        let sent = ContinuousClock.now
        let renewed = try repository.renewLeases(
            owner: configuration.owner, generations: generations, leaseSeconds: configuration.leaseSeconds)
        for r in runners {
            if renewed.contains(r.experiment.id) { r.leaseRenewed(at: sent) } else { r.leaseLost() }
        }
        for (id, o) in orphans {
            guard renewed.contains(id) else {
                logger.notice("a stopped run was taken over meanwhile", metadata: ["experiment_id": "\(id)"])
                _ = state.withLock { $0.orphans.removeValue(forKey: id) }
                continue
            }
            do {
                let now = try repository.abandon(id, reason: o.reason, fence: o.fence)
                logger.warning(
                    "experiment given back after its run stopped",
                    metadata: ["experiment_id": "\(id)", "reason": "\(o.reason)", "state": "\(now.map(\.rawValue) ?? "gone")"])
                _ = state.withLock { $0.orphans.removeValue(forKey: id) }
                wake()
            } catch where repository.isFenced(error) {
                _ = state.withLock { $0.orphans.removeValue(forKey: id) }
            }
        }
        let requeued = try repository.recoverExpiredLeases()
        if !requeued.isEmpty {
            logger.warning("recovered experiments whose lease expired", metadata: ["count": "\(requeued.count)"])
            wake()
        }
    }

    /// Holds a runner whose lease went unrenewed for half its length at its
    /// next checkpoint (before the lease can expire and another instance take
    /// it over), and stops it once held longer than the outage bound.
    private func watchdogLoop() {
        let stale = Duration.milliseconds(Int64(configuration.leaseSeconds * 500))
        let bound = Duration.milliseconds(Int64(configuration.outageWaitSeconds * 1000))
        while !state.withLock({ $0.stopped }) {
            for r in state.withLock({ Array($0.runners.values) }) { r.watch(stale: stale, outageWait: bound) }
            Thread.sleep(forTimeInterval: min(0.05, configuration.leaseSeconds / 20))
        }
        leaseThreadsExited.signal()
    }

    /// A run stopped without recording its end: the lease thread gives it
    /// back once the store answers (unless another instance took it over).
    func orphaned(_ id: UUID, fence: Fence, reason: String) {
        state.withLock { $0.orphans[id] = (fence, reason) }
    }

    /// The fence of an experiment running here, if any.
    public func fence(of id: UUID) -> Fence? { state.withLock { $0.runners[id]?.fence } }

    /// Applies control requests that other instances wrote to the database.
    private func syncControl(_ ids: [UUID]) throws {
        let states = try repository.states(of: ids)
        for id in ids {
            guard let runner = state.withLock({ $0.runners[id] }), let s = states[id] else { continue }
            switch (s, runner.gate.request) {
            case (.pausing, .run): requestPark(runner)
            case (.running, .pause) where !runner.isHeld: runner.gate.resume()
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
                _ = try repository.transition(
                    id, from: [.pausing], to: .paused, event: "paused", error: nil, details: [:], fence: runner.fence)
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
        if state.withLock({ $0.schedulerRunning }) {
            _ = schedulerExited.wait(timeout: .now() + 5)
            _ = leaseThreadsExited.wait(timeout: .now() + 5)
            _ = leaseThreadsExited.wait(timeout: .now() + 5)
        }
    }
}

/// The stage names of DESIGN.md, in their default order.
public enum ExperimentStages {
    public static let all = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]
}
