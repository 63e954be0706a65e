internal import CMicroHTTPD
import Synchronization

/// A response that another thread will produce later.
///
/// A handler returns `Response(body: .pending(p))` and hands `p` to whoever
/// computes the answer (a database batcher, say). The server parks the
/// connection, so the handler's thread serves other connections meanwhile;
/// `fulfill` from any thread wakes the connection and sends the response.
/// Only the first `fulfill` counts; the server answers 503 for any still
/// pending when it stops.
public final class PendingResponse: Sendable {
    private struct State {
        var response: Response?
        var suspended = false
        var connection: UInt = 0
    }
    private let state = Mutex(State())

    public init() {}

    /// Sets the response and wakes the connection. Later calls are ignored.
    public func fulfill(_ response: Response) {
        let resume = state.withLock { s -> UInt? in
            guard s.response == nil else { return nil }
            s.response = response
            guard s.suspended else { return nil }
            s.suspended = false
            return s.connection
        }
        if let resume, let c = OpaquePointer(bitPattern: Int(bitPattern: resume)) { MHD_resume_connection(c) }
    }

    /// Whether a response has been set.
    public var isFulfilled: Bool { state.withLock { $0.response != nil } }

    // MARK: server side

    /// The response if it is ready; otherwise suspends the connection (under
    /// the lock, so ordered before any resume) and returns nil.
    /// Must run on the connection's thread, inside the access handler.
    func takeOrPark(_ connection: OpaquePointer) -> Response? {
        state.withLock { s -> Response? in
            if let r = s.response { return r }
            s.connection = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
            s.suspended = true
            MHD_suspend_connection(connection)
            return nil
        }
    }
}
