import Foundation
import Synchronization

@testable import Pipeline

/// The engine's storage in memory, for database-free tests of scheduling and
/// control. It keeps the same promises as the PostgreSQL repository: every
/// state change is conditional on the expected states and recorded as an event.
final class InMemoryExperimentRepository: ExperimentRepository {
    /// The built-in stage order (Pipeline names no stages; this fake only needs an order for `from_stage`).
    static let stageOrder = ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]

    struct Event: Sendable, Equatable {
        var id: UUID
        var kind: String
        var from: ExperimentState?
        var to: ExperimentState?
        var stage: String?
        var durationMs: Double?
        var details: [String: String]
    }

    struct Row: Sendable {
        var id: UUID
        var name: String
        var status: ExperimentState
        var stages: [String]
        var completed: [String] = []
        var leaseOwner: String?
        var leaseExpires: Date?
        var error: String?
        var order: Int
        var generation: Int64 = 0
    }

    /// A write refused because the writer's fence is stale.
    struct Fenced: Error {}

    private struct Store {
        var rows: [UUID: Row] = [:]
        var events: [Event] = []
        var next = 0
    }
    private let store = Mutex(Store())

    /// Adds a queued experiment.
    @discardableResult
    func create(_ name: String, stages: [String]) -> UUID {
        let id = UUID()
        store.withLock { s in
            s.next += 1
            s.rows[id] = Row(id: id, name: name, status: .queued, stages: stages, order: s.next)
            s.events.append(Event(id: id, kind: "created", to: .queued, details: [:]))
        }
        return id
    }

    var events: [Event] { store.withLock { $0.events } }
    func events(of id: UUID) -> [Event] { events.filter { $0.id == id } }
    func row(_ id: UUID) -> Row? { store.withLock { $0.rows[id] } }

    func state(of id: UUID) throws -> ExperimentState? { store.withLock { $0.rows[id]?.status } }

    func states(of ids: [UUID]) throws -> [UUID: ExperimentState] {
        store.withLock { s in ids.reduce(into: [:]) { out, id in out[id] = s.rows[id]?.status } }
    }

    func transition(
        _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?, details: [String: String]
    ) throws -> TransitionResult {
        store.withLock { s in Self.move(&s, id, from: from, to: to, event: event, error: error, details: details) }
    }

    func transition(
        _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?, details: [String: String],
        fence: Fence
    ) throws -> TransitionResult {
        try store.withLock { s in
            try Self.require(s, id, fence)
            return Self.move(&s, id, from: from, to: to, event: event, error: error, details: details)
        }
    }

    private static func require(_ s: Store, _ id: UUID, _ fence: Fence) throws {
        guard let row = s.rows[id], row.generation == fence.generation, row.leaseOwner == nil || row.leaseOwner == fence.owner else {
            throw Fenced()
        }
    }

    func abandon(_ id: UUID, reason: String, fence: Fence, details: [String: String]) throws -> ExperimentState? {
        try store.withLock { s in
            try Self.require(s, id, fence)
            guard let current = s.rows[id]?.status else { return nil }
            switch current {
            case .running, .pausing:
                _ = Self.move(
                    &s, id, from: [current], to: .interrupted, event: "interrupted", error: nil,
                    details: details.merging(["reason": reason]) { _, r in r })
                _ = Self.move(&s, id, from: [.interrupted], to: .queued, event: "requeued", error: nil, details: ["reason": reason])
                return .queued
            case .paused:
                s.rows[id]?.leaseOwner = nil
                s.rows[id]?.leaseExpires = nil
                return .paused
            case .cancelling:
                _ = Self.move(&s, id, from: [.cancelling], to: .cancelled, event: "cancelled", error: nil, details: ["reason": reason])
                return .cancelled
            default:
                return current
            }
        }
    }

    private static func move(
        _ s: inout Store, _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?,
        details: [String: String]
    ) -> TransitionResult {
        guard var row = s.rows[id] else { return .conflict(current: nil) }
        guard from.contains(row.status) else { return .conflict(current: row.status) }
        let previous = row.status
        row.status = to
        row.error = to == .failed ? error : nil
        if [.queued, .interrupted, .succeeded, .failed, .cancelled].contains(to) {
            row.leaseOwner = nil
            row.leaseExpires = nil
        }
        if let stage = details["from_stage"], let i = Self.stageOrder.firstIndex(of: stage) {
            row.completed.removeAll { (Self.stageOrder.firstIndex(of: $0) ?? 0) >= i }
        }
        s.rows[id] = row
        var d = details
        if let error { d["error"] = error }
        s.events.append(Event(id: id, kind: event, from: previous, to: to, details: d))
        return .moved
    }

    func claimNext(owner: String, leaseSeconds: Double) throws -> ClaimedExperiment? {
        store.withLock { s in
            guard var row = s.rows.values.filter({ $0.status == .queued }).min(by: { $0.order < $1.order }) else { return nil }
            row.status = .running
            row.leaseOwner = owner
            row.leaseExpires = Date().addingTimeInterval(leaseSeconds)
            row.generation += 1
            s.rows[row.id] = row
            s.events.append(Event(id: row.id, kind: "started", from: .queued, to: .running, details: ["owner": owner]))
            return ClaimedExperiment(
                id: row.id, name: row.name, stages: row.stages, completedStages: row.completed, request: Data("{}".utf8),
                generation: row.generation)
        }
    }

    func renewLeases(owner: String, generations: [UUID: Int64], leaseSeconds: Double) throws -> Set<UUID> {
        store.withLock { s in
            var renewed: Set<UUID> = []
            for (id, generation) in generations where s.rows[id]?.generation == generation {
                guard let row = s.rows[id], row.leaseOwner == owner || row.leaseOwner == nil else { continue }
                if row.leaseOwner == nil, ![.running, .pausing, .paused, .cancelling].contains(row.status) { continue }
                s.rows[id]?.leaseOwner = owner
                s.rows[id]?.leaseExpires = Date().addingTimeInterval(leaseSeconds)
                renewed.insert(id)
            }
            return renewed
        }
    }

    func recoverExpiredLeases() throws -> [UUID] { [] }

    func stageStarted(_ id: UUID, stage: String, fence: Fence, key: String) throws {
        try store.withLock { s in
            try Self.require(s, id, fence)
            s.events.append(Event(id: id, kind: "stage_started", stage: stage, details: [:]))
        }
    }

    func stageCompleted(_ id: UUID, stage: String, durationMs: Double, percent: Double, fence: Fence, key: String) throws {
        try store.withLock { s in
            try Self.require(s, id, fence)
            if s.rows[id]?.completed.contains(stage) == false { s.rows[id]?.completed.append(stage) }
            s.events.append(Event(id: id, kind: "stage_completed", stage: stage, durationMs: durationMs, details: [:]))
        }
    }

    func stageSkipped(_ id: UUID, stage: String, reason: String, fence: Fence, key: String) throws {
        try store.withLock { s in
            try Self.require(s, id, fence)
            s.events.append(Event(id: id, kind: "stage_skipped", stage: stage, details: ["reason": reason]))
        }
    }

    func recordEvent(_ id: UUID, kind: String, stage: String?, details: [String: String], fence: Fence, key: String) throws {
        try store.withLock { s in
            try Self.require(s, id, fence)
            s.events.append(Event(id: id, kind: kind, stage: stage, details: details))
        }
    }

    func isFenced(_ error: any Error) -> Bool { error is Fenced }

    func isTransient(_ error: any Error) -> Bool { false }

    func hasLiveLease(_ id: UUID) throws -> Bool {
        store.withLock { s in
            guard let row = s.rows[id], row.leaseOwner != nil, let until = row.leaseExpires else { return false }
            return until > Date()
        }
    }

    func releaseLease(_ id: UUID) throws {
        store.withLock { s in
            s.rows[id]?.leaseOwner = nil
            s.rows[id]?.leaseExpires = nil
        }
    }
}
