import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A blocking client of the SignalForge HTTP API over `URLSession`.
///
/// Every call blocks the calling thread until the answer is in (the session
/// works on its own threads, see ``SessionRouter``). Non-2xx answers become
/// ``ClientError/problem(status:body:)``; transport failures become
/// ``ClientError/Code/transport``.
final class APIClient: Sendable {
    /// An answer: status, headers (names lowercased) and the whole body.
    struct Response: Sendable {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]

        func header(_ name: String) -> String? { headers[name.lowercased()] }

        /// The body as JSON.
        /// - Throws: `ClientError` (transport) when it is not JSON.
        func json() throws(ClientError) -> JSONValue {
            do { return try JSONValue.parse(body) } catch {
                throw .transport("the server's answer is not JSON: \(error.description)")
            }
        }
    }

    /// How a streamed exchange ended.
    enum StreamEnd: Sendable, Equatable {
        /// The server ended the body.
        case finished
        /// A handler returned false.
        case stopped
    }

    let baseURL: URL
    let token: String?
    private let session: URLSession
    private let router: SessionRouter

    /// - Parameters:
    ///   - server: The server's base URL (`http://127.0.0.1:8080`; a path
    ///     prefix such as `https://host/signalforge/` is kept).
    ///   - token: A bearer token, sent as `Authorization: Bearer …`. Default none.
    /// - Throws: `ValidationError`-worthy `ClientError` when `server` is not an http(s) URL.
    init(server: String, token: String?) throws(ClientError) {
        var text = server.trimmingCharacters(in: .whitespaces)
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw .local("--server: '\(server)' is not an http:// or https:// URL")
        }
        baseURL = url
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
        let config = URLSessionConfiguration.ephemeral
        config.requestCachePolicy = .reloadIgnoringLocalCacheData
        config.urlCache = nil
        config.httpCookieStorage = nil
        config.timeoutIntervalForRequest = 30
        config.timeoutIntervalForResource = 7 * 24 * 3600
        router = SessionRouter()
        let queue = OperationQueue()
        queue.maxConcurrentOperationCount = 1
        queue.name = "signalforge.http"
        session = URLSession(configuration: config, delegate: router, delegateQueue: queue)
    }

    deinit { session.invalidateAndCancel() }

    /// `/v1/experiments/ID/…` with each segment percent-encoded.
    static func path(_ segments: String...) -> String {
        "/" + segments.map { $0.addingPercentEncoding(withAllowedCharacters: .unreserved) ?? $0 }.joined(separator: "/")
    }

    /// Builds the request for `path` (relative to the base URL) and `query`.
    func request(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [String: String] = [:],
        body: [UInt8]? = nil, timeout: Double = 30
    ) -> URLRequest {
        var components = URLComponents(url: baseURL, resolvingAgainstBaseURL: false)!
        components.percentEncodedPath = components.percentEncodedPath + path
        if !query.isEmpty {
            components.percentEncodedQuery = query.map { k, v in
                "\(k.addingPercentEncoding(withAllowedCharacters: .unreserved) ?? k)=\(v.addingPercentEncoding(withAllowedCharacters: .unreserved) ?? v)"
            }.joined(separator: "&")
        }
        var r = URLRequest(url: components.url!, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        r.httpMethod = method
        if let token { r.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        r.setValue("application/json, application/problem+json", forHTTPHeaderField: "Accept")
        r.setValue("signalforge-cli", forHTTPHeaderField: "User-Agent")
        if let body {
            r.httpBody = Data(body)
            r.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        for (k, v) in headers { r.setValue(v, forHTTPHeaderField: k) }
        return r
    }

    /// Sends a request and returns the whole answer, whatever its status.
    /// - Throws: `ClientError` (transport) when there is no answer.
    func send(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [String: String] = [:],
        body: [UInt8]? = nil, timeout: Double = 30
    ) throws(ClientError) -> Response {
        let collected = Mutex<[UInt8]>([])
        let head = try exchange(request(method, path, query: query, headers: headers, body: body, timeout: timeout)) { _ in
            true
        } data: { chunk in
            collected.withLock { $0.append(contentsOf: chunk) }
            return true
        }.response
        return Response(status: head.status, headers: head.headers, body: collected.withLock { $0 })
    }

    /// Sends a request and returns its JSON body.
    /// - Throws: `ClientError` (problem) for a non-2xx answer; (transport) for none or non-JSON.
    func json(
        _ method: String, _ path: String, query: [(String, String)] = [], headers: [String: String] = [:], body: [UInt8]? = nil
    ) throws(ClientError) -> JSONValue {
        try checked(send(method, path, query: query, headers: headers, body: body)).json()
    }

    /// The response if it is 2xx.
    /// - Throws: `ClientError` (problem) otherwise.
    func checked(_ r: Response) throws(ClientError) -> Response {
        guard (200..<300).contains(r.status) else { throw ClientError.problem(status: r.status, body: r.body) }
        return r
    }

    /// Every item of a paged list (`{"items":[…],"next_cursor":…}`), following
    /// `next_cursor` in the query parameter `cursorParameter` until it is null
    /// or `max` items are in.
    /// - Parameters:
    ///   - cursorParameter: `cursor` for experiments, `after` for logs, events and metrics.
    ///   - start: The first page's cursor. Default none.
    ///   - max: Stop after this many items. Default: all.
    func items(
        _ path: String, query: [(String, String)] = [], cursorParameter: String, start: String? = nil, max: Int = .max
    ) throws(ClientError) -> (items: [JSONValue], next: String?) {
        var all: [JSONValue] = []
        var cursor = start
        while true {
            var q = query
            if let cursor { q.append((cursorParameter, cursor)) }
            let page = try json("GET", path, query: q)
            guard let items = page["items"]?.array else {
                throw .transport("the answer to GET \(path) has no 'items' list")
            }
            all += items
            let next = page["next_cursor"]?.string ?? page["next_cursor"]?.int.map(String.init)
            guard let next, !next.isEmpty, !items.isEmpty else { return (all, nil) }
            if all.count >= max { return (Array(all.prefix(max)), next) }
            cursor = next
        }
    }

    /// The head of a streamed answer.
    struct Head: Sendable {
        var status: Int
        var headers: [String: String]
        var expectedLength: Int64?
    }

    /// Runs one exchange, handing the head and each body chunk to the caller
    /// as they arrive (on the session's delegate queue) while this thread waits.
    ///
    /// - Parameters:
    ///   - head: Called once with the status and headers; return false to drop the connection.
    ///   - data: Called with each body chunk; return false to drop the connection.
    /// - Returns: The head, and whether the body ended or a handler stopped it.
    /// - Throws: `ClientError` (transport) when the connection failed, broke,
    ///   or timed out (`timeoutInterval` of the request, between chunks).
    func exchange(
        _ request: URLRequest, head: @escaping @Sendable (Head) -> Bool, data: @escaping @Sendable ([UInt8]) -> Bool
    ) throws(ClientError) -> (response: Head, end: StreamEnd) {
        struct State {
            var head: Head?
            var stopped = false
            var error: (any Error)?
        }
        let state = Mutex(State())
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request)
        router.register(
            task,
            .init(
                response: { r in
                    var headers: [String: String] = [:]
                    for (k, v) in r.allHeaderFields {
                        if let k = k as? String, let v = v as? String { headers[k.lowercased()] = v }
                    }
                    let h = Head(status: r.statusCode, headers: headers, expectedLength: headers["content-length"].flatMap { Int64($0) })
                    state.withLock { $0.head = h }
                    let go = head(h)
                    if !go { state.withLock { $0.stopped = true } }
                    return go
                },
                data: { chunk in
                    let go = data([UInt8](chunk))
                    if !go { state.withLock { $0.stopped = true } }
                    return go
                },
                complete: { error in
                    state.withLock { $0.error = error }
                    done.signal()
                }))
        task.resume()
        done.wait()
        let s = state.withLock { $0 }
        if let h = s.head, s.stopped { return (h, .stopped) }
        if let e = s.error {
            throw .transport("\(request.httpMethod ?? "GET") \(request.url?.absoluteString ?? ""): \(Self.describe(e))")
        }
        guard let h = s.head else { throw .transport("\(request.url?.absoluteString ?? ""): no answer") }
        return (h, .finished)
    }

    /// A short reason for a URLSession error.
    static func describe(_ error: any Error) -> String {
        let ns = error as NSError
        guard ns.domain == NSURLErrorDomain else { return "\(error)" }
        switch ns.code {
        case NSURLErrorCannotConnectToHost: return "cannot connect (is the server running?)"
        case NSURLErrorTimedOut: return "timed out"
        case NSURLErrorNetworkConnectionLost: return "the connection was lost"
        case NSURLErrorCannotFindHost, NSURLErrorDNSLookupFailed: return "unknown host"
        case NSURLErrorBadServerResponse: return "bad response"
        default: return ns.localizedDescription
        }
    }
}

extension CharacterSet {
    /// RFC 3986 unreserved characters.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
