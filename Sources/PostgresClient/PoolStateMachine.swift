/// The pool's decisions, as a pure value: no locks, no I/O, no clock.
///
/// Each event method updates the state and returns what the runner
/// (``PostgresPool``) must do: hand a connection over, connect, park a
/// waiter, wake one, close a connection. The runner calls it under its lock
/// and performs the actions (connecting and closing outside the lock).
///
/// A "lease" is a slot counted against `maxConnections`: a connection in use,
/// or a connection being opened for a caller (`connecting`).
struct PoolStateMachine<Connection> {
    /// Identifies one parked checkout.
    struct WaiterID: Hashable, Sendable {
        let rawValue: Int
    }

    struct IdleConnection {
        var connection: Connection
        var since: ContinuousClock.Instant
    }

    enum CheckoutAction {
        /// Use this idle connection; `healthCheck` asks for a ping first
        /// (it has been idle longer than `idleCheckInterval`).
        case use(Connection, healthCheck: Bool)
        /// A slot is reserved: open a new connection, then report
        /// `connectSucceeded` or `connectFailed`.
        case connect
        /// Every slot is taken: park until `handOff`, `permit` or the timeout.
        case wait(WaiterID)
        /// The pool is closed.
        case failClosed
    }

    enum CheckinAction {
        /// Kept as idle.
        case keep
        /// Give the connection to this parked waiter (the slot stays leased).
        case handOff(Connection, to: WaiterID)
        /// Close the connection.
        case close(Connection)
        /// Close the connection; its slot goes to this waiter, which must connect.
        case closeAndPermit(Connection, WaiterID)
    }

    enum ConnectFailedAction: Equatable {
        case none
        /// The freed slot goes to this waiter, which must connect.
        case permit(WaiterID)
    }

    enum ConnectSucceededAction: Equatable {
        /// Hand the new connection to the caller.
        case use
        /// The pool closed meanwhile: close the new connection and fail.
        case closeAndFail
    }

    struct CloseAction {
        var connections: [Connection]
        var waiters: [WaiterID]
    }

    let maxConnections: Int
    let minConnections: Int
    let idleCheckInterval: Duration
    /// Idle connections beyond `minConnections` are closed after this long.
    let maxIdleTime: Duration

    private(set) var idle: [IdleConnection] = []
    private(set) var leased = 0
    private(set) var connecting = 0
    private(set) var waiters: [WaiterID] = []
    private(set) var isClosed = false
    private var nextWaiterID = 0

    private(set) var waits = 0
    private(set) var timeouts = 0
    private(set) var checkouts = 0
    private(set) var checkoutTimeTotal: Duration = .zero
    private(set) var connectsFailed = 0

    init(maxConnections: Int, minConnections: Int, idleCheckInterval: Duration, maxIdleTime: Duration) {
        precondition(maxConnections >= 1, "maxConnections must be at least 1")
        self.maxConnections = maxConnections
        self.minConnections = min(max(0, minConnections), maxConnections)
        self.idleCheckInterval = idleCheckInterval
        self.maxIdleTime = maxIdleTime
    }

    /// Open connections (idle or in use), not counting those being opened.
    var openConnections: Int { idle.count + leased - connecting }

    /// A caller wants a connection.
    mutating func checkout(now: ContinuousClock.Instant) -> CheckoutAction {
        if isClosed { return .failClosed }
        if let entry = idle.popLast() {
            leased += 1
            return .use(entry.connection, healthCheck: now - entry.since > idleCheckInterval)
        }
        if leased < maxConnections {
            leased += 1
            connecting += 1
            return .connect
        }
        let id = WaiterID(rawValue: nextWaiterID)
        nextWaiterID += 1
        waiters.append(id)
        waits += 1
        return .wait(id)
    }

    /// A leased idle connection failed its health check: keep the slot and
    /// open a replacement (then report `connectSucceeded` or `connectFailed`).
    mutating func replaceLeased() {
        precondition(leased > connecting, "no leased connection to replace")
        connecting += 1
    }

    /// A connection was opened for a reserved slot.
    mutating func connectSucceeded() -> ConnectSucceededAction {
        precondition(connecting > 0, "no connection was being opened")
        connecting -= 1
        if isClosed {
            leased -= 1
            return .closeAndFail
        }
        return .use
    }

    /// Opening a connection for a reserved slot failed; the slot is freed.
    mutating func connectFailed() -> ConnectFailedAction {
        precondition(connecting > 0, "no connection was being opened")
        connecting -= 1
        connectsFailed += 1
        if !isClosed, !waiters.isEmpty {
            connecting += 1
            return .permit(waiters.removeFirst())
        }
        leased -= 1
        return .none
    }

