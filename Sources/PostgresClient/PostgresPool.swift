internal import Dispatch
public import Logging
internal import Synchronization

/// A thread-safe pool of ``PostgresConnection``s for blocking callers.
///
/// Connections are opened on demand (never in `init`, so a service can start
/// while the server is down and report itself not ready), up to
/// `maxConnections`. On checkout an idle connection is checked: `PQstatus`,
/// plus a `SELECT 1` if it sat idle longer than `idleCheckInterval`; a dead
/// one is closed and replaced. A connection that broke while in use is closed
/// instead of returned, so after a server restart the next checkout simply
/// opens a new one. When every connection is in use a checkout waits, at most
/// `checkoutTimeout`, then fails with `.poolExhausted`.
///
/// Decisions live in `PoolStateMachine`, guarded by a `Mutex`; connecting,
/// health checks and closing happen outside the lock. A waiting checkout parks
/// its own thread on its own `DispatchSemaphore`: a timed wait that needs no
/// predicate loop, wakes exactly that waiter (FIFO order is the state
/// machine's), and a signal that races the timeout is harmless because the
/// outcome is read under the lock.
///
/// Every method blocks; call them from threads you own.
public final class PostgresPool: Sendable {
    /// Where the pool connects.
    public let configuration: PostgresConfiguration
    /// How long a checkout waits for a connection when all are in use.
    public let checkoutTimeout: Duration
    private let logger: Logger
    private let state: Mutex<State>

    private struct State: ~Copyable {
        var machine: PoolStateMachine<PostgresConnection>
        var waiters: [PoolStateMachine<PostgresConnection>.WaiterID: Waiter] = [:]
    }

    /// One parked checkout. `outcome` is written and read only under the pool's lock.
    private final class Waiter: @unchecked Sendable {
        enum Outcome {
            case connection(PostgresConnection)
            case permit
            case closed
        }

        let semaphore = DispatchSemaphore(value: 0)
        var outcome: Outcome?
    }

    /// Creates a pool. Opens no connection and never fails for a server that is down.
    ///
    /// - Parameters:
    ///   - configuration: Where to connect.
    ///   - minConnections: Idle connections kept open however long they sit
    ///     idle; others close after 5 minutes idle. Default 1.
    ///   - maxConnections: The most connections open at once. Default 10.
    ///   - checkoutTimeout: How long a checkout waits when all are in use. Default 5 s.
    ///   - idleCheckInterval: A connection idle longer than this is pinged
    ///     (`SELECT 1`) before it is handed out. Default 1 s.
    ///   - logger: Where the pool and its connections log.
    public init(
        configuration: PostgresConfiguration,
        minConnections: Int = 1,
        maxConnections: Int = 10,
        checkoutTimeout: Duration = .seconds(5),
        idleCheckInterval: Duration = .seconds(1),
        logger: Logger
    ) {
        self.configuration = configuration
        self.checkoutTimeout = checkoutTimeout
        self.logger = logger
        self.state = Mutex(
            State(
                machine: PoolStateMachine(
                    maxConnections: max(1, maxConnections),
                    minConnections: minConnections,
                    idleCheckInterval: idleCheckInterval,
                    maxIdleTime: .seconds(300)
                )
            )
        )
    }

    deinit {
        close()
    }

    /// The pool's counters now.
    public var statistics: PostgresPoolStatistics {
        state.withLock { $0.machine.statistics }
    }

