/// A request handler: runs on a server thread (never on Swift's cooperative
/// pool), so it may block on the database.
public typealias Handler = @Sendable (Request) throws -> Response

/// How a route takes its request body.
public enum BodyPolicy: Sendable {
    /// Buffer the body in memory up to `limit` bytes (`nil`: the server's default).
    case buffered(limit: Int? = nil)
    /// Hand the body to a sink chunk by chunk, up to `limit` bytes.
    case stream(limit: Int64, makeSink: @Sendable (Request) throws -> any BodySink)
}

/// One route: method, pattern with `{name}` segments, handler and options.
/// A class: the server hands the same immutable route to every request.
public final class Route: Sendable {
    public let method: HTTPMethod
    public let pattern: String
    /// An opaque tag for the server's preflight hook (the service puts the
    /// required authorization scope here; `nil` for public routes).
    public let scope: String?
    public let body: BodyPolicy
    public let handler: Handler
    let segments: [Segment]

    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    init(method: HTTPMethod, pattern: String, scope: String?, body: BodyPolicy, handler: @escaping Handler, segments: [Segment]) {
        self.method = method
        self.pattern = pattern
        self.scope = scope
        self.body = body
        self.handler = handler
        self.segments = segments
    }
}

/// Collects routes during set-up; `freeze()` turns it into an immutable,
/// thread-safe `RouteTable` that the server's threads share.
public struct Router: Sendable {
    public private(set) var routes: [Route] = []

    public init() {}

    /// Adds a route.
    /// - Parameters:
    ///   - method: the HTTP method; `HEAD` requests are served by `GET` routes.
    ///   - pattern: an absolute path; `{name}` matches one non-empty segment.
    ///   - scope: an opaque tag passed to the preflight hook (default `nil`).
    ///   - body: how to take the body (default: buffered with the server limit).
    public mutating func add(
        _ method: HTTPMethod, _ pattern: String, scope: String? = nil, body: BodyPolicy = .buffered(),
        _ handler: @escaping Handler
    ) {
        precondition(pattern.hasPrefix("/"), "route patterns are absolute: \(pattern)")
        let segments = Self.split(pattern).map { s -> Route.Segment in
            s.hasPrefix("{") && s.hasSuffix("}") ? .parameter(String(s.dropFirst().dropLast())) : .literal(String(s))
        }
        precondition(
            !routes.contains { $0.method == method && $0.segments == segments },
            "duplicate route \(method) \(pattern)")
        routes.append(Route(method: method, pattern: pattern, scope: scope, body: body, handler: handler, segments: segments))
    }

    public mutating func get(_ p: String, scope: String? = nil, _ h: @escaping Handler) { add(.get, p, scope: scope, h) }
    public mutating func post(_ p: String, scope: String? = nil, body: BodyPolicy = .buffered(), _ h: @escaping Handler) {
        add(.post, p, scope: scope, body: body, h)
    }
    public mutating func delete(_ p: String, scope: String? = nil, _ h: @escaping Handler) { add(.delete, p, scope: scope, h) }

    public func freeze() -> RouteTable { RouteTable(routes: routes) }

    static func split(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true)
    }
}

/// The outcome of looking a request up.
public enum RouteMatch: Sendable {
    case found(Route, parameters: [String: String])
    /// The path exists with other methods.
    case methodNotAllowed(allowed: [HTTPMethod])
    case notFound
}

/// The frozen routing table: static paths by hash, patterned ones by segments.
public struct RouteTable: Sendable {
    public let routes: [Route]
    private let staticRoutes: [String: [Route]]
    private let patternRoutes: [Route]

    init(routes: [Route]) {
        self.routes = routes
        var byPath: [String: [Route]] = [:]
        var patterned: [Route] = []
        for r in routes {
            if r.segments.allSatisfy({ if case .literal = $0 { true } else { false } }) {
                byPath["/" + r.segments.map { if case .literal(let s) = $0 { s } else { "" } }.joined(separator: "/"), default: []].append(
                    r)
            } else {
                patterned.append(r)
            }
        }
        staticRoutes = byPath
        patternRoutes = patterned
    }

    /// Finds the route for `method` and `path`.
    public func match(_ method: HTTPMethod, _ path: String) -> RouteMatch {
        let lookup = method == .head ? HTTPMethod.get : method
        var normalized = path
        if normalized.utf8.count > 1, normalized.utf8.last == UInt8(ascii: "/") { normalized.removeLast() }
        if let candidates = staticRoutes[normalized] {
            if let r = candidates.first(where: { $0.method == lookup }) { return .found(r, parameters: [:]) }
        }
        let parts = Router.split(path)
        var allowed: [HTTPMethod] = staticRoutes[normalized]?.map(\.method) ?? []
        for r in patternRoutes where r.segments.count == parts.count {
            // Literals first: most routes fail there, before any parameter is copied.
            var ok = true
            for (seg, part) in zip(r.segments, parts) {
                if case .literal(let s) = seg, s != part {
                    ok = false
                    break
                }
            }
            guard ok else { continue }
            guard r.method == lookup else {
                allowed.append(r.method)
                continue
            }
            // The first route that matches wins; the others' methods only matter for a 405.
            var params: [String: String] = [:]
            for (seg, part) in zip(r.segments, parts) {
                if case .parameter(let name) = seg { params[name] = String(part) }
            }
            return .found(r, parameters: params)
        }
        if !allowed.isEmpty {
            var set = Set(allowed)
            if set.contains(.get) { set.insert(.head) }
            return .methodNotAllowed(allowed: set.sorted { $0.rawValue < $1.rawValue })
        }
        return .notFound
    }
}
