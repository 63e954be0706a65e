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
    /// Most connections from one IP address (default 256; 0 = no limit).
    public var perIPConnectionLimit: Int = 256
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
