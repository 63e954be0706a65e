internal import CMicroHTTPD
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The server's own acceptor and watchdog, on one thread it owns.
///
/// It accepts connections, enforces the connection limit and the per-address
/// share of it, and reads (with `MSG_PEEK`, so nothing is consumed) each new
/// connection's first request head until it is complete. A head that is
/// malformed, oversized or ambiguous is answered here with one problem+json
/// and `Connection: close`, and a head not complete within the header deadline
/// closes the connection; a good head hands the connection to libmicrohttpd
/// (`MHD_add_connection`), which then reads it again. libmicrohttpd therefore
/// never parses a first head that it would refuse with its own HTML page.
///
/// Connections libmicrohttpd serves stay registered (`ConnectionTracker`): the
/// same thread shuts down those whose next head misses the deadline or whose
/// body arrives slower than the minimum rate. A registration is removed in
/// libmicrohttpd's "closed" notification, which runs before it closes the
/// socket, and the watchdog shuts sockets down under the same lock, so it never
/// touches a descriptor number that has been reused.
final class EdgeListener: Sendable {
    typealias HandOver = @Sendable (Int32, UnsafePointer<sockaddr>, socklen_t) -> Bool

    struct Settings: Sendable {
        var connectionLimit: Int
        var perIPLimit: Int
        var headDeadline: Int  // µs
        var bodyGrace: Int  // µs
        var minBodyRate: Int  // bytes/s
        var limits: HeadLimits
    }

    private struct Shared {
        var live: [Int32: ConnectionTracker] = [:]
        var perIP: [IPKey: Int] = [:]
        var total = 0
    }

    let settings: Settings
    let statistics: EdgeStatistics
    private let shared = Mutex(Shared())
    private let running = Atomic<Bool>(true)
    private let thread = Mutex<pthread_t?>(nil)
    let listenFD: Int32
    let port: Int

