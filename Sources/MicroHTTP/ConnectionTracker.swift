import Synchronization

/// Where a connection that libmicrohttpd serves stands, so the edge's watchdog
/// can close it when it misses a deadline.
///
/// One per connection, from hand-over to libmicrohttpd's "closed" notification.
/// The request handler moves it between phases; the watchdog only reads it.
final class ConnectionTracker: Sendable {
    enum Phase: Int, Sendable, Equatable {
        /// Waiting for (the rest of) a request head, since `since`.
        case head = 0
        /// The head is in; the body (if any) is arriving, since `since`.
        case body = 1
        /// The server is working on or sending the response: no deadline.
        case busy = 2
    }

    let fd: Int32
    let ip: IPKey
    let handedOver: Int
    /// The phase in the low two bits, the time it began (µs) above them: one
    /// word, so the watchdog never reads a phase with another phase's time.
    private let word: Atomic<Int>
    private let bodyBytes = Atomic<Int>(0)
    private let startedFlag = Atomic<Bool>(false)
    private let cut = Atomic<Bool>(false)

    init(fd: Int32, ip: IPKey, now: Int) {
        self.fd = fd
        self.ip = ip
        self.handedOver = now
        word = Atomic(now << 2 | Phase.head.rawValue)
    }

    /// libmicrohttpd has taken the connection (its "started" notification).
    func markStarted() { startedFlag.store(true, ordering: .releasing) }
    var started: Bool { startedFlag.load(ordering: .acquiring) }

    /// The head is complete: the body phase begins.
    func headComplete(now: Int) {
        bodyBytes.store(0, ordering: .relaxed)
        word.store(now << 2 | Phase.body.rawValue, ordering: .releasing)
    }

    /// Bytes of the body arrived.
    func received(_ n: Int) { bodyBytes.add(n, ordering: .relaxed) }

    /// The request is in or a response is queued (or parked): no deadline until it is done.
    func busy() {
        let w = word.load(ordering: .relaxed)
        if w & 3 != Phase.busy.rawValue { word.store(w & ~3 | Phase.busy.rawValue, ordering: .releasing) }
    }

    /// The response is done; a kept-alive connection waits for its next head.
    func idle(now: Int) { word.store(now << 2 | Phase.head.rawValue, ordering: .releasing) }

    /// The phase whose deadline the connection missed at `now` (microseconds), if any;
    /// a connection is reported once.
    /// - Parameters:
    ///   - headDeadline: microseconds a head may take.
    ///   - bodyGrace: microseconds a body may take before the rate counts.
    ///   - minRate: bytes per second a body must average after the grace (0 = no minimum).
    func missedDeadline(now: Int, headDeadline: Int, bodyGrace: Int, minRate: Int) -> Phase? {
        guard started, !cut.load(ordering: .relaxed) else { return nil }
        let w = word.load(ordering: .acquiring)
        let since = w >> 2
        let missed: Phase?
        switch Phase(rawValue: w & 3) {
        case .head where now - since > headDeadline:
            missed = .head
        case .body where minRate > 0:
            // Allowed time: the grace plus one second per `minRate` bytes received.
            let received = bodyBytes.load(ordering: .relaxed)
            let allowed = bodyGrace + min(received, Int.max / 1_000_000) * 1_000_000 / minRate
            missed = now - since > allowed ? .body : nil
        default:
            missed = nil
        }
        if missed != nil { cut.store(true, ordering: .relaxed) }
        return missed
    }
}

/// A client's IP address as a dictionary key (IPv4 in `low`, marked in `high`).
struct IPKey: Hashable, Sendable {
    var high: UInt64
    var low: UInt64
}
