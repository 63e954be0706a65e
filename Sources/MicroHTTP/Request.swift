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
    /// The client's address, `ip` or `[ipv6]`, without port.
    public var remoteAddress: String

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
        self.remoteAddress = remoteAddress
    }

    /// The value of path parameter `name`, or an empty string when the route has none.
    public func parameter(_ name: String) -> String { pathParameters[name] ?? "" }
}
