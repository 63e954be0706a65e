/// An HTTP request as a handler sees it: head, decoded query and the whole
/// (bounded) body.
public struct Request: Sendable {
    public var method: HTTPMethod
    /// The path, percent-decoded by libmicrohttpd, without the query string.
    public var path: String
    /// Query parameters, percent-decoded; the last value wins on repeats.
    public var query: [String: String]
    public var headers: HTTPHeaders
    /// The request body (empty for streamed-body routes; their bytes go to the sink).
    public var body: [UInt8]
    /// Values of the `{name}` segments of the matched route.
    public var pathParameters: [String: String]
    /// The matched route's pattern (`/v1/experiments/{id}`), for logs and metrics.
    public var route: String
    /// The client's address, `ip` or `[ipv6]`, without port (formatted on demand).
    public var remoteAddress: String {
        get { remote.description }
        set { remote = ClientAddress(text: newValue) }
    }
    var remote = ClientAddress()

    public init(
        method: HTTPMethod, path: String, query: [String: String] = [:], headers: HTTPHeaders = HTTPHeaders(),
        body: [UInt8] = [], pathParameters: [String: String] = [:], route: String = "", remoteAddress: String = ""
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.pathParameters = pathParameters
        self.route = route
        self.remote = ClientAddress(text: remoteAddress)
    }

    /// The value of path parameter `name`, or an empty string when the route has none.
    public func parameter(_ name: String) -> String { pathParameters[name] ?? "" }
}

/// A client's IP address kept as bytes; formatting costs only when asked.
struct ClientAddress: Sendable, CustomStringConvertible {
    enum Storage: Sendable {
        case none
        case v4(UInt32)
        case v6(UInt64, UInt64)
        case text(String)
    }
    var storage: Storage = .none

    init() {}
    init(text: String) { storage = text.isEmpty ? .none : .text(text) }
    init(v4 networkOrder: UInt32) { storage = .v4(networkOrder) }
    init(v6 high: UInt64, _ low: UInt64) { storage = .v6(high, low) }

    var description: String {
        switch storage {
        case .none: return ""
        case .text(let s): return s
        case .v4(let a):
            let b = withUnsafeBytes(of: a) { Array($0) }
            return "\(b[0]).\(b[1]).\(b[2]).\(b[3])"
        case .v6(let h, let l):
            let b = withUnsafeBytes(of: (h, l)) { Array($0) }
            var groups: [String] = []
            for i in stride(from: 0, to: 16, by: 2) { groups.append(String(UInt16(b[i]) << 8 | UInt16(b[i + 1]), radix: 16)) }
            return "[" + groups.joined(separator: ":") + "]"
        }
    }
}
