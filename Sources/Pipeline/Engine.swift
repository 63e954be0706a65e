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
        /// Called on the last worker's thread once every worker of an
        /// experiment has parked, before `paused` is recorded (the service
        /// stores the frozen progress tree and `percent` there).
        public var beforePaused: (@Sendable (UUID, ProgressTree) -> Void)?
        /// Admission (the memory budget): asked on the scheduler thread before
        /// each claim while this instance already runs the experiments given;
        /// false leaves the next queued experiment queued until the next look
        /// for work. Not asked when nothing runs here: one experiment alone
        /// always starts. nil (the default) admits everything.
        public var admit: (@Sendable (_ running: [UUID]) -> Bool)?
        /// Where stages' outputs are kept by content key and restored from
        /// (nil, the default: every stage is computed). See `docs/cache.md`.
        public var stageCache: StageCache?
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
    let makeLogger: @Sendable (UUID, String?, Fence?) -> Logger

    private struct State {
        var runners: [UUID: Runner] = [:]
        /// Runs that stopped without recording their end (store away, lease
        /// lost): given back (`abandon`) once the store answers, if still ours.
        var orphans: [UUID: (fence: Fence, reason: String)] = [:]
        var draining = false
        var stopped = false
        var schedulerRunning = false
        /// Runners parked by a pause, since when: they hold no `maxRunning` slot.
        var parkedSince: [UUID: ContinuousClock.Instant] = [:]
        /// Runners that count toward `maxRunning` (parked ones do not).
        var slotsInUse: Int { runners.count - parkedSince.count }
    }
    private let state = Mutex(State())
    private let wakeScheduler = DispatchSemaphore(value: 0)
    private let schedulerExited = DispatchSemaphore(value: 0)
    private let leaseThreadsExited = DispatchSemaphore(value: 0)

    /// - Parameter makeLogger: a logger for an experiment (and stage) run
    ///   under a fence, whose lines reach the experiment's log, carrying the
    ///   fence's generation so the store refuses a stale runner's late lines
    ///   (default: `logger` with metadata).
    public init(
        configuration: Configuration, repository: any ExperimentRepository, registry: StageRegistry, logger: Logger,
        makeLogger: (@Sendable (_ id: UUID, _ stage: String?, _ fence: Fence?) -> Logger)? = nil
    ) {
        self.configuration = configuration
        self.repository = repository
        self.registry = registry
        self.logger = logger
        self.makeLogger =
            makeLogger ?? { id, stage, _ in
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
                    while state.withLock({ $0.slotsInUse < configuration.maxRunning && !$0.draining }), admitsNext(),
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
                let now = try repository.abandon(id, reason: o.reason, fence: o.fence, details: [:])
                logger.warning(
                    "experiment given back after its run stopped",
                    metadata: ["experiment_id": "\(id)", "reason": "\(o.reason)", "state": "\(now.map(\.rawValue) ?? "gone")"])
                _ = state.withLock { $0.orphans.removeValue(forKey: id) }
                wake()
            } catch  where repository.isFenced(error) {
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
            case (.pausing, .run): carryOut(.parkAtNextCheckpoint, for: id, details: [:])
            case (.running, .pause) where !runner.isHeld: carryOut(.wakeRunner, for: id, details: [:])
            case (.cancelling, .run), (.cancelling, .pause): carryOut(.stopRunner, for: id, details: [:])
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
        state.withLock { s in
            s.runners.removeValue(forKey: id)
            s.parkedSince.removeValue(forKey: id)
        }
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

    /// The one place a state change is made. `Lifecycle` picks the move from
    /// the state the row holds; the repository applies it conditionally on
    /// that state (`Lifecycle.sources(of:)` when every source makes the same
    /// move, else the state just read), retrying when another request raced;
    /// then the move's action is carried out here.
    /// - Returns: the move made.
    /// - Throws: `ControlError.notFound`, `ControlError.illegal`, or the store's error.
    @discardableResult
    func perform(
        _ id: UUID, _ event: Lifecycle.Event, error: String? = nil, details: [String: String] = [:], fence: Fence? = nil
    ) throws -> Lifecycle.Move {
        var known: ExperimentState?
        for _ in 0..<4 {
            let candidates = known.map { [$0] } ?? Lifecycle.sources(of: event).sorted { $0.rawValue < $1.rawValue }
            let moves = Set(candidates.compactMap { Lifecycle.move(from: $0, on: event) })
            guard let move = moves.first else {
                throw ControlError.illegal(.init(state: known ?? .queued, event: event.verb))
            }
            if moves.count > 1 {
                // The move depends on the state: read it, then update conditionally on it.
                guard let current = try repository.state(of: id) else { throw ControlError.notFound }
                known = current
                continue
            }
            switch try repository.transition(
                id, from: candidates, to: move.to, event: move.record, error: error, details: details, fence: fence)
            {
            case .moved:
                carryOut(move.action, for: id, details: details)
                return move
            case .conflict(nil):
                throw ControlError.notFound
            case .conflict(let current?):
                guard Lifecycle.move(from: current, on: event) != nil else {
                    throw ControlError.illegal(.init(state: current, event: event.verb))
                }
                known = current
            }
        }
        throw ControlError.illegal(.init(state: try repository.state(of: id) ?? .queued, event: event.verb))
    }

    /// Carries out what `Lifecycle` asked for after a move.
    private func carryOut(_ action: Lifecycle.Action, for id: UUID, details: [String: String]) {
        let runner = state.withLock { $0.runners[id] }
        switch action {
        case .startRunner, .releaseRunner, .none:
            // The scheduler launches what it claims; a finishing runner removes itself.
            break
        case .parkAtNextCheckpoint:
            if let runner { requestPark(runner, details: details) }
        case .releaseSlot:
            // A parked runner costs no CPU: its slot goes to queued work.
            state.withLock { s in
                if s.runners[id] != nil, s.parkedSince[id] == nil { s.parkedSince[id] = .now }
            }
            wake()
        case .wakeRunner, .cancelPendingPause:
            guard let runner else { return }
            unpark(id)
            runner.progress.setRunning(to: .running)
            runner.gate.resume()
        case .stopRunner:
            if let runner {
                unpark(id)
                runner.gate.cancel()
            } else if (try? repository.hasLiveLease(id)) == false {
                // No runner anywhere (a paused experiment left by a restart): stopped already.
                do { try perform(id, .stopped, details: details) } catch {
                    logger.error("could not record the cancel", metadata: ["experiment_id": "\(id)", "error": "\(error)"])
                }
            }
        case .wakeScheduler:
            wake()
        }
    }

    /// The runner of `id` left its park: it holds a slot again.
    private func unpark(_ id: UUID) {
        _ = state.withLock { $0.parkedSince.removeValue(forKey: id) }
    }

    /// How long the runner of `id` has been suspended so far (parked, held,
    /// waiting for the store): its pause gate's count, which the runner
    /// subtracts from stage durations. nil when no runner holds `id` here.
    func suspendedTime(of id: UUID) -> Duration? { state.withLock { $0.runners[id] }?.gate.suspendedTime }

    /// Pauses a running experiment: `pausing` now, `paused` once its runner parks.
    /// - Parameter cause: who asked (recorded in the events' details).
    @discardableResult
    public func pause(_ id: UUID, cause: ControlCause = .api(token: "")) throws -> ExperimentState {
        try perform(id, .pause, details: cause.details).to
    }

    private func requestPark(_ runner: Runner, details: [String: String]) {
        let id = runner.experiment.id
        runner.gate.requestPause { [self] in
            runner.progress.setRunning(to: .paused)
            configuration.beforePaused?(id, runner.progress)
            do {
                try perform(id, .parked, details: details, fence: runner.fence)
            } catch {
                logger.error("could not record the pause", metadata: ["experiment_id": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Resumes a paused experiment in place (or requeues it when no runner
    /// holds it, e.g. after a restart), or takes back a pending pause.
    ///
    /// A resumed runner takes its slot back at once, even when queued work
    /// took the free slots meanwhile: `max_running` may be exceeded until the
    /// next experiment ends (the scheduler claims nothing new until then).
    @discardableResult
    public func resume(_ id: UUID, cause: ControlCause = .api(token: "")) throws -> ExperimentState {
        let local = state.withLock { $0.runners[id] }
        if local == nil, try repository.state(of: id) == .paused, try !repository.hasLiveLease(id) {
            // Orphaned by a restart: continue after the last completed stage.
            return try perform(id, .requeue, details: cause.details.merging(["requeued": "true"]) { a, _ in a }).to
        }
        return try perform(id, .resume, details: cause.details).to
    }

    /// Cancels: at once when nothing runs it, else `cancelling` until its
    /// runner stops at a checkpoint.
    @discardableResult
    public func cancel(_ id: UUID, cause: ControlCause = .api(token: "")) throws -> ExperimentState {
        let held = state.withLock { $0.runners[id] != nil }
        let move = try perform(id, .cancel, details: cause.details)
        // A cancel of work no local runner holds may complete at once (see `carryOut`).
        if move.action == .stopRunner, !held, let now = try repository.state(of: id) { return now }
        return move.to
    }

    /// Requeues a failed, cancelled or interrupted experiment, after its last
    /// completed stage or from `fromStage`.
    @discardableResult
    public func retry(_ id: UUID, fromStage: String?, cause: ControlCause = .api(token: "")) throws -> ExperimentState {
        if let fromStage, registry.position(of: fromStage) == nil { throw ControlError.unknownStage(fromStage) }
        var details = cause.details
        if let fromStage { details["from_stage"] = fromStage }
        return try perform(id, .retry, details: details).to
    }

    /// The runner finished its stages (or failed): records the outcome. A
    /// cancel that arrived after the last checkpoint wins over success.
    func finish(_ id: UUID, _ event: Lifecycle.Event, error: String?, fence: Fence) throws {
        do {
            try perform(id, event, error: error, fence: fence)
        } catch ControlError.illegal(let e) where e.state == .cancelling && event == .succeed {
            try perform(id, .stopped, fence: fence)
        } catch ControlError.illegal(let e) {
            // Already moved on (e.g. recovered elsewhere): nothing of ours to record.
            logger.warning("final state not recorded", metadata: ["experiment_id": "\(id)", "reason": "\(e)"])
        }
    }

    /// The runner stopped because this server drains: running work is
    /// interrupted and requeued at once; paused work stays paused (its lease
    /// released); a pending cancel completes — all only while `fence` still
    /// holds the experiment (`ExperimentRepository.abandon`).
    func drained(_ id: UUID, fence: Fence) {
        unpark(id)
        do {
            _ = try repository.abandon(id, reason: "server stopping", fence: fence, details: ControlCause.drain.details)
        } catch {
            if !repository.isFenced(error) {
                logger.warning("could not record the interruption", metadata: ["experiment_id": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Pauses every experiment running on this instance (SIGUSR1).
    /// - Returns: how many were asked to pause.
    @discardableResult
    public func pauseAll(cause: ControlCause = .signal("SIGUSR1")) -> Int {
        runningIDs.reduce(0) { n, id in (try? pause(id, cause: cause)) != nil ? n + 1 : n }
    }

    /// Resumes every paused experiment held by this instance (SIGUSR2).
    @discardableResult
    public func resumeAll(cause: ControlCause = .signal("SIGUSR2")) -> Int {
        runningIDs.reduce(0) { n, id in (try? resume(id, cause: cause)) != nil ? n + 1 : n }
    }

    // MARK: draining

    /// Stops claiming, stops every local runner at its next checkpoint and
    /// marks the experiments interrupted (paused ones stay paused), then waits
    /// up to `timeout` for the runner threads.
    public func drain(timeout: Duration = .seconds(30)) {
        guard
            let runners = state.withLock({ s -> [Runner]? in
                if s.draining { return nil }
                s.draining = true
                return Array(s.runners.values)
            })
        else { return }
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