    /// Binds and listens on `address` (already parsed); starts nothing yet.
    init(address: UnsafePointer<sockaddr>, length: socklen_t, settings: Settings, statistics: EdgeStatistics) throws {
        self.settings = settings
        self.statistics = statistics
        let family = Int32(address.pointee.sa_family)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw HTTPServerError(description: "socket() failed: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, address, length) == 0, listen(fd, 4096) == 0 else {  // capped by net.core.somaxconn
            close(fd)
            throw HTTPServerError(description: "cannot listen (in use, or not permitted): errno \(errno)")
        }
        var bound = sockaddr_storage()
        var boundLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &boundLength) }
        }
        let port: UInt16 = withUnsafeBytes(of: bound) { raw in
            family == AF_INET6
                ? raw.load(fromByteOffset: MemoryLayout<sockaddr_in6>.offset(of: \.sin6_port)!, as: UInt16.self)
                : raw.load(fromByteOffset: MemoryLayout<sockaddr_in>.offset(of: \.sin_port)!, as: UInt16.self)
        }
        self.listenFD = fd
        self.port = Int(UInt16(bigEndian: port))
    }

    /// Starts the acceptor thread; `handOver` gives a checked connection to libmicrohttpd.
    func start(handOver: @escaping HandOver) {
        let loop = EdgeLoop(edge: self, handOver: handOver)
        let box = Unmanaged.passRetained(loop).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(
            &tid, nil,
            { arg in
                let loop = Unmanaged<EdgeLoop>.fromOpaque(arg!).takeRetainedValue()
                loop.run()
                return nil
            }, box)
        if rc == 0 {
            thread.withLock { $0 = tid }
        } else {
            Unmanaged<EdgeLoop>.fromOpaque(box).release()
        }
    }

    /// Stops accepting and closes every connection not yet handed over. Idempotent.
    func stop() {
        guard running.exchange(false, ordering: .acquiringAndReleasing) else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))  // wakes the loop's epoll_wait
        if let tid = thread.withLock({ t -> pthread_t? in
            defer { t = nil }
            return t
        }) {
            pthread_join(tid, nil)
        }
        close(listenFD)
    }

    var isRunning: Bool { running.load(ordering: .acquiring) }

    // MARK: accounting shared with libmicrohttpd's threads

    /// Counts a new connection from `ip`, or says why it is refused.
    func admit(_ ip: IPKey) -> RefusalReason? {
        shared.withLock { s -> RefusalReason? in
            if s.total >= settings.connectionLimit { return .limit }
            let n = s.perIP[ip, default: 0]
            if settings.perIPLimit > 0, n >= settings.perIPLimit { return .perIP }
            s.perIP[ip] = n + 1
            s.total += 1
            return nil
        }
    }

    /// Forgets a connection counted by `admit`.
    func release(_ ip: IPKey) {
        shared.withLock { s in Self.release(ip, in: &s) }
    }

    private static func release(_ ip: IPKey, in s: inout Shared) {
        s.total -= 1
        if let n = s.perIP[ip] {
            if n <= 1 { s.perIP[ip] = nil } else { s.perIP[ip] = n - 1 }
        }
    }

    /// Connections libmicrohttpd serves that the watchdog follows.
    var watchedCount: Int { shared.withLock { $0.live.count } }

    func register(_ tracker: ConnectionTracker) {
        shared.withLock { $0.live[tracker.fd] = tracker }
    }

    /// The tracker of a connection libmicrohttpd just took, marked started.
    func started(fd: Int32) -> ConnectionTracker? {
        shared.withLock { s -> ConnectionTracker? in
            guard let t = s.live[fd] else { return nil }
            t.markStarted()
            return t
        }
    }

    /// libmicrohttpd is about to close the connection (or never took it).
    func closed(_ tracker: ConnectionTracker) {
        shared.withLock { s in
            guard let t = s.live[tracker.fd], t === tracker else { return }
            s.live[tracker.fd] = nil
            Self.release(tracker.ip, in: &s)
        }
    }

    /// Shuts down connections libmicrohttpd serves that missed a deadline; drops
    /// registrations libmicrohttpd never started (it closed those itself).
    func sweep(now: Int) {
        shared.withLock { s in
            var stale: [Int32] = []
            for (fd, t) in s.live {
                if !t.started {
                    if now - t.handedOver > 10_000_000 { stale.append(fd) }
                    continue
                }
                switch t.missedDeadline(
                    now: now, headDeadline: settings.headDeadline, bodyGrace: settings.bodyGrace, minRate: settings.minBodyRate)
                {
                case .head:
                    statistics.headerTimeouts.add(1, ordering: .relaxed)
                    shutdown(fd, Int32(SHUT_RDWR))
                case .body:
                    statistics.bodyTimeouts.add(1, ordering: .relaxed)
                    shutdown(fd, Int32(SHUT_RDWR))
                default:
                    break
                }
            }
            for fd in stale {
                if let t = s.live.removeValue(forKey: fd) { Self.release(t.ip, in: &s) }
            }
        }
    }

    enum RefusalReason { case limit, perIP }
}

/// The acceptor thread's own state: connections whose first head is still
/// arriving, and refused ones lingering until the client has read the answer.
/// Touched only by that thread.
private final class EdgeLoop {
    struct Pending {
        var address: sockaddr_storage
        var length: socklen_t
        var ip: IPKey
        var accepted: Int
    }

    let edge: EdgeListener
    let handOver: EdgeListener.HandOver
    let epoll: Int32
    var pending: [Int32: Pending] = [:]
    /// Answered and half-closed: descriptor → (counted address, close-by time);
    /// connections refused at accept were never counted (`ip` is nil).
    var lingering: [Int32: (ip: IPKey?, until: Int)] = [:]
    var buffer: [UInt8]
    static let listenTag = UInt64.max

    init(edge: EdgeListener, handOver: @escaping EdgeListener.HandOver) {
        self.edge = edge
        self.handOver = handOver
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        buffer = [UInt8](repeating: 0, count: max(edge.settings.limits.maxHeadBytes, edge.settings.limits.maxRequestLineBytes) + 4)
        _ = sf_epoll_ctl(epoll, EPOLL_CTL_ADD, edge.listenFD, EPOLLIN.rawValue, Self.listenTag)
    }

    deinit { close(epoll) }

