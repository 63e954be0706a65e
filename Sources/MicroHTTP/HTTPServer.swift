internal import CMicroHTTPD
public import Logging
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// What the server records of each finished request (for metrics).
public struct AccessRecord: Sendable {
    public var method: HTTPMethod
    public var path: String
    /// The route pattern, or `"unmatched"`.
    public var route: String
    public var status: Int
    public var bytes: Int
    public var microseconds: Int
}

/// Why the server could not start.
public struct HTTPServerError: Error, CustomStringConvertible {
    public var description: String
}

/// An HTTP/1.1 server on libmicrohttpd's internal epoll thread pool.
///
/// Connections are accepted by the server's own edge (`EdgeListener`), which
/// enforces the connection limits and the header deadline and checks each
/// connection's first request head before handing it to libmicrohttpd.
/// Handlers run on the pool's threads. Request bodies are bounded; streaming
/// responses suspend their connection while idle. `stop()` resumes every
/// suspended connection, lets streams drain, then stops the daemon.
public final class HTTPServer: Sendable {
    public typealias Preflight = @Sendable (Request, Route) -> Response?
    public typealias Observer = @Sendable (AccessRecord) -> Void

    public let configuration: ServerConfiguration
    /// What the edge refused or cut off (for `/metrics`).
    public let statistics: EdgeStatistics
    let routes: RouteTable
    let logger: Logger
    let preflight: Preflight?
    let observer: Observer?

    private struct State {
        var daemon: UInt = 0
        var port = 0
        var streams: [ObjectIdentifier: ResponseStream] = [:]
        var pending: [ObjectIdentifier: PendingResponse] = [:]
        var stopping = false
        var edge: EdgeListener?
    }
    private let state = Mutex(State())

    /// Creates a server; call `start()` to listen.
    /// - Parameters:
    ///   - preflight: runs once the headers are in, before the body is read;
    ///     a non-nil response answers the request (authorization lives here).
    ///   - observer: told of every finished request (metrics live here).
    ///   - statistics: where the edge counts refusals and timeouts (default: a new one).
    public init(
        configuration: ServerConfiguration, routes: RouteTable, logger: Logger,
        preflight: Preflight? = nil, observer: Observer? = nil, statistics: EdgeStatistics = EdgeStatistics()
    ) {
        self.configuration = configuration
        self.statistics = statistics
        self.routes = routes
        self.logger = logger
        self.preflight = preflight
        self.observer = observer
    }

    deinit { stop() }

    /// The bound port (after `start()`; useful with port 0).
    public var port: Int { state.withLock { $0.port } }

