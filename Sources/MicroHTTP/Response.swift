/// An HTTP response: status, headers and a body that is either bytes in
/// memory or a stream produced while the connection is open.
public struct Response: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// A chunked stream; the connection is suspended while it has nothing to send.
        case stream(ResponseStream)
        /// A region of a file, sent by the kernel (`Content-Length` = `length`).
        case file(path: String, offset: Int64, length: Int64)
        /// Produced later by another thread; the connection is parked meanwhile.
        case pending(PendingResponse)
    }

    public var status: Int
    public var headers: HTTPHeaders
    public var body: Body

    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = .bytes(body)
    }

    public init(status: Int = 200, headers: HTTPHeaders = HTTPHeaders(), body: Body) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A `text/plain; charset=utf-8` response.
    public static func text(_ text: String, status: Int = 200) -> Response {
        Response(status: status, headers: ["Content-Type": "text/plain; charset=utf-8"], body: Array(text.utf8))
    }

    /// An `application/json` response from already-encoded JSON.
    public static func json(_ bytes: [UInt8], status: Int = 200) -> Response {
        Response(status: status, headers: ["Content-Type": "application/json"], body: bytes)
    }

    /// A problem response (RFC 9457).
    public static func problem(_ status: Int, _ detail: String, extensions: [(String, String)] = []) -> Response {
        ProblemDetails(status: status, detail: detail, extensions: extensions).response
    }
}

/// An error that knows the HTTP response it stands for. Handlers throw these;
/// any other error becomes a 500 with a fixed body and the detail in the log.
public protocol HTTPResponseError: Error {
    var response: Response { get }
}
