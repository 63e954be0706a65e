/// The experiment lifecycle as a pure state machine: every legal transition
/// and nothing else. Event methods mutate the state and return the `Action`
/// the caller must carry out; an illegal event throws and changes nothing.
///
/// ```
/// queued → running → pausing → paused → running → … → succeeded | failed
///            ↘ cancelling → cancelled            (queued/paused → cancelled too)
/// running → interrupted → queued                 (server died or drained)
/// failed | cancelled | interrupted → queued      (retry)
/// ```
public struct Lifecycle: Sendable, Equatable {
    public private(set) var state: ExperimentState

    public init(_ state: ExperimentState) { self.state = state }

    /// What the caller does after a transition (besides persisting the new state).
    public enum Action: Sendable, Equatable {
        /// Start a runner for the experiment.
        case startRunner
        /// Ask the running stage to park at its next checkpoint.
        case parkAtNextCheckpoint
        /// Take back a pause that has not parked yet: the runner keeps going.
        case cancelPendingPause
        /// Wake the parked runner.
        case wakeRunner
        /// Ask the runner to stop at its next checkpoint (it may be parked).
        case stopRunner
        /// The runner is gone; release its lease and resources.
        case releaseRunner
        /// Nothing to do beyond persisting the state.
        case none
    }

    /// A transition the current state does not allow.
    public struct IllegalTransition: Error, Equatable, CustomStringConvertible {
        public var state: ExperimentState
        public var event: String
        public var description: String { "cannot \(event) an experiment that is \(state.rawValue)" }
    }

    private mutating func move(_ event: String, from allowed: Set<ExperimentState>, to next: ExperimentState, _ action: Action)
        throws(IllegalTransition) -> Action
    {
        guard allowed.contains(state) else { throw IllegalTransition(state: state, event: event) }
        state = next
        return action
    }

    /// A scheduler claimed the queued experiment.
    public mutating func claim() throws(IllegalTransition) -> Action {
        try move("start", from: [.queued], to: .running, .startRunner)
    }

    /// A client asked to pause.
    public mutating func pause() throws(IllegalTransition) -> Action {
        try move("pause", from: [.running], to: .pausing, .parkAtNextCheckpoint)
    }

    /// The runner parked at a checkpoint.
    public mutating func parked() throws(IllegalTransition) -> Action {
        try move("park", from: [.pausing], to: .paused, .none)
    }

    /// A client asked to resume.
    public mutating func resume() throws(IllegalTransition) -> Action {
        switch state {
        case .paused:
            state = .running
            return .wakeRunner
        case .pausing:
            state = .running
            return .cancelPendingPause
        default:
            throw IllegalTransition(state: state, event: "resume")
        }
    }

    /// A client asked to cancel.
    public mutating func cancel() throws(IllegalTransition) -> Action {
        switch state {
        case .queued, .interrupted:
            state = .cancelled
            return .none
        case .running, .pausing, .paused:
            state = .cancelling
            return .stopRunner
        default:
            throw IllegalTransition(state: state, event: "cancel")
        }
    }

    /// The runner stopped after a cancel.
    public mutating func stopped() throws(IllegalTransition) -> Action {
        try move("stop", from: [.cancelling], to: .cancelled, .releaseRunner)
    }

    /// Every stage completed.
    public mutating func succeed() throws(IllegalTransition) -> Action {
        try move("complete", from: [.running, .pausing], to: .succeeded, .releaseRunner)
    }

    /// A stage failed.
    public mutating func fail() throws(IllegalTransition) -> Action {
        try move("fail", from: [.running, .pausing, .cancelling], to: .failed, .releaseRunner)
    }

    /// The server is draining or died (lease expired). A paused experiment
    /// stays paused: it is not running, so nothing is interrupted.
    public mutating func interrupt() throws(IllegalTransition) -> Action {
        switch state {
        case .running, .pausing:
            state = .interrupted
            return .releaseRunner
        case .cancelling:
            state = .cancelled
            return .releaseRunner
        default:
            throw IllegalTransition(state: state, event: "interrupt")
        }
    }

    /// Put a failed, cancelled or interrupted experiment back in the queue.
    public mutating func retry() throws(IllegalTransition) -> Action {
        try move("retry", from: [.failed, .cancelled, .interrupted], to: .queued, .none)
    }
}