    func run() {
        var datas = [UInt64](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        var lastSweep = HTTPServer.monotonicMicros()
        while edge.isRunning {
            // Sweep often while first heads are arriving, less often while only
            // libmicrohttpd's connections are watched, and sleep when idle.
            let tick: Int32 = !pending.isEmpty || !lingering.isEmpty ? 50 : edge.watchedCount > 0 ? 200 : 1000
            let n = sf_epoll_wait(epoll, &datas, &events, 256, tick)
            if !edge.isRunning { break }
            for i in 0..<max(0, Int(n)) {
                if datas[i] == Self.listenTag {
                    acceptAll()
                } else {
                    let fd = Int32(truncatingIfNeeded: datas[i])
                    if lingering[fd] != nil {
                        drain(fd)
                    } else if pending[fd] != nil {
                        readHead(fd, hangUp: events[i] & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0)
                    }
                }
            }
            let now = HTTPServer.monotonicMicros()
            if now - lastSweep >= Int(tick) * 1000 {
                sweep(now: now)
                edge.sweep(now: now)
                lastSweep = now
            }
        }
        for (fd, p) in pending {
            close(fd)
            edge.release(p.ip)
        }
        for (fd, l) in lingering {
            close(fd)
            if let ip = l.ip { edge.release(ip) }
        }
        pending = [:]
        lingering = [:]
    }

    private func acceptAll() {
        while true {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let fd = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(edge.listenFD, $0, &length) }
            }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                // Out of descriptors: the backlog keeps the rest; pause so the
                // (level-triggered) listening socket does not spin this thread.
                if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                return
            }
            let ip = Self.key(address)
            if let reason = edge.admit(ip) {
                switch reason {
                case .limit: edge.statistics.refusedLimit.add(1, ordering: .relaxed)
                case .perIP: edge.statistics.refusedPerIP.add(1, ordering: .relaxed)
                }
                let detail =
                    reason == .limit
                    ? "the server has its limit of \(edge.settings.connectionLimit) connections open; retry later"
                    : "this address has its share of \(edge.settings.perIPLimit) connections open; retry later"
                send(fd, Self.wire(ProblemDetails(status: 503, detail: detail)))
                if lingering.count < 2 * edge.settings.connectionLimit {
                    // Half-close and read what the client sends until it closes
                    // (or a second passes), so it reads the 503 rather than a reset.
                    shutdown(fd, Int32(SHUT_WR))
                    lingering[fd] = (nil, HTTPServer.monotonicMicros() + 1_000_000)
                    _ = sf_epoll_ctl(
                        epoll, EPOLL_CTL_ADD, fd, EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue, UInt64(UInt32(bitPattern: fd)))
                    drain(fd)
                } else {
                    close(fd)
                }
                continue
            }
            pending[fd] = Pending(address: address, length: length, ip: ip, accepted: HTTPServer.monotonicMicros())
            _ = sf_epoll_ctl(
                epoll, EPOLL_CTL_ADD, fd, EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLET.rawValue, UInt64(UInt32(bitPattern: fd)))
            readHead(fd, hangUp: false)
        }
    }

    /// Peeks at the connection's bytes; answers, waits, or hands it over.
    private func readHead(_ fd: Int32, hangUp: Bool) {
        let capacity = buffer.count
        let got = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, capacity, Int32(MSG_PEEK | MSG_DONTWAIT)) }
        if got < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            drop(fd)
            return
        }
        if got == 0 {
            drop(fd)  // closed before sending a request
            return
        }
        let scan = buffer.withUnsafeBytes {
            Self.scanPipelined(UnsafeRawBufferPointer(rebasing: $0[0..<got]), limits: edge.settings.limits)
        }
        switch scan {
        case .incomplete:
            if hangUp {
                refuse(fd, ProblemDetails(status: 400, detail: "the connection was half-closed before the request head was complete"))
            }
        case .refused(let problem):
            refuse(fd, problem)
        case .complete:
            guard let p = pending.removeValue(forKey: fd) else { return }
            _ = sf_epoll_ctl(epoll, EPOLL_CTL_DEL, fd, 0, 0)
            let tracker = ConnectionTracker(fd: fd, ip: p.ip, now: HTTPServer.monotonicMicros())
            edge.register(tracker)
            var address = p.address
            let ok = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { handOver(fd, $0, p.length) }
            }
            if !ok { edge.closed(tracker) }  // libmicrohttpd closed the socket
        }
    }

    /// Scans the first head and, when requests are pipelined behind it with
    /// known lengths, every later head already received: a bad one among them
    /// refuses the connection, so nothing after it is parsed as a request.
    static func scanPipelined(_ bytes: UnsafeRawBufferPointer, limits: HeadLimits) -> HeadScan {
        let first = RequestHead.scan(bytes, limits: limits)
        guard case .complete(var length, var body) = first else { return first }
        var offset = 0
        while let b = body, Int64(bytes.count - offset - length) > b {
            offset += length + Int(b)
            switch RequestHead.scan(UnsafeRawBufferPointer(rebasing: bytes[offset...]), limits: limits) {
            case .complete(let l, let next):
                length = l
                body = next
            case .refused(let problem):
                return .refused(problem)
            case .incomplete:
                return first
            }
        }
        return first
    }

    /// Answers with one problem, half-closes, and lingers briefly so the client
    /// reads the answer rather than a reset.
    private func refuse(_ fd: Int32, _ problem: ProblemDetails) {
        guard let p = pending.removeValue(forKey: fd) else { return }
        edge.statistics.malformedHeads.add(1, ordering: .relaxed)
        discardInput(fd)
        send(fd, Self.wire(problem))
        shutdown(fd, Int32(SHUT_WR))
        lingering[fd] = (p.ip, HTTPServer.monotonicMicros() + 2_000_000)
    }

    private func drain(_ fd: Int32) {
        if discardInput(fd) { finishLinger(fd) }
    }

    /// Reads and drops what is available; true at end of stream or on error.
    @discardableResult
    private func discardInput(_ fd: Int32) -> Bool {
        let capacity = buffer.count
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, capacity, Int32(MSG_DONTWAIT)) }
            if n > 0 { continue }
            if n < 0, errno == EINTR { continue }
            return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)
        }
    }

    private func finishLinger(_ fd: Int32) {
        guard let l = lingering.removeValue(forKey: fd) else { return }
        close(fd)  // also leaves the epoll set (never duplicated)
        if let ip = l.ip { edge.release(ip) }
    }

    private func drop(_ fd: Int32) {
        guard let p = pending.removeValue(forKey: fd) else { return }
        close(fd)  // also leaves the epoll set (never duplicated)
        edge.release(p.ip)
    }

    /// Closes first heads over the deadline (with a 408 the client may read) and ends lingering.
    private func sweep(now: Int) {
        let deadline = edge.settings.headDeadline
        for (fd, p) in pending where now - p.accepted > deadline {
            edge.statistics.headerTimeouts.add(1, ordering: .relaxed)
            send(fd, Self.wire(ProblemDetails(status: 408, detail: "the request head was not complete within \(deadline / 1_000_000) s")))
            drop(fd)
        }
        for (fd, l) in lingering where now > l.until { finishLinger(fd) }
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_NOSIGNAL)) }
    }

    /// A complete HTTP/1.1 response carrying `problem`, closing the connection.
    static func wire(_ problem: ProblemDetails) -> [UInt8] {
        let body = problem.json
        let head =
            "HTTP/1.1 \(problem.status) \(HTTPStatus.reason(problem.status))\r\nContent-Type: application/problem+json\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        return Array((head + body).utf8)
    }

    static func key(_ address: sockaddr_storage) -> IPKey {
        withUnsafeBytes(of: address) { raw in
            switch Int32(address.ss_family) {
            case AF_INET:
                let a = raw.load(fromByteOffset: MemoryLayout<sockaddr_in>.offset(of: \.sin_addr)!, as: UInt32.self)
                return IPKey(high: 0xFFFF, low: UInt64(a))
            case AF_INET6:
                let o = MemoryLayout<sockaddr_in6>.offset(of: \.sin6_addr)!
                return IPKey(
                    high: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self),
                    low: raw.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self))
            default:
                return IPKey(high: 0, low: 0)
            }
        }
    }
}
