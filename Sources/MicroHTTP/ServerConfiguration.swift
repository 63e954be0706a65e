/// Settings of an `HTTPServer`. Every field has a default.
public struct ServerConfiguration: Sendable {
    /// IPv4 or IPv6 address to bind (default `127.0.0.1`); `0.0.0.0` or `::` for all.
    public var address: String = "127.0.0.1"
    /// TCP port (default 8080); 0 picks a free one (read it back from `HTTPServer.port`).
    public var port: Int = 8080
    /// Threads in libmicrohttpd's epoll thread pool (default: the number of cores).
    public var threads: Int = ServerConfiguration.coreCount
    /// Most connections open at once (default 1024); more are refused at accept.
    public var connectionLimit: Int = 1024
    /// Most connections from one IP address (default `nil`: an eighth of
    /// `connectionLimit`, so a few addresses cannot take every connection; 0 = no limit).
    /// Connections over it (or over `connectionLimit`) get a 503 problem and are closed.
    public var perIPConnectionLimit: Int? = nil
    /// The per-address limit in force (see `perIPConnectionLimit`).
    public var effectivePerIPConnectionLimit: Int { perIPConnectionLimit ?? max(1, connectionLimit / 8) }
    /// Seconds a client has to send a complete request head (default 10), from
    /// accepting the connection, and on a kept-alive connection from the end of
    /// the previous response (so an idle kept-alive connection closes then too).
    /// A connection over it is closed (a first head gets a 408) and counted in
    /// `EdgeStatistics`.
    public var headerDeadlineSeconds: Double = 10
    /// Slowest a request body may arrive, in bytes per second (default 1024; 0 = no minimum):
    /// after `bodyRateGraceSeconds`, each second must be paid for with this many bytes
    /// received (the rule of Apache's mod_reqtimeout). Slower connections are closed.
    public var minBodyRateBytesPerSecond: Int = 1024
    /// Seconds a body may take before `minBodyRateBytesPerSecond` applies (default 10).
    public var bodyRateGraceSeconds: Double = 10
    /// Limits on the request line and head (414 and 431 beyond them).
    public var headLimits = HeadLimits()
    /// Seconds a connection may stay idle before it is closed (default 60).
    /// Suspended streaming responses are exempt while they wait for data.
    public var idleTimeoutSeconds: Int = 60
    /// Largest buffered request body in bytes (default 1 MiB); larger → 413.
    public var maxBodySize: Int = 1 << 20
    /// Memory libmicrohttpd may use per connection for headers and buffers
    /// (default 32 KiB, libmicrohttpd's own; it is cleared for every request,
    /// so a larger pool costs time on every keep-alive request).
    public var connectionMemoryLimit: Int = 32 << 10
    /// Seconds `stop()` waits for open streams to drain (default 5).
    public var shutdownGraceSeconds: Double = 5
    /// Whether to write one access-log line per request (default `true`).
    public var accessLog: Bool = true

    public init() {}

    public static var coreCount: Int { max(1, sysconfCores()) }
}

#if canImport(Glibc)
import Glibc
private func sysconfCores() -> Int { Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))) }
#else
import Darwin
private func sysconfCores() -> Int { Int(sysconf(_SC_NPROCESSORS_ONLN)) }
#endif