    /// Binds and starts the thread pool.
    /// - Throws: `HTTPServerError` when the address is invalid or cannot be bound.
    ///   The corresponding C function is `MHD_start_daemon`.
    public func start() throws {
        var storage = sockaddr_storage()
        let isV6 = configuration.address.contains(":")
        let parsed: Bool = withUnsafeMutableBytes(of: &storage) { raw in
            if isV6 {
                let sa = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in6.self)
                sa.pointee.sin6_family = sa_family_t(AF_INET6)
                sa.pointee.sin6_port = in_port_t(UInt16(configuration.port).bigEndian)
                return inet_pton(AF_INET6, configuration.address, &sa.pointee.sin6_addr) == 1
            } else {
                let sa = raw.baseAddress!.assumingMemoryBound(to: sockaddr_in.self)
                sa.pointee.sin_family = sa_family_t(AF_INET)
                sa.pointee.sin_port = in_port_t(UInt16(configuration.port).bigEndian)
                return inet_pton(AF_INET, configuration.address, &sa.pointee.sin_addr) == 1
            }
        }
        guard parsed else { throw HTTPServerError(description: "invalid listen address \(configuration.address)") }
        guard (0...65535).contains(configuration.port) else {
            throw HTTPServerError(description: "invalid port \(configuration.port)")
        }
        let edgeSettings = EdgeListener.Settings(
            connectionLimit: max(1, configuration.connectionLimit),
            perIPLimit: max(0, configuration.effectivePerIPConnectionLimit),
            headDeadline: Int(configuration.headerDeadlineSeconds * 1_000_000),
            bodyGrace: Int(configuration.bodyRateGraceSeconds * 1_000_000),
            minBodyRate: max(0, configuration.minBodyRateBytesPerSecond),
            limits: configuration.headLimits)
        let edge: EdgeListener
        do {
            edge = try withUnsafePointer(to: &storage) { sp in
                try sp.withMemoryRebound(to: sockaddr.self, capacity: 1) { addr in
                    try EdgeListener(
                        address: addr,
                        length: socklen_t(isV6 ? MemoryLayout<sockaddr_in6>.size : MemoryLayout<sockaddr_in>.size),
                        settings: edgeSettings, statistics: statistics)
                }
            }
        } catch {
            throw HTTPServerError(
                description: "cannot listen on \(configuration.address):\(configuration.port) (in use, or not permitted)")
        }
        // The edge accepts and enforces the limits; libmicrohttpd's own limits
        // are set beyond them (its pool splits the connection limit per thread).
        var flags = UInt32(MHD_USE_EPOLL_INTERNAL_THREAD.rawValue) | UInt32(MHD_USE_INTERNAL_POLLING_THREAD.rawValue)
        flags |= UInt32(MHD_ALLOW_SUSPEND_RESUME.rawValue) | UInt32(MHD_USE_ITC.rawValue) | UInt32(MHD_USE_TURBO.rawValue)
        flags |= UInt32(MHD_USE_NO_LISTEN_SOCKET.rawValue)
        if isV6 { flags |= UInt32(MHD_USE_IPv6.rawValue) }
        let threads = max(1, configuration.threads)
        var settings = sf_mhd_settings(
            flags: flags,
            thread_pool_size: UInt32(threads),
            connection_limit: UInt32(clamping: (max(1, configuration.connectionLimit) + 64) * threads),
            per_ip_connection_limit: 0,
            connection_timeout_seconds: UInt32(max(0, configuration.idleTimeoutSeconds)),
            connection_memory_limit: max(8192, configuration.connectionMemoryLimit),
            notify_connection: notifyConnectionTrampoline,
            notify_connection_cls: Unmanaged.passUnretained(self).toOpaque(),
            uri_log: uriLogTrampoline,
            uri_log_cls: Unmanaged.passUnretained(self).toOpaque())
        let daemon = sf_mhd_start(
            &settings, 0,
            accessHandlerTrampoline, Unmanaged.passUnretained(self).toOpaque(),
            completedTrampoline, Unmanaged.passUnretained(self).toOpaque())
        guard let daemon else {
            edge.stop()
            throw HTTPServerError(description: "cannot start libmicrohttpd")
        }
        let bound = edge.port
        let daemonBits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(daemon)))
        state.withLock {
            $0.daemon = daemonBits
            $0.port = bound
            $0.edge = edge
        }
        edge.start { fd, address, length in
            guard let daemon = OpaquePointer(bitPattern: daemonBits) else { return false }
            return MHD_add_connection(daemon, fd, address, length) == .YES
        }
        logger.info(
            "listening", metadata: ["address": "\(configuration.address)", "port": "\(bound)", "threads": "\(configuration.threads)"])
    }

    /// Stops accepting, ends every open stream (resuming its connection), waits
    /// up to the grace period for them to drain, then stops the daemon. Idempotent.
    public func stop() {
        let (daemonBits, streams, pending, edge) = state.withLock { s -> (UInt, [ResponseStream], [PendingResponse], EdgeListener?) in
            if s.stopping { return (0, [], [], nil) }
            s.stopping = true
            return (s.daemon, Array(s.streams.values), Array(s.pending.values), s.edge)
        }
        edge?.stop()
        guard let daemon = OpaquePointer(bitPattern: Int(bitPattern: daemonBits)) else { return }
        for s in streams { s.shutdown() }
        for p in pending { p.fulfill(ProblemDetails(status: 503, detail: "the server is stopping").response) }
        let deadline = Self.monotonicMicros() + Int(configuration.shutdownGraceSeconds * 1_000_000)
        while Self.monotonicMicros() < deadline, state.withLock({ !$0.streams.isEmpty || !$0.pending.isEmpty }) {
            usleep(5_000)
        }
        MHD_stop_daemon(daemon)
        state.withLock {
            $0.daemon = 0
            $0.edge = nil
        }
        logger.info("stopped")
    }

    /// Open streaming responses.
    public var openStreams: Int { state.withLock { $0.streams.count } }

    // MARK: per request

    /// libmicrohttpd has read a request line: the raw target, before it is
    /// unescaped, tells whether the path hides an encoded NUL or `/`.
    fileprivate func requestLine(uri: UnsafePointer<CChar>) -> UnsafeMutableRawPointer {
        let exchange = Exchange(start: Self.monotonicMicros())
        let length = strlen(uri)
        exchange.encodedSeparator = RequestHead.hasEncodedSeparator(UnsafeRawBufferPointer(start: uri, count: length))
        return Unmanaged.passRetained(exchange).toOpaque()
    }

    fileprivate func connectionStarted(_ connection: OpaquePointer, socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        let fd = sf_mhd_connection_fd(connection)
        guard fd >= 0, let edge = state.withLock({ $0.edge }), let tracker = edge.started(fd: fd) else { return }
        socketContext.pointee = Unmanaged.passRetained(tracker).toOpaque()
    }

    fileprivate func connectionClosed(socketContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>) {
        guard let raw = socketContext.pointee else { return }
        socketContext.pointee = nil
        let tracker = Unmanaged<ConnectionTracker>.fromOpaque(raw).takeRetainedValue()
        state.withLock { $0.edge }?.closed(tracker)
    }

    private static func tracker(of connection: OpaquePointer) -> ConnectionTracker? {
        guard let raw = sf_mhd_socket_context(connection) else { return nil }
        return Unmanaged<ConnectionTracker>.fromOpaque(raw).takeUnretainedValue()
    }

    fileprivate func handle(
        connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>, version: UnsafePointer<CChar>?,
        uploadData: UnsafePointer<CChar>?, uploadDataSize: UnsafeMutablePointer<Int>,
        context: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        if context.pointee == nil { context.pointee = Unmanaged.passRetained(Exchange(start: Self.monotonicMicros())).toOpaque() }
        let exchange = Unmanaged<Exchange>.fromOpaque(context.pointee!).takeUnretainedValue()
        if !exchange.begun {
            exchange.begun = true
            exchange.tracker = Self.tracker(of: connection)
            exchange.tracker?.headComplete(now: Self.monotonicMicros())
            begin(exchange, connection: connection, url: url, method: method, version: version)
            if let early = exchange.earlyResponse {
                exchange.earlyResponse = nil
                return queue(early, exchange: exchange, connection: connection)
            }
            return .YES
        }
        if let pending = exchange.pendingResponse {
            // Woken by `fulfill` (or spuriously: then park again).
            guard let response = pending.takeOrPark(connection) else { return .YES }
            exchange.pendingResponse = nil
            _ = state.withLock { $0.pending.removeValue(forKey: ObjectIdentifier(pending)) }
            return queue(response, exchange: exchange, connection: connection)
        }
        let size = uploadDataSize.pointee
        if size > 0, let uploadData {
            uploadDataSize.pointee = 0
            exchange.tracker?.received(size)
            return consume(UnsafeRawBufferPointer(start: uploadData, count: size), exchange: exchange)
        }
        // The request is in: no deadline while the handler works (it may block).
        exchange.tracker?.busy()
        return queue(finish(exchange), exchange: exchange, connection: connection)
    }

    private func begin(
        _ exchange: Exchange, connection: OpaquePointer, url: UnsafePointer<CChar>, method: UnsafePointer<CChar>,
        version: UnsafePointer<CChar>?
    ) {
        var request = Request(method: HTTPMethod(rawValue: String(cString: method)), path: String(cString: url))
        withUnsafeMutablePointer(to: &request.headers) { ptr in
            _ = MHD_get_connection_values_n(connection, .HEADER_KIND, headerIterator, ptr)
        }
        if let address = sf_mhd_client_address(connection) { request.remote = Self.clientAddress(address) }
        // The edge checked the connection's first head; later heads of a
        // kept-alive connection reach libmicrohttpd directly, so the framing
        // rules are applied again here (cheap: a pass over a few fields).
        let v = version.flatMap { RequestHead.httpVersion(UnsafeRawBufferPointer(start: $0, count: strlen($0))) } ?? (1, 1)
        if let problem = RequestHead.checkFraming(major: v.major, minor: v.minor, fields: request.headers.fields) {
            statistics.malformedHeads.add(1, ordering: .relaxed)
            request.route = "unmatched"
            var r = problem.response
            r.headers.add("Connection", "close")
            exchange.earlyResponse = r
            exchange.request = request
            return
        }
        if exchange.encodedSeparator {
            request.route = "unmatched"
            exchange.pending = RequestHead.encodedSeparatorProblem.response
        } else {
            route(request: &request, exchange: exchange, connection: connection)
        }
        // A refusal decided from the head alone is sent at once when a body is
        // on its way: reading (and discarding) it first would only waste time.
        if let pending = exchange.pending, Self.hasBody(request.headers) {
            exchange.pending = nil
            exchange.earlyResponse = pending
        }
        exchange.request = request
    }

    private func route(request: inout Request, exchange: Exchange, connection: OpaquePointer) {
        switch routes.match(request.method, request.path) {
        case .notFound:
            request.route = "unmatched"
            exchange.pending = ProblemDetails(status: 404, detail: "no route for \(request.method) \(request.path)").response
        case .methodNotAllowed(let allowed):
            request.route = "unmatched"
            var r = ProblemDetails(
                status: 405, detail: "\(request.method) is not allowed on \(request.path)",
                extensions: [("allowed", allowed.map(\.rawValue).joined(separator: ", "))]
            ).response
            r.headers.add("Allow", allowed.map(\.rawValue).joined(separator: ", "))
            exchange.pending = r
        case .found(let route, let parameters):
            request.route = route.pattern
            request.pathParameters = parameters
            withUnsafeMutablePointer(to: &request.query) { ptr in
                _ = MHD_get_connection_values_n(connection, .GET_ARGUMENT_KIND, queryIterator, ptr)
            }
            exchange.route = route
            if let preflight, let denied = preflight(request, route) {
                exchange.pending = denied
                break
            }
            let limit: Int64
            switch route.body {
            case .buffered(let l): limit = Int64(l ?? configuration.maxBodySize)
            case .stream(let l, _): limit = l
            }
            exchange.limit = limit
            if let declared = request.headers["Content-Length"].flatMap({ Int64($0) }), declared > limit {
                exchange.earlyResponse = tooLarge(limit)
                break
            }
            if case .stream(_, let makeSink) = route.body {
                do { exchange.sink = try makeSink(request) } catch { exchange.pending = response(for: error, request) }
            }
        }
    }

    private static func hasBody(_ headers: HTTPHeaders) -> Bool {
        if let length = headers["Content-Length"], length != "0" { return true }
        return headers["Transfer-Encoding"] != nil
    }

    private func consume(_ chunk: UnsafeRawBufferPointer, exchange: Exchange) -> MHD_Result {
        exchange.received += Int64(chunk.count)
        if exchange.pending != nil || exchange.overflow {
            // Discard without buffering; give up on clients that keep sending.
            return exchange.received > max(exchange.limit, 1 << 20) * 4 ? .NO : .YES
        }
        if exchange.received > exchange.limit {
            exchange.overflow = true
            exchange.sink?.abort()
            exchange.sink = nil
            exchange.body = []
            return .YES
        }
        if let sink = exchange.sink {
            do { try sink.write(chunk) } catch {
                sink.abort()
                exchange.sink = nil
                exchange.pending = response(for: error, exchange.request)
            }
        } else {
            if exchange.body.isEmpty, let declared = exchange.request.headers["Content-Length"].flatMap({ Int($0) }) {
                exchange.body.reserveCapacity(min(declared, Int(exchange.limit)))
            }
            exchange.body.append(contentsOf: chunk)
        }
        return .YES
    }

    private func finish(_ exchange: Exchange) -> Response {
        if exchange.overflow { return tooLarge(exchange.limit) }
        if let pending = exchange.pending { return pending }
        if let sink = exchange.sink {
            exchange.sink = nil
            do { return try sink.finish() } catch {
                sink.abort()
                return response(for: error, exchange.request)
            }
        }
        guard let route = exchange.route else { return Response.problem(500, "no route") }
        if !exchange.body.isEmpty {
            exchange.request.body = exchange.body
            exchange.body = []
        }
        do { return try route.handler(exchange.request) } catch { return response(for: error, exchange.request) }
    }

    private func tooLarge(_ limit: Int64) -> Response {
        var r = ProblemDetails(
            status: 413, detail: "the request body is larger than the limit of \(limit) bytes",
            extensions: [("limit", "\(limit)")]
        ).response
        r.headers.add("Connection", "close")
        return r
    }

    private func response(for error: any Error, _ request: Request) -> Response {
        if let e = error as? any HTTPResponseError { return e.response }
        logger.error(
            "unhandled error",
            metadata: ["method": "\(request.method)", "path": "\(request.path)", "error": "\(String(reflecting: error))"])
        return ProblemDetails(status: 500, detail: "internal error; the server log has the details").response
    }

    private func queue(_ response: Response, exchange: Exchange, connection: OpaquePointer) -> MHD_Result {
        exchange.tracker?.busy()
        exchange.status = response.status
        let mhdResponse: OpaquePointer?
        switch response.body {
        case .bytes(let bytes):
            exchange.bytes = bytes.count
            mhdResponse = bytes.withUnsafeBytes { raw in
                MHD_create_response_from_buffer(raw.count, UnsafeMutableRawPointer(mutating: raw.baseAddress), .RESPMEM_MUST_COPY)
            }
        case .stream(let stream):
            stream.attach(connection: connection)
            exchange.stream = stream
            state.withLock { $0.streams[ObjectIdentifier(stream)] = stream }
            mhdResponse = MHD_create_response_from_callback(
                UInt64.max, 16 << 10, streamReader, Unmanaged.passRetained(stream).toOpaque(), streamFree)
        case .pending(let pending):
            // Registered before parking, so `stop()` either sees it or has
            // already begun (then it is answered here at once).
            let stopping = state.withLock { s -> Bool in
                if s.stopping { return true }
                s.pending[ObjectIdentifier(pending)] = pending
                return false
            }
            if stopping { pending.fulfill(ProblemDetails(status: 503, detail: "the server is stopping").response) }
            if let ready = pending.takeOrPark(connection) {
                _ = state.withLock { $0.pending.removeValue(forKey: ObjectIdentifier(pending)) }
                return queue(ready, exchange: exchange, connection: connection)
            }
            exchange.pendingResponse = pending
            return .YES
        case .file(let path, let offset, let length):
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                return queue(ProblemDetails(status: 404, detail: "file not found").response, exchange: exchange, connection: connection)
            }
            exchange.bytes = Int(length)
            mhdResponse = MHD_create_response_from_fd_at_offset64(UInt64(length), fd, UInt64(offset))
            if mhdResponse == nil { close(fd) }
        }
        guard let mhdResponse else { return .NO }
        for field in response.headers {
            _ = MHD_add_response_header(mhdResponse, field.name, field.value)
        }
        let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
        MHD_destroy_response(mhdResponse)
        return result
    }

    fileprivate func completed(context: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) {
        guard let context, let raw = context.pointee else { return }
        context.pointee = nil
        let exchange = Unmanaged<Exchange>.fromOpaque(raw).takeRetainedValue()
        // A kept-alive connection now waits for its next head.
        exchange.tracker?.idle(now: Self.monotonicMicros())
        exchange.tracker = nil
        // libmicrohttpd refused the head itself (a later request of a kept-alive
        // connection): no handler ran and there is nothing to record.
        guard exchange.begun else { return }
        exchange.sink?.abort()
        exchange.sink = nil
        if let stream = exchange.stream {
            exchange.bytes = stream.close()
            _ = state.withLock { $0.streams.removeValue(forKey: ObjectIdentifier(stream)) }
        }
        let micros = Self.monotonicMicros() - exchange.start
        let request = exchange.request
        if configuration.accessLog {
            logger.info(
                "request",
                metadata: [
                    "method": .string(request.method.rawValue), "path": .string(request.path),
                    "status": .string(String(exchange.status)), "bytes": .string(String(exchange.bytes)),
                    "us": .string(String(micros)),
                ])
        }
        observer?(
            AccessRecord(
                method: request.method, path: request.path, route: request.route, status: exchange.status,
                bytes: exchange.bytes, microseconds: micros))
    }

    // MARK: helpers

    static func monotonicMicros() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
    }

    private static func clientAddress(_ address: UnsafePointer<sockaddr>) -> ClientAddress {
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { ClientAddress(v4: $0.pointee.sin_addr.s_addr) }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin in
                withUnsafeBytes(of: sin.pointee.sin6_addr) { raw in
                    ClientAddress(
                        v6: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
                }
            }
        default:
            return ClientAddress()
        }
    }
}