    /// Runs `body` with a connection from the pool, then returns it to the pool
    /// (or closes it if it broke, or if it was left inside a transaction that
    /// could not be rolled back). Do not keep the connection after `body`, and
    /// do not nest `withConnection` calls on one thread: if that thread already
    /// holds every connection, the inner call can only time out.
    ///
    /// - Parameter body: The work.
    /// - Returns: What `body` returned.
    /// - Throws: `PostgresError` with `.poolExhausted` (all connections stayed
    ///   in use for `checkoutTimeout`), `.poolClosed` or `.connectionFailed`;
    ///   or what `body` threw.
    @discardableResult
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try checkout()
        let value: T
        do {
            value = try body(connection)
        } catch {
            checkin(connection)
            throw error
        }
        checkin(connection)
        return value
    }

    /// Runs `body` in a transaction on a pooled connection; see
    /// ``PostgresConnection/withTransaction(_:)`` and ``withConnection(_:)``.
    ///
    /// - Parameter body: The work.
    /// - Returns: What `body` returned, after `COMMIT`.
    /// - Throws: As ``withConnection(_:)``, after `ROLLBACK` if `body` threw.
    @discardableResult
    public func withTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection { connection in try connection.withTransaction(body) }
    }

    /// Closes the idle connections and fails parked and later checkouts with
    /// `.poolClosed`; connections in use are closed when they come back.
    /// Safe to call more than once.
    public func close() {
        let (action, waiters) = state.withLock { state in
            let action = state.machine.close()
            let waiters = action.waiters.compactMap { state.waiters.removeValue(forKey: $0) }
            for waiter in waiters {
                waiter.outcome = .closed
                waiter.semaphore.signal()
            }
            return (action, waiters.count)
        }
        for connection in action.connections { connection.close() }
        if !action.connections.isEmpty || waiters > 0 {
            logger.debug("PostgreSQL pool closed", metadata: ["closed_connections": "\(action.connections.count)"])
        }
    }

    // MARK: - Checkout

    private enum Step {
        case use(PostgresConnection, healthCheck: Bool)
        case connect
        case wait(PoolStateMachine<PostgresConnection>.WaiterID, Waiter)
        case closed
    }

    private func checkout() throws(PostgresError) -> PostgresConnection {
        let start = ContinuousClock.now
        let step = state.withLock { state -> Step in
            switch state.machine.checkout(now: start) {
            case .use(let connection, let healthCheck): return .use(connection, healthCheck: healthCheck)
            case .connect: return .connect
            case .failClosed: return .closed
            case .wait(let id):
                let waiter = Waiter()
                state.waiters[id] = waiter
                return .wait(id, waiter)
            }
        }
        switch step {
        case .use(let connection, let healthCheck):
            if connection.isOpen, !healthCheck || connection.ping() {
                completed(since: start)
                return connection
            }
            logger.info("PostgreSQL pool discards a dead idle connection", metadata: ["postgres_pid": "\(connection.processID)"])
            connection.close()
            state.withLock { $0.machine.replaceLeased() }
            return try connect(since: start)
        case .connect:
            return try connect(since: start)
        case .closed:
            throw closedError()
        case .wait(let id, let waiter):
            let deadline = start + checkoutTimeout
            let remaining = deadline - ContinuousClock.now
            let timedOut = waiter.semaphore.wait(timeout: .now() + .nanoseconds(Int(clamping: remaining.nanoseconds))) == .timedOut
            let outcome = state.withLock { state -> Waiter.Outcome? in
                if timedOut, state.machine.waiterTimedOut(id) {
                    state.waiters[id] = nil
                    return nil
                }
                state.waiters[id] = nil
                return waiter.outcome
            }
            switch outcome {
            case nil:
                let statistics = self.statistics
                logger.warning(
                    "PostgreSQL pool exhausted",
                    metadata: ["max_connections": "\(statistics.max)", "waited": "\(checkoutTimeout.shortDescription)"]
                )
                throw PostgresError(
                    code: .poolExhausted,
                    message: "all \(statistics.max) connections are in use; waited \(checkoutTimeout.shortDescription)"
                )
            case .connection(let connection):
                completed(since: start)
                return connection
            case .permit:
                return try connect(since: start)
            case .closed:
                throw closedError()
            }
        }
    }

    /// Opens a connection for a slot the state machine reserved.
    private func connect(since start: ContinuousClock.Instant) throws(PostgresError) -> PostgresConnection {
        let connection: PostgresConnection
        do {
            connection = try PostgresConnection.connect(configuration, logger: logger)
        } catch {
            state.withLock { state in
                if case .permit(let id) = state.machine.connectFailed(), let waiter = state.waiters[id] {
                    waiter.outcome = .permit
                    waiter.semaphore.signal()
                }
            }
            logger.warning(
                "PostgreSQL pool could not connect",
                metadata: ["postgres": "\(configuration)", "error": "\(error.message)"]
            )
            throw error
        }
        let action = state.withLock { $0.machine.connectSucceeded() }
        guard action == .use else {
            connection.close()
            throw closedError()
        }
        completed(since: start)
        return connection
    }

    private func completed(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        state.withLock { $0.machine.checkoutCompleted(elapsed: elapsed) }
    }

    private func closedError() -> PostgresError {
        PostgresError(code: .poolClosed, message: "the PostgreSQL connection pool is closed")
    }

    // MARK: - Checkin

    /// Returns a connection: reused if healthy and clean, closed otherwise.
    private func checkin(_ connection: PostgresConnection) {
        let reusable = prepareForReuse(connection)
        let now = ContinuousClock.now
        let (action, evicted) = state.withLock { state in
            let action = state.machine.checkin(connection, reusable: reusable, now: now)
            switch action {
            case .handOff(let connection, let id):
                if let waiter = state.waiters[id] {
                    waiter.outcome = .connection(connection)
                    waiter.semaphore.signal()
                }
            case .closeAndPermit(_, let id):
                if let waiter = state.waiters[id] {
                    waiter.outcome = .permit
                    waiter.semaphore.signal()
                }
            case .keep, .close:
                break
            }
            return (action, state.machine.evictIdle(now: now))
        }
        switch action {
        case .close(let connection), .closeAndPermit(let connection, _):
            if !reusable {
                logger.info("PostgreSQL pool discards a broken connection", metadata: ["postgres_pid": "\(connection.processID)"])
            }
            connection.close()
        case .keep, .handOff:
            break
        }
        for connection in evicted { connection.close() }
    }

    /// Whether a returned connection can serve the next caller; rolls back a
    /// transaction left open and stops listening.
    private func prepareForReuse(_ connection: PostgresConnection) -> Bool {
        guard connection.isOpen, !connection.sawConnectionError else { return false }
        switch connection.transactionStatus {
        case .idle:
            break
        case .inTransaction, .inFailedTransaction:
            logger.warning("PostgreSQL connection returned to the pool inside a transaction; rolling back")
            guard (try? connection.simpleQuery(unsafeSQL: "ROLLBACK")) != nil, connection.transactionStatus == .idle else {
                return false
            }
        case .active, .unknown:
            return false
        }
        if !connection.listeningChannels.isEmpty {
            guard (try? connection.unlistenAll()) != nil else { return false }
        }
        return connection.isOpen && !connection.sawConnectionError
    }
}

extension Duration {
    /// Whole nanoseconds (for Dispatch timeouts), clamped at 0.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0, attoseconds >= 0 || seconds > 0 else { return 0 }
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? .max : product &+ attoseconds / 1_000_000_000
    }
}
