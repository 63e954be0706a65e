internal import CMicroHTTPD
import Synchronization

/// The producer side of a chunked response (SSE, NDJSON).
///
/// Any thread may `write` and `finish`. The server reads from the stream on
/// its own thread; when the stream is empty the connection is suspended from
/// the content-reader callback and resumed by the next `write` or `finish`, so
/// an idle stream costs no CPU and holds no thread.
public final class ResponseStream: Sendable {
    fileprivate struct State {
        var buffer: [UInt8] = []
        var readOffset = 0
        var finished = false
        var closed = false
        var suspended = false
        /// The MHD connection as a bit pattern (set when the response is queued).
        var connection: UInt = 0
        var onClose: [@Sendable () -> Void] = []
        var bytesSent = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Appends bytes to send. Returns `false` once the client has gone away
    /// (or the stream was finished), so producers can stop early.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>) -> Bool {
        let resume = state.withLock { s -> UInt? in
            guard !s.closed, !s.finished else { return nil }
            s.buffer.append(contentsOf: bytes)
            return s.takeResume()
        }
        if let resume { Self.resume(resume) }
        return !isClosed
    }

    /// Appends the UTF-8 bytes of `text`.
    @discardableResult
    public func write(_ text: String) -> Bool { write(text.utf8) }

    /// Ends the stream after what has been written is sent.
    public func finish() {
        let resume = state.withLock { s -> UInt? in
            guard !s.finished else { return nil }
            s.finished = true
            return s.takeResume()
        }
        if let resume { Self.resume(resume) }
    }

    /// Whether the client is gone or the stream has ended.
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Bytes written but not yet handed to the connection.
    public var bufferedByteCount: Int { state.withLock { $0.buffer.count - $0.readOffset } }

    /// Runs `handler` once when the response ends (sent, or the client went
    /// away); at once if it already has.
    public func onClose(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { s -> Bool in
            if s.closed { return true }
            s.onClose.append(handler)
            return false
        }
        if runNow { handler() }
    }

    // MARK: server side

    func attach(connection: OpaquePointer) {
        state.withLock { $0.connection = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection))) }
    }

    /// Copies up to `max` bytes into `buffer`; suspends the connection when empty.
    /// Returns bytes copied, 0 after suspending, or -1 at the end of the stream.
    func read(into buffer: UnsafeMutablePointer<CChar>, max: Int) -> Int {
        state.withLock { s -> Int in
            let available = s.buffer.count - s.readOffset
            if available > 0 {
                let n = Swift.min(available, max)
                s.buffer.withUnsafeBytes { raw in
                    UnsafeMutableRawPointer(buffer).copyMemory(from: raw.baseAddress! + s.readOffset, byteCount: n)
                }
                s.readOffset += n
                s.bytesSent += n
                if s.readOffset == s.buffer.count {
                    s.buffer.removeAll(keepingCapacity: s.buffer.capacity <= 1 << 16)
                    s.readOffset = 0
                } else if s.readOffset > 1 << 16 {
                    s.buffer.removeFirst(s.readOffset)
                    s.readOffset = 0
                }
                return n
            }
            if s.finished || s.closed { return -1 }
            // Nothing to send: park the connection until the producer writes.
            // Suspending under the lock orders it before any resume.
            s.suspended = true
            if let c = OpaquePointer(bitPattern: Int(bitPattern: s.connection)) {
                MHD_suspend_connection(c)
            }
            return 0
        }
    }

    /// The response is over (sent, failed or the client left).
    func close() -> Int {
        let (handlers, sent) = state.withLock { s -> ([@Sendable () -> Void], Int) in
            s.closed = true
            s.buffer = []
            let h = s.onClose
            s.onClose = []
            return (h, s.bytesSent)
        }
        for h in handlers { h() }
        return sent
    }

    /// Used at shutdown: end the stream and wake its connection.
    func shutdown() { finish() }

    private static func resume(_ bits: UInt) {
        if let c = OpaquePointer(bitPattern: Int(bitPattern: bits)) { MHD_resume_connection(c) }
    }
}

extension ResponseStream.State {
    /// If the connection is parked, marks it running and returns it to resume.
    fileprivate mutating func takeResume() -> UInt? {
        guard suspended else { return nil }
        suspended = false
        return connection
    }
}