/// Per-request state, owned by the connection's `*con_cls` from the first
/// access-handler call until the completed callback.
final class Exchange {
    let start: Int
    var begun = false
    var encodedSeparator = false
    var tracker: ConnectionTracker?
    var request = Request(method: .get, path: "")
    var route: Route?
    var pending: Response?
    var earlyResponse: Response?
    var limit: Int64 = 0
    var received: Int64 = 0
    var overflow = false
    var body: [UInt8] = []
    var sink: (any BodySink)?
    var stream: ResponseStream?
    var pendingResponse: PendingResponse?
    var status = 0
    var bytes = 0

    init(start: Int) { self.start = start }
}

// MARK: C trampolines (no Swift error crosses into C)

private let accessHandlerTrampoline: MHD_AccessHandlerCallback = {
    cls, connection, url, method, version, uploadData, uploadDataSize, context in
    guard let cls, let connection, let url, let method, let uploadDataSize, let context else { return .NO }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    return server.handle(
        connection: connection, url: url, method: method, version: version, uploadData: uploadData,
        uploadDataSize: uploadDataSize, context: context)
}

private let completedTrampoline: MHD_RequestCompletedCallback = { cls, _, context, _ in
    guard let cls else { return }
    Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().completed(context: context)
}

private let uriLogTrampoline: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?) -> UnsafeMutableRawPointer? =
    {
        cls, uri, _ in
        guard let cls, let uri else { return nil }
        return Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue().requestLine(uri: uri)
    }

