import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A raw HTTP/1.1 client over a blocking TCP socket, for tests that need
/// control Foundation's client does not give: keep-alive, partial bodies,
/// reading a stream as it arrives, sending too much.
public final class RawHTTPConnection {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        /// The body decoded as a JSON object.
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to `127.0.0.1:port` with a receive timeout (default 10 s).
    public init(port: Int, host: String = "127.0.0.1", timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            // No close here: the instance is fully initialized, so throwing runs
            // `deinit`, which closes `fd`. Closing it here too closed whatever
            // descriptor had taken the number meanwhile (a server connection:
            // libmicrohttpd's "Close socket failed" abort; another client: EBADF).
            throw Failure(description: "connect to \(host):\(port) failed: errno \(errno)")
        }
        setTimeout(timeout)
    }

    deinit { Glibc.close(fd) }

    /// Drops the connection now (the server sees the client go away).
    public func disconnect() { shutdown(fd, Int32(SHUT_RDWR)) }

    public func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends raw bytes. Returns false if the peer closed the connection.
    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    @discardableResult
    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Sends a request with `Content-Length` (when there is a body).
    public func sendRequest(_ method: String, _ target: String, headers: [String: String] = [:], body: [UInt8] = []) {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        send(Array(head.utf8) + body)
    }

    /// Sends a request and reads the whole response.
    public func request(_ method: String, _ target: String, headers: [String: String] = [:], body: [UInt8] = []) throws -> Response {
        sendRequest(method, target, headers: headers, body: body)
        return try readResponse(method: method)
    }

    /// Reads more bytes into the buffer; false at EOF.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 { throw Failure(description: errno == EAGAIN ? "timed out reading" : "recv failed: errno \(errno)") }
        if n == 0 { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 10) {
                let line = buffer[..<i]
                buffer.removeFirst(i + 1)
                return String(decoding: line.last == 13 ? line.dropLast() : line, as: UTF8.self)
            }
            guard try fill() else { throw Failure(description: "connection closed mid-line") }
        }
    }

    private func readExactly(_ n: Int) throws -> [UInt8] {
        while buffer.count < n {
            guard try fill() else { throw Failure(description: "connection closed after \(buffer.count) of \(n) bytes") }
        }
        let out = Array(buffer[..<n])
        buffer.removeFirst(n)
        return out
    }

    /// Reads the status line and headers.
    public func readHead() throws -> Response {
        let status = try readLine()
        let parts = status.split(separator: " ")
        guard parts.count >= 2, let code = Int(parts[1]) else { throw Failure(description: "bad status line: \(status)") }
        var headers: [(String, String)] = []
        while true {
            let line = try readLine()
            if line.isEmpty { break }
            if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return Response(status: code, headers: headers, body: [])
    }

    /// Reads one chunk of a chunked body; nil at the last chunk.
    public func readChunk() throws -> [UInt8]? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine.split(separator: ";")[0], radix: 16) else {
            throw Failure(description: "bad chunk size: \(sizeLine)")
        }
        if size == 0 {
            _ = try readLine()
            return nil
        }
        let data = try readExactly(size)
        _ = try readLine()
        return data
    }

    /// Reads a whole response (length-delimited, chunked or until close).
    public func readResponse(method: String = "GET") throws -> Response {
        var response = try readHead()
        if method == "HEAD" || response.status == 204 || response.status == 304 { return response }
        if let length = response.header("Content-Length").flatMap(Int.init) {
            response.body = try readExactly(length)
        } else if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while let chunk = try readChunk() { response.body += chunk }
        } else {
            while try fill() {}
            response.body = buffer
            buffer = []
        }
        return response
    }

    /// True when the server has closed the connection (EOF within the timeout).
    public func isClosedByPeer() -> Bool {
        (try? fill()) == false
    }
}

/// One request on a fresh connection.
public func httpRequest(
    port: Int, _ method: String, _ target: String, headers: [String: String] = [:], body: [UInt8] = []
) throws -> RawHTTPConnection.Response {
    try RawHTTPConnection(port: port).request(method, target, headers: headers, body: body)
}

/// Process CPU time (user + system) in seconds, for idle checks.
public func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
        + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
}

/// CPU seconds used so far by this process's threads whose name starts with
/// `prefix` (libmicrohttpd names its threads `MHD-…`), from /proc; unlike
/// process CPU time it is not disturbed by tests running alongside.
public func threadCPUSeconds(namePrefix prefix: String) -> (seconds: Double, threads: Int) {
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    var total = 0.0
    var count = 0
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    for tid in tasks {
        guard let comm = try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8),
            comm.hasPrefix(prefix),
            let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { continue }
        total += (u + s) / ticks
        count += 1
    }
    return (total, count)
}
