import Dispatch
import Foundation
import Logging
import PostgresClient
import Store
import Synchronization

/// Rendered `GET /v1/experiments/{id}` bodies, kept fresh by PostgreSQL.
///
/// A trigger on `experiments` (migration 13) notifies `sf_experiments` with
/// the row's id whenever a transaction that changed or deleted the row
/// commits, whoever wrote it. A thread of ours LISTENs on that channel and
/// drops the id's body; the writers of this process also drop it themselves
/// right after their commit (``ExperimentChanges``), so a client never reads
/// back an older row than the one its own request or an event it saw here
/// produced. Other instances' changes show once their notification arrives
/// (normally well under a millisecond after the commit).
///
/// A body read from PostgreSQL is kept only if no change of its row was
/// reported since before the read began (a sequence number taken before the
/// query): a late result never overwrites a newer invalidation. While the
/// listener is not connected and listening (start-up, PostgreSQL away) the
/// cache is empty and bypassed: notifications may be lost meanwhile, so every
/// read goes to the database, as without a cache. Bounded to `capacity`
/// bodies; 404s are never kept.
final class ExperimentRowCache: Sendable {
    private struct State: ~Copyable {
        var bodies: [UUID: [UInt8]] = [:]
        /// The sequence number of each id's latest reported change.
        var changed: [UUID: UInt64] = [:]
        var sequence: UInt64 = 1
        /// Reads that began before this sequence number are not kept.
        var floor: UInt64 = 1
        var live = false
    }

    static let channel = "sf_experiments"

    private let state = Mutex(State())
    private let capacity: Int
    private let configuration: PostgresConfiguration
    private let logger: Logger
    private let stopping = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    /// Wakes the listener's reconnect wait when stopping.
    private let wake = DispatchSemaphore(value: 0)
    private let observer = Mutex<Int?>(nil)
    private let hitCount = Atomic<Int>(0)
    private let invalidationCount = Atomic<Int>(0)

    init(configuration: PostgresConfiguration, logger: Logger, capacity: Int = 4096) {
        self.configuration = configuration
        self.logger = logger
        self.capacity = max(1, capacity)
    }

    /// Reads answered from the cache, and changes reported to it.
    var statistics: (hits: Int, invalidations: Int) {
        (hitCount.load(ordering: .relaxed), invalidationCount.load(ordering: .relaxed))
    }

    func start() {
        let token = ExperimentChanges.observe { [weak self] id in self?.invalidate(id) }
        observer.withLock { $0 = token }
        started.store(true, ordering: .releasing)
        let t = Thread { [self] in
            listen()
            exited.signal()
        }
        t.name = "sf-row-cache"
        t.start()
    }

    func stop() {
        if let token = observer.withLock({ $0 }) { ExperimentChanges.remove(token) }
        stopping.store(true, ordering: .releasing)
        guard started.load(ordering: .acquiring) else { return }
        wake.signal()
        _ = exited.wait(timeout: .now() + 1)
        setLive(false)
    }

    /// The cached body of `id`, if any.
    func body(_ id: UUID) -> [UInt8]? {
        let body = state.withLock { s -> [UInt8]? in s.live ? s.bodies[id] : nil }
        if body != nil { hitCount.add(1, ordering: .relaxed) }
        return body
    }

    /// Take before reading rows from PostgreSQL; pass to ``keep(_:_:readSince:)``.
    /// Nil while the cache is not in use.
    func readToken() -> UInt64? { state.withLock { s in s.live ? s.sequence : nil } }

    /// Keeps `body` for `id`, read from a query that began after `token` was
    /// taken — unless the row was reported changed since.
    func keep(_ id: UUID, _ body: [UInt8], readSince token: UInt64) {
        state.withLock { s in
            guard s.live, token >= s.floor, (s.changed[id] ?? 0) <= token else { return }
            if s.bodies[id] == nil, s.bodies.count >= capacity { s.bodies.remove(at: s.bodies.startIndex) }
            s.bodies[id] = body
        }
    }

    /// Drops `id`'s body: its row changed (or went).
    func invalidate(_ id: UUID) {
        invalidationCount.add(1, ordering: .relaxed)
        state.withLock { s in
            s.sequence += 1
            s.bodies.removeValue(forKey: id)
            s.changed[id] = s.sequence
            if s.changed.count > 4 * capacity {
                // Forget old changes; reads in flight from before now are not kept.
                s.changed.removeAll(keepingCapacity: true)
                s.sequence += 1
                s.floor = s.sequence
            }
        }
    }

    private func setLive(_ live: Bool) {
        state.withLock { s in
            s.bodies.removeAll()
            s.changed.removeAll()
            s.sequence += 1
            s.floor = s.sequence
            s.live = live
        }
    }

    private func listen() {
        var connection: PostgresConnection?
        var backoff = 0.05
        while !stopping.load(ordering: .acquiring) {
            do {
                if connection == nil || connection?.isOpen == false {
                    setLive(false)
                    connection?.close()
                    connection = nil
                    let c = try PostgresConnection.connect(configuration, logger: logger)
                    try c.listen(Self.channel)
                    connection = c
                    // Changes made while nobody listened were never heard: start empty.
                    setLive(true)
                    backoff = 0.05
                }
                guard let c = connection, let first = try c.waitForNotification(timeout: .milliseconds(250)) else { continue }
                var n: PostgresNotification? = first
                while let note = n {
                    if let id = UUID(uuidString: note.payload) { invalidate(id) }
                    n = try c.waitForNotification(timeout: .zero)
                }
            } catch {
                if state.withLock({ $0.live }) {
                    logger.warning("experiment row cache: listener lost; reading from PostgreSQL", metadata: ["error": "\(error)"])
                }
                setLive(false)
                connection?.close()
                connection = nil
                _ = wake.wait(timeout: .now() + backoff)
                backoff = min(backoff * 2, 2)
            }
        }
        connection?.close()
    }
}
