import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A TCP socket for sending exact bytes and reading every byte back until the
/// server closes: for malformed requests, slow clients and connections from a
/// chosen loopback address (`127.0.0.2` …).
public final class RawSocket {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public let fd: Int32

    /// Connects to `host:port`, first binding the local end to `source` when given.
    public init(port: Int, host: String = "127.0.0.1", source: String? = nil, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let rc = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else {
                let e = errno  // `deinit` closes fd (the instance is fully initialized)
                throw Failure(description: "bind to \(source) failed: errno \(e)")
            }
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno  // `deinit` closes fd (the instance is fully initialized)
            throw Failure(description: "connect to \(host):\(port) failed: errno \(e)")
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(fd) }

    /// Sends every byte; false when the peer has closed or reset the connection.
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

    /// Reads until the bytes read so far end with `marker` (or the connection ends).
    public func read(until marker: String) -> [UInt8] {
        let m = Array(marker.utf8)
        var out: [UInt8] = []
        var byte: UInt8 = 0
        while !(out.count >= m.count && Array(out.suffix(m.count)) == m) {
            guard recv(fd, &byte, 1, 0) == 1 else { break }
            out.append(byte)
        }
        return out
    }

    /// How reading ended.
    public enum End: Sendable, Equatable {
        case eof, reset, timeout
    }

    /// Reads until the server closes the connection (or resets it, or the timeout passes).
    public func readToEnd() -> (bytes: [UInt8], end: End) {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                out += chunk[0..<n]
            } else if n == 0 {
                return (out, .eof)
            } else if errno == EINTR {
                continue
            } else {
                return (out, errno == EAGAIN || errno == EWOULDBLOCK ? .timeout : .reset)
            }
        }
    }
}

/// The responses found in the bytes a server sent, in order.
public struct RawReply: Sendable {
    public struct Message: Sendable {
        public var statusLine: String
        public var headers: [(String, String)]
        public var body: [UInt8]
        public var status: Int { Int(statusLine.split(separator: " ").dropFirst().first ?? "") ?? 0 }
        public func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }
        public var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:]
        }
    }

    public var messages: [Message] = []
    /// Bytes after the last complete response (should be empty).
    public var trailing: [UInt8] = []
    public var end: RawSocket.End

    /// Splits `bytes` into responses framed by `Content-Length` or chunked coding.
    public init(_ bytes: [UInt8], end: RawSocket.End) {
        self.end = end
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let headEnd = Self.find([13, 10, 13, 10], in: rest) else { break }
            let head = String(decoding: rest[rest.startIndex..<headEnd], as: UTF8.self)
            var lines = head.components(separatedBy: "\r\n")
            let statusLine = lines.removeFirst()
            let headers = lines.compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }
            var bodyStart = headEnd + 4
            var body: [UInt8] = []
            if let length = headers.first(where: { $0.0.lowercased() == "content-length" }).flatMap({ Int($0.1) }) {
                guard rest.endIndex - bodyStart >= length else { break }
                body = Array(rest[bodyStart..<(bodyStart + length)])
                bodyStart += length
            } else if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" }) {
                var p = bodyStart
                while let lineEnd = Self.find([13, 10], in: rest[p...]) {
                    let size = Int(String(decoding: rest[p..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16) ?? 0
                    p = lineEnd + 2
                    if size == 0 {
                        p += 2
                        break
                    }
                    body += rest[p..<min(p + size, rest.endIndex)]
                    p += size + 2
                }
                bodyStart = min(p, rest.endIndex)
            }
            messages.append(Message(statusLine: statusLine, headers: headers, body: body))
            rest = rest[bodyStart...]
        }
        trailing = Array(rest)
    }

    /// Sends `bytes` on a fresh connection and reads until the server closes it.
    public static func exchange(port: Int, _ bytes: [UInt8], source: String? = nil, timeout: Double = 10) throws -> RawReply {
        let s = try RawSocket(port: port, source: source, timeout: timeout)
        s.send(bytes)
        let (reply, end) = s.readToEnd()
        return RawReply(reply, end: end)
    }

    private static func find(_ needle: [UInt8], in hay: ArraySlice<UInt8>) -> Int? {
        guard hay.count >= needle.count else { return nil }
        var i = hay.startIndex
        while i <= hay.endIndex - needle.count {
            if hay[i] == needle[0], Array(hay[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}

/// Raises this process's open-file soft limit to its hard limit; returns the new soft limit.
@discardableResult
public func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = limit.rlim_max
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    return Int(limit.rlim_cur)
}
