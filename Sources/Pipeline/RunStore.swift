public import Foundation
public import Logging
import Synchronization

/// Which claim of an experiment a runner holds: the instance that claimed it
/// and the generation the claim gave it. Every write the runner makes names
/// it, and the store refuses it once the experiment moved on (another claim,
/// or the recovery of an expired lease, bumps the generation).
public struct Fence: Sendable, Equatable, Hashable, CustomStringConvertible {
    public var owner: String
    public var generation: Int64

    public init(owner: String, generation: Int64) {
        self.owner = owner
        self.generation = generation
    }

    public var description: String { "\(owner)#\(generation)" }
}

/// Why a runner stopped without recording an outcome itself.
public enum RunStop: Error, Equatable, CustomStringConvertible {
    /// A write was refused: another runner holds the experiment now.
    case fenced
    /// PostgreSQL stayed unreachable longer than the outage bound.
    case outage(seconds: Double)

    public var description: String {
        switch self {
        case .fenced: "the experiment was taken over by another runner"
        case .outage(let s): "PostgreSQL unreachable for \(Int(s)) s"
        }
    }
}

/// One run's access to the store: every write the runner (and its stages)
/// makes goes through ``write(_:_:)``, which waits out an unreachable store
/// with backoff — up to the outage bound, checking the pause gate in between
/// (so a cancel or a lease hold still takes effect) — and turns a refused,
/// stale write into ``RunStop/fenced``.
///
/// Time spent waiting here is ``suspendedTime``: stages subtract it from
/// their timeouts (a model's clock does not run while the store is away).
public final class RunStore: Sendable {
    public let experimentID: UUID
    public let fence: Fence
    let gate: PauseGate
    let outageWait: Duration
    let isTransient: @Sendable (any Error) -> Bool
    let isFenced: @Sendable (any Error) -> Bool
    let logger: Logger
    private let stopReason = Mutex<RunStop?>(nil)

    public init(
        experimentID: UUID, fence: Fence, gate: PauseGate, outageWait: Duration, logger: Logger,
        isTransient: @escaping @Sendable (any Error) -> Bool, isFenced: @escaping @Sendable (any Error) -> Bool
    ) {
        self.experimentID = experimentID
        self.fence = fence
        self.gate = gate
        self.outageWait = outageWait
        self.logger = logger
        self.isTransient = isTransient
        self.isFenced = isFenced
    }

    /// Total time this run spent suspended: waiting for the store, held at a
    /// checkpoint because its lease could not be renewed, or paused (the gate's count).
    public var suspendedTime: Duration { gate.suspendedTime }

    /// Why the run must stop without writing further, once a write found out.
    public var stopped: RunStop? { stopReason.withLock { $0 } }

    func stop(_ reason: RunStop) {
        stopReason.withLock { if $0 == nil { $0 = reason } }
    }

    /// Runs one logical write (or read) of the run. `body` gets a key naming
    /// this write, the same on every retry, for idempotent inserts.
    /// - Throws: ``RunStop`` when the write was refused as stale or the store
    ///   stayed away past the bound; `StageCancelled` when the run is cancelled
    ///   meanwhile; the body's own error when it is not a connection problem.
    public func write<T>(_ body: (_ key: String) throws -> T) throws -> T {
        if let reason = stopped { throw reason }
        let key = "\(fence.generation):\(UUID().uuidString.lowercased())"
        var delay = 0.05
        var firstFailure: ContinuousClock.Instant?
        while true {
            do {
                let value = try body(key)
                if let firstFailure {
                    logger.notice(
                        "store reachable again",
                        metadata: ["experiment_id": "\(experimentID)", "waited_ms": "\(Self.ms(firstFailure.duration(to: .now)))"])
                }
                return value
            } catch  where isFenced(error) {
                stop(.fenced)
                throw RunStop.fenced
            } catch  where isTransient(error) {
                let now = ContinuousClock.now
                let since = firstFailure ?? now
                if firstFailure == nil {
                    firstFailure = now
                    logger.warning("store unreachable; waiting", metadata: ["experiment_id": "\(experimentID)", "error": "\(error)"])
                }
                let waited = since.duration(to: now)
                if waited >= outageWait {
                    let reason = RunStop.outage(seconds: Double(waited.components.seconds))
                    stop(reason)
                    throw reason
                }
                try gate.checkpoint()
                gate.suspend { Thread.sleep(forTimeInterval: delay) }
                delay = min(delay * 2, 1)
            }
        }
    }

    static func ms(_ d: Duration) -> Int64 { d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }
}
