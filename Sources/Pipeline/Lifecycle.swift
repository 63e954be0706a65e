/// The experiment lifecycle as a pure state machine: every legal transition
/// and nothing else. It is the one authority on state changes: the engine
/// asks it for the next state and the `Action` to carry out, the repository's
/// conditional updates take their expected states from `sources(of:)`, and
/// the experiment resource's `allowed_actions` come from `allowedActions(in:)`.
/// An illegal event throws and changes nothing.
///
/// ```
/// queued → running → pausing → paused → running → … → succeeded | failed
///            ↘ cancelling → cancelled            (queued/interrupted → cancelled at once)
/// running | pausing → interrupted → queued       (server died or drained: requeue)
/// paused → queued                                (resume when no runner holds it any more)
/// failed | cancelled | interrupted → queued      (retry)
/// ```
public struct Lifecycle: Sendable, Equatable {
    public private(set) var state: ExperimentState

    public init(_ state: ExperimentState) { self.state = state }

    /// What happens to an experiment.
    public enum Event: String, Sendable, CaseIterable, Hashable {
        /// A scheduler claimed the queued experiment.
        case claim
        /// A client (or a signal) asked to pause.
        case pause
        /// The runner parked at a checkpoint.
        case parked
        /// A client asked to resume a pause held by a runner (parked or not yet).
        case resume
        /// A client asked to cancel.
        case cancel
        /// The runner stopped after a cancel.
        case stopped
        /// Every stage completed.
        case succeed
        /// A stage failed.
        case fail
        /// The server is draining or died (lease expired).
        case interrupt
        /// Back to the queue without a client's retry: interrupted work, or a
        /// paused experiment that no runner holds any more (resumed after a restart).
        case requeue
        /// A client asked to run a failed, cancelled or interrupted experiment again.
        case retry
    }

    /// What the caller does after a transition (besides persisting the new state).
    public enum Action: Sendable, Equatable, Hashable {
        /// Start a runner for the experiment.
        case startRunner
        /// Ask the running stage to park at its next checkpoint.
        case parkAtNextCheckpoint
        /// The runner parked: it gives up its running slot until resumed.
        case releaseSlot
        /// Take back a pause that has not parked yet: the runner keeps going.
        case cancelPendingPause
        /// Wake the parked runner.
        case wakeRunner
        /// Ask the runner to stop at its next checkpoint (it may be parked).
        case stopRunner
        /// The runner is gone; release its lease and resources.
        case releaseRunner
        /// The experiment is queued again: wake the scheduler.
        case wakeScheduler
        /// Nothing to do beyond persisting the state.
        case none
    }

    /// One legal transition: where it goes, what to do, and the kind of its
    /// `pipeline_events` row.
    public struct Move: Sendable, Equatable, Hashable {
        public var to: ExperimentState
        public var action: Action
        /// The event row's `kind` (`pause_requested`, `paused`, `cancelled`, …).
        public var record: String
    }

    /// A transition the current state does not allow.
    public struct IllegalTransition: Error, Equatable, CustomStringConvertible {
        public var state: ExperimentState
        public var event: String
        public var description: String { "cannot \(event) an experiment that is \(state.rawValue)" }
    }

    /// The table: the move `event` makes from `state`, or nil when it is illegal.
    public static func move(from state: ExperimentState, on event: Event) -> Move? {
        switch (event, state) {
        case (.claim, .queued): Move(to: .running, action: .startRunner, record: "started")
        case (.pause, .running): Move(to: .pausing, action: .parkAtNextCheckpoint, record: "pause_requested")
        case (.parked, .pausing): Move(to: .paused, action: .releaseSlot, record: "paused")
        case (.resume, .paused): Move(to: .running, action: .wakeRunner, record: "resumed")
        case (.resume, .pausing): Move(to: .running, action: .cancelPendingPause, record: "resumed")
        case (.cancel, .queued), (.cancel, .interrupted): Move(to: .cancelled, action: .none, record: "cancelled")
        case (.cancel, .running), (.cancel, .pausing), (.cancel, .paused):
            Move(to: .cancelling, action: .stopRunner, record: "cancel_requested")
        case (.stopped, .cancelling): Move(to: .cancelled, action: .releaseRunner, record: "cancelled")
        case (.succeed, .running), (.succeed, .pausing): Move(to: .succeeded, action: .releaseRunner, record: "succeeded")
        case (.fail, .running), (.fail, .pausing), (.fail, .cancelling):
            Move(to: .failed, action: .releaseRunner, record: "failed")
        case (.interrupt, .running), (.interrupt, .pausing): Move(to: .interrupted, action: .releaseRunner, record: "interrupted")
        case (.interrupt, .cancelling): Move(to: .cancelled, action: .releaseRunner, record: "cancelled")
        case (.requeue, .interrupted): Move(to: .queued, action: .wakeScheduler, record: "requeued")
        case (.requeue, .paused): Move(to: .queued, action: .wakeScheduler, record: "resumed")
        case (.retry, .failed), (.retry, .cancelled), (.retry, .interrupted):
            Move(to: .queued, action: .wakeScheduler, record: "retry")
        default: nil
        }
    }