    /// A caller obtained a connection after `elapsed` (waiting, connecting, checking).
    mutating func checkoutCompleted(elapsed: Duration) {
        checkouts += 1
        checkoutTimeTotal += elapsed
    }

    /// A caller returns a connection; `reusable` is false when it is broken or dirty.
    mutating func checkin(_ connection: Connection, reusable: Bool, now: ContinuousClock.Instant) -> CheckinAction {
        precondition(leased > connecting, "checkin without a leased connection")
        if reusable, !isClosed {
            if !waiters.isEmpty { return .handOff(connection, to: waiters.removeFirst()) }
            leased -= 1
            idle.append(IdleConnection(connection: connection, since: now))
            return .keep
        }
        if !isClosed, !waiters.isEmpty {
            connecting += 1
            return .closeAndPermit(connection, waiters.removeFirst())
        }
        leased -= 1
        return .close(connection)
    }

    /// A parked waiter's timeout expired. Returns `true` if it was still
    /// waiting (it is removed and the timeout counted), `false` if it was
    /// already handed a connection or a permit (the runner must take that).
    mutating func waiterTimedOut(_ id: WaiterID) -> Bool {
        guard let index = waiters.firstIndex(of: id) else { return false }
        waiters.remove(at: index)
        timeouts += 1
        return true
    }

    /// Closes idle connections that have been idle longer than `maxIdleTime`,
    /// oldest first, while more than `minConnections` are open.
    mutating func evictIdle(now: ContinuousClock.Instant) -> [Connection] {
        var evicted: [Connection] = []
        while let oldest = idle.first, now - oldest.since > maxIdleTime, openConnections > minConnections {
            idle.removeFirst()
            evicted.append(oldest.connection)
        }
        return evicted
    }

    /// Closes the pool: idle connections are to be closed, waiters failed;
    /// leased connections are closed when they come back.
    mutating func close() -> CloseAction {
        isClosed = true
        let action = CloseAction(connections: idle.map(\.connection), waiters: waiters)
        idle.removeAll()
        waiters.removeAll()
        return action
    }

    var statistics: PostgresPoolStatistics {
        PostgresPoolStatistics(
            inUse: leased - connecting,
            idle: idle.count,
            total: openConnections,
            max: maxConnections,
            waiting: waiters.count,
            waits: waits,
            timeouts: timeouts,
            checkouts: checkouts,
            checkoutSecondsTotal: checkoutTimeTotal.seconds,
            connectsFailed: connectsFailed
        )
    }
}

extension PoolStateMachine.CheckoutAction: Equatable where Connection: Equatable {}
extension PoolStateMachine.CheckinAction: Equatable where Connection: Equatable {}

/// A snapshot of a pool's counters.
public struct PostgresPoolStatistics: Sendable, Hashable {
    /// Connections handed out right now.
    public var inUse: Int
    /// Open connections waiting in the pool.
    public var idle: Int
    /// Open connections (`inUse + idle`).
    public var total: Int
    /// The most connections the pool opens.
    public var max: Int
    /// Checkouts parked right now, waiting for a connection.
    public var waiting: Int
    /// Checkouts that had to wait because every connection was in use (since start).
    public var waits: Int
    /// Checkouts that gave up after the checkout timeout (since start).
    public var timeouts: Int
    /// Successful checkouts (since start).
    public var checkouts: Int
    /// Seconds successful checkouts spent obtaining a connection: waiting,
    /// connecting and health checks (since start).
    public var checkoutSecondsTotal: Double
    /// Attempts to open a connection that failed (since start).
    public var connectsFailed: Int

    public init(
        inUse: Int, idle: Int, total: Int, max: Int, waiting: Int, waits: Int, timeouts: Int,
        checkouts: Int, checkoutSecondsTotal: Double, connectsFailed: Int
    ) {
        self.inUse = inUse
        self.idle = idle
        self.total = total
        self.max = max
        self.waiting = waiting
        self.waits = waits
        self.timeouts = timeouts
        self.checkouts = checkouts
        self.checkoutSecondsTotal = checkoutSecondsTotal
        self.connectsFailed = connectsFailed
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// `5 s`, `300 ms`, `1.5 s`: for messages.
    var shortDescription: String {
        let value = seconds
        if value < 1 { return "\(Int((value * 1000).rounded())) ms" }
        if value == value.rounded() { return "\(Int(value)) s" }
        return "\((value * 10).rounded() / 10) s"
    }
}
