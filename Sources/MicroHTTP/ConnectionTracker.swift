import Synchronization

/// Where a connection that libmicrohttpd serves stands, so the edge's watchdog
/// can close it when it misses a deadline.
///
/// One per connection, from hand-over to libmicrohttpd's "closed" notification.
/// The request handler moves it between phases; the watchdog only reads it.
final class ConnectionTracker: Sendable {
    enum Phase: Sendable, Equatable {
        /// Waiting for (the rest of) a request head, since `since`.
        case head
        /// The head is in; the body (if any) is arriving, since `since`.
        case body
        /// The server is working on or sending the response: no deadline.
        case busy
    }

    private struct State {
        var phase = Phase.head
        var since: Int
        var received: Int64 = 0
        var started = false
        var cut = false
    }

    let fd: Int32
    let ip: IPKey
    let handedOver: Int
    private let state: Mutex<State>

    init(fd: Int32, ip: IPKey, now: Int) {
        self.fd = fd
        self.ip = ip
        self.handedOver = now
        state = Mutex(State(since: now))
    }

    /// libmicrohttpd has taken the connection (its "started" notification).
    func markStarted() { state.withLock { $0.started = true } }
    var started: Bool { state.withLock { $0.started } }

    /// The head is complete: the body phase begins.
    func headComplete(now: Int) {
        state.withLock {
            $0.phase = .body
            $0.since = now
            $0.received = 0
        }
    }

    /// Bytes of the body arrived.
    func received(_ n: Int) { state.withLock { $0.received += Int64(n) } }

    /// A response is queued (or parked): no deadline until it is done.
    func busy() { state.withLock { $0.phase = .busy } }

    /// The response is done; a kept-alive connection waits for its next head.
    func idle(now: Int) {
        state.withLock {
            $0.phase = .head
            $0.since = now
        }
    }

    /// The phase whose deadline the connection missed at `now` (microseconds), if any;
    /// a connection is reported once.
    /// - Parameters:
    ///   - headDeadline: microseconds a head may take.
    ///   - bodyGrace: microseconds a body may take before the rate counts.
    ///   - minRate: bytes per second a body must average after the grace (0 = no minimum).
    func missedDeadline(now: Int, headDeadline: Int, bodyGrace: Int, minRate: Int) -> Phase? {
        state.withLock { s -> Phase? in
            guard s.started, !s.cut else { return nil }
            switch s.phase {
            case .head where now - s.since > headDeadline:
                s.cut = true
                return .head
            case .body where minRate > 0:
                // Allowed time: the grace plus one second per `minRate` bytes received.
                let allowed = bodyGrace + Int(min(s.received, Int64.max / 1_000_000) * 1_000_000 / Int64(minRate))
                if now - s.since > allowed {
                    s.cut = true
                    return .body
                }
                return nil
            default:
                return nil
            }
        }
    }
}

/// A client's IP address as a dictionary key (IPv4 in `low`, marked in `high`).
struct IPKey: Hashable, Sendable {
    var high: UInt64
    var low: UInt64
}