private let notifyConnectionTrampoline: MHD_NotifyConnectionCallback = { cls, connection, socketContext, event in
    guard let cls, let connection, let socketContext else { return }
    let server = Unmanaged<HTTPServer>.fromOpaque(cls).takeUnretainedValue()
    if event.rawValue == 0 {  // MHD_CONNECTION_NOTIFY_STARTED
        server.connectionStarted(connection, socketContext: socketContext)
    } else {
        server.connectionClosed(socketContext: socketContext)
    }
}

private let headerIterator: MHD_KeyValueIteratorN = { cls, _, key, keySize, value, valueSize in
    guard let cls, let key else { return .YES }
    let headers = cls.assumingMemoryBound(to: HTTPHeaders.self)
    let name = String(decoding: UnsafeRawBufferPointer(start: key, count: keySize), as: UTF8.self)
    let text = value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: valueSize), as: UTF8.self) } ?? ""
    headers.pointee.add(name, text)
    return .YES
}

private let queryIterator: MHD_KeyValueIteratorN = { cls, _, key, keySize, value, valueSize in
    guard let cls, let key else { return .YES }
    let query = cls.assumingMemoryBound(to: [String: String].self)
    let name = String(decoding: UnsafeRawBufferPointer(start: key, count: keySize), as: UTF8.self)
    query.pointee[name] = value.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: valueSize), as: UTF8.self) } ?? ""
    return .YES
}

private let streamReader: MHD_ContentReaderCallback = { cls, _, buffer, max in
    guard let cls, let buffer else { return -2 }
    return Unmanaged<ResponseStream>.fromOpaque(cls).takeUnretainedValue().read(into: buffer, max: max)
}

private let streamFree: MHD_ContentReaderFreeCallback = { cls in
    guard let cls else { return }
    Unmanaged<ResponseStream>.fromOpaque(cls).release()
}