    /// The states `event` may leave (the expected states of a conditional update).
    public static func sources(of event: Event) -> Set<ExperimentState> {
        Set(ExperimentState.allCases.filter { move(from: $0, on: event) != nil })
    }

    /// The states `event` may leave for `target`.
    public static func sources(of event: Event, to target: ExperimentState) -> Set<ExperimentState> {
        Set(ExperimentState.allCases.filter { move(from: $0, on: event)?.to == target })
    }

    /// What a client may ask for in `state`, as the API names them (a request
    /// → the event it makes): `pause`, `resume`, `cancel`, `retry`.
    public static let clientActions: [(name: String, event: Event)] = [
        ("pause", .pause), ("resume", .resume), ("cancel", .cancel), ("retry", .retry),
    ]

    /// The client requests `state` allows, in the order `pause, resume, cancel, retry`
    /// (a paused experiment no runner holds is resumed through `requeue`, which
    /// `resume` covers: both leave `paused`).
    public static func allowedActions(in state: ExperimentState) -> [String] {
        clientActions.filter { move(from: state, on: $0.event) != nil }.map(\.name)
    }

    /// Applies `event`: the new state is kept and the action returned.
    /// - Throws: `IllegalTransition` (and the state is unchanged) when `state` does not allow it.
    public mutating func apply(_ event: Event) throws(IllegalTransition) -> Action {
        guard let m = Self.move(from: state, on: event) else {
            throw IllegalTransition(state: state, event: event.verb)
        }
        state = m.to
        return m.action
    }

    public mutating func claim() throws(IllegalTransition) -> Action { try apply(.claim) }
    public mutating func pause() throws(IllegalTransition) -> Action { try apply(.pause) }
    public mutating func parked() throws(IllegalTransition) -> Action { try apply(.parked) }
    public mutating func resume() throws(IllegalTransition) -> Action { try apply(.resume) }
    public mutating func cancel() throws(IllegalTransition) -> Action { try apply(.cancel) }
    public mutating func stopped() throws(IllegalTransition) -> Action { try apply(.stopped) }
    public mutating func succeed() throws(IllegalTransition) -> Action { try apply(.succeed) }
    public mutating func fail() throws(IllegalTransition) -> Action { try apply(.fail) }
    public mutating func interrupt() throws(IllegalTransition) -> Action { try apply(.interrupt) }
    public mutating func requeue() throws(IllegalTransition) -> Action { try apply(.requeue) }
    public mutating func retry() throws(IllegalTransition) -> Action { try apply(.retry) }
}

extension Lifecycle.Event {
    /// The word an error message uses: "cannot pause an experiment that is succeeded".
    public var verb: String {
        switch self {
        case .claim: "start"
        case .parked: "park"
        case .stopped: "stop"
        case .succeed: "complete"
        default: rawValue
        }
    }
}

extension Lifecycle {
    /// A move with every state it may leave, for a conditional update.
    public struct Step: Sendable, Equatable {
        public var from: [ExperimentState]
        public var to: ExperimentState
        public var record: String
    }

    /// Drain's two moves, made in one transaction by stores that can:
    /// running work → `interrupted` → `queued`.
    public static var interruptAndRequeue: (interrupt: Step, requeue: Step) {
        func step(_ event: Event, to target: ExperimentState, from only: ExperimentState? = nil) -> Step {
            let from = sources(of: event, to: target).filter { only == nil || $0 == only }.sorted { $0.rawValue < $1.rawValue }
            return Step(from: from, to: target, record: from.first.flatMap { move(from: $0, on: event)?.record } ?? event.rawValue)
        }
        return (step(.interrupt, to: .interrupted), step(.requeue, to: .queued, from: .interrupted))
    }
}
