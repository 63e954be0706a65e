public import Foundation

/// An experiment handed to this instance by the scheduler.
public struct ClaimedExperiment: Sendable, Equatable {
    public var id: UUID
    public var name: String
    /// The stages to run, in order.
    public var stages: [String]
    /// Stages that completed in an earlier run (skipped unless `resumeFrom` says otherwise).
    public var completedStages: [String]
    /// The normalized request JSON.
    public var request: Data
    /// The generation this claim gave the experiment (see ``Fence``).
    public var generation: Int64

    public init(id: UUID, name: String, stages: [String], completedStages: [String], request: Data, generation: Int64 = 0) {
        self.id = id
        self.name = name
        self.stages = stages
        self.completedStages = completedStages
        self.request = request
        self.generation = generation
    }
}

/// The outcome of a conditional state change.
public enum TransitionResult: Sendable, Equatable {
    case moved
    /// The row was not in an expected state (it holds `current`; nil = no such experiment).
    case conflict(current: ExperimentState?)
}

/// What the engine needs from storage. The `experiments` row is the single
/// source of truth; every change is conditional on the state it expects and
/// is recorded in `pipeline_events` in the same transaction.
public protocol ExperimentRepository: Sendable {
    /// The experiment's state, or nil.
    func state(of id: UUID) throws -> ExperimentState?

    /// Moves `id` from one of `from` to `to`, records `event`, sets or clears
    /// the error, and (for `to == .running`) keeps the lease.
    func transition(
        _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?, details: [String: String]
    ) throws -> TransitionResult

    /// A runner's state change: as above, and only while `fence` still holds
    /// the experiment (its owner holds the lease, its generation is current).
    /// - Throws: an error ``isFenced(_:)`` recognizes when it does not.
    func transition(
        _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?, details: [String: String],
        fence: Fence
    ) throws -> TransitionResult

    /// A runner stopped without finishing (drain, outage, lost lease) and
    /// gives the experiment back, if `fence` still holds it: running or
    /// pausing → `interrupted` (from the real previous state) → `queued`;
    /// paused stays paused without a lease; cancelling → cancelled.
    /// `details` go into the `interrupted` event's details (with `reason`).
    /// - Returns: the state it left the experiment in.
    /// - Throws: an error ``isFenced(_:)`` recognizes when `fence` no longer holds it.
    func abandon(_ id: UUID, reason: String, fence: Fence, details: [String: String]) throws -> ExperimentState?

    /// Claims the next queued experiment (highest priority, then oldest) for
    /// `owner` under a lease, moving it to running and bumping its generation.
    func claimNext(owner: String, leaseSeconds: Double) throws -> ClaimedExperiment?

    /// Extends the leases `owner` holds, each only while its generation is
    /// the one given (a lease that expired but that nobody took over is
    /// renewed too: the runner never stopped holding it).
    /// - Returns: the ids renewed; the others were taken over.
    func renewLeases(owner: String, generations: [UUID: Int64], leaseSeconds: Double) throws -> Set<UUID>

    /// Experiments whose lease expired (their server died, or could not renew
    /// in time): running ones become interrupted then queued again; paused
    /// ones stay paused, leaseless; cancelling ones end cancelled. Each
    /// bumps the generation, fencing the old runner out. The engine calls it
    /// only right after it renewed its own leases.
    /// Returns the ids requeued.
    func recoverExpiredLeases() throws -> [UUID]

    /// A stage started / completed / was skipped (event rows; completion is
    /// added to `completed_stages`, and `stage` and `percent` are updated),
    /// only while `fence` holds the experiment; `key` names the write so a
    /// retry after an ambiguous failure stores one event.
    func stageStarted(_ id: UUID, stage: String, fence: Fence, key: String) throws
    func stageCompleted(_ id: UUID, stage: String, durationMs: Double, percent: Double, fence: Fence, key: String) throws
    func stageSkipped(_ id: UUID, stage: String, reason: String, fence: Fence, key: String) throws

    /// Records a notable moment (checkpoint restored, recompute, …) of a run.
    func recordEvent(_ id: UUID, kind: String, stage: String?, details: [String: String], fence: Fence, key: String) throws

    /// Whether `error` means the store is unreachable for now (retry later)
    /// rather than that the request itself is wrong.
    func isTransient(_ error: any Error) -> Bool

    /// Whether `error` is a write refused because the writer's fence is stale.
    func isFenced(_ error: any Error) -> Bool

    /// Whether a live instance holds the experiment (its lease has not expired).
    /// A paused experiment keeps its lease while its runner is parked.
    func hasLiveLease(_ id: UUID) throws -> Bool

    /// Releases the lease of an experiment this instance no longer runs.
    func releaseLease(_ id: UUID) throws

    /// States of the experiments this instance runs (control requests made
    /// on other instances arrive this way).
    func states(of ids: [UUID]) throws -> [UUID: ExperimentState]
}

extension ExperimentRepository {
    /// A state change made by a runner (fenced by its claim) when `fence` is
    /// given, or by a client's control request (unfenced) when it is nil.
    public func transition(
        _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?, details: [String: String],
        fence: Fence?
    ) throws -> TransitionResult {
        guard let fence else { return try transition(id, from: from, to: to, event: event, error: error, details: details) }
        return try transition(id, from: from, to: to, event: event, error: error, details: details, fence: fence)
    }
}
