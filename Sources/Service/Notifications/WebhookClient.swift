import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Why an attempt got no HTTP status.
struct WebhookClientError: Error, CustomStringConvertible {
    var description: String
}

/// A small blocking HTTP/1.1 client for webhook POSTs, called on the
/// notifier's own threads (never on Swift's cooperative pool).
///
/// `http://` goes over a plain socket: connect with a timeout, one request
/// with `Connection: close`, read the status line within the timeout, close.
/// Only the status code matters, so the response body is not read.
/// `https://` goes through `URLSession` (FoundationNetworking, libcurl: the
/// system's CA store verifies the server), with the same timeout and no
/// redirects followed. No SwiftNIO either way.
struct WebhookClient: Sendable {
    /// Connect and read timeout, in seconds (each, not in total).
    var timeout: Double

    /// POSTs `body` with `headers` (plus Host, Content-Length, Connection) and
    /// returns the response's status code.
    func post(_ url: String, headers: [(String, String)], body: [UInt8]) throws(WebhookClientError) -> Int {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), let host = c.host, !host.isEmpty else {
            throw WebhookClientError(description: "not a URL")
        }
        switch scheme {
        case "http": return try plainPost(c, host: host, headers: headers, body: body)
        case "https": return try sessionPost(url, headers: headers, body: body)
        default: throw WebhookClientError(description: "unsupported scheme \(scheme)")
        }
    }

    // MARK: http over a socket

    private func plainPost(_ c: URLComponents, host: String, headers: [(String, String)], body: [UInt8]) throws(WebhookClientError) -> Int {
        let port = c.port ?? 80
        var target = c.percentEncodedPath.isEmpty ? "/" : c.percentEncodedPath
        if let q = c.percentEncodedQuery { target += "?" + q }
        let hostHeader = (host.contains(":") ? "[\(host)]" : host) + (c.port.map { ":\($0)" } ?? "")
        var head = "POST \(target) HTTP/1.1\r\nHost: \(hostHeader)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        head += "\r\n"
        let fd = try connect(host: host, port: port)
        defer { close(fd) }
        try send(fd, Array(head.utf8) + body)
        return try readStatus(fd)
    }

    private var timeoutMs: Int32 { Int32(max(1, min(Double(Int32.max), timeout * 1000))) }

    private func connect(host: String, port: Int) throws(WebhookClientError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(host, String(port), &hints, &list)
        guard rc == 0, let first = list else {
            throw WebhookClientError(description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(list) }
        var lastError = "no address for \(host)"
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let ai = node {
            node = ai.pointee.ai_next
            let fd = socket(ai.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard fd >= 0 else {
                lastError = "socket: \(String(cString: strerror(errno)))"
                continue
            }
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
            var result = Glibc.connect(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen)
            if result != 0, errno == EINPROGRESS {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                let n = poll(&p, 1, timeoutMs)
                if n == 1 {
                    var err: Int32 = 0
                    var len = socklen_t(MemoryLayout<Int32>.size)
                    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
                    result = err == 0 ? 0 : -1
                    if err != 0 { lastError = "connect to \(host):\(port): \(String(cString: strerror(err)))" }
                } else {
                    lastError = "connect to \(host):\(port): timed out after \(timeout) s"
                }
            } else if result != 0 {
                lastError = "connect to \(host):\(port): \(String(cString: strerror(errno)))"
            }
            if result == 0 { return fd }
            close(fd)
        }
        throw WebhookClientError(description: lastError)
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) throws(WebhookClientError) {
        var offset = 0
        while offset < bytes.count {
            var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            guard poll(&p, 1, timeoutMs) == 1 else { throw WebhookClientError(description: "write timed out after \(timeout) s") }
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw WebhookClientError(description: "write: \(String(cString: strerror(errno)))")
            }
            offset += n
        }
    }

    /// Reads up to the end of the status line and returns its code.
    private func readStatus(_ fd: Int32) throws(WebhookClientError) -> Int {
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeoutMs))
        while !buffer.contains(UInt8(ascii: "\n")) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { throw WebhookClientError(description: "no response within \(timeout) s") }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ms = Int32(max(1, left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&p, 1, ms)
            if ready == 0 { continue }
            if ready < 0 {
                if errno == EINTR { continue }
                throw WebhookClientError(description: "poll: \(String(cString: strerror(errno)))")
            }
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n == 0 { throw WebhookClientError(description: "the connection closed before a response") }
            if n < 0 {
                if errno == EAGAIN || errno == EINTR { continue }
                throw WebhookClientError(description: "read: \(String(cString: strerror(errno)))")
            }
            buffer += chunk[0..<n]
            if buffer.count > 8192 { break }
        }
        let line = String(decoding: buffer.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let code = Int(parts[1]), (100...599).contains(code) else {
            throw WebhookClientError(description: "not an HTTP response")
        }
        return code
    }

    // MARK: https over URLSession

    private func sessionPost(_ url: String, headers: [(String, String)], body: [UInt8]) throws(WebhookClientError) -> Int {
        guard let u = URL(string: url) else { throw WebhookClientError(description: "not a URL") }
        var request = URLRequest(url: u, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = "POST"
        for (k, v) in headers { request.setValue(v, forHTTPHeaderField: k) }
        request.httpBody = Data(body)
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = timeout * 2
        let delegate = RefuseRedirects()
        let session = URLSession(configuration: config, delegate: delegate, delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let done = DispatchSemaphore(value: 0)
        let result = ResultBox()
        let task = session.dataTask(with: request) { _, response, error in
            if let http = response as? HTTPURLResponse {
                result.value.withLock { $0 = .success(http.statusCode) }
            } else {
                let text = error.map { ($0 as NSError).localizedDescription } ?? "no response"
                result.value.withLock { $0 = .failure(WebhookClientError(description: text)) }
            }
            done.signal()
        }
        task.resume()
        if done.wait(timeout: .now() + timeout * 2 + 1) == .timedOut {
            task.cancel()
            throw WebhookClientError(description: "no response within \(timeout) s")
        }
        return try result.value.withLock { $0 }.get()
    }
}

/// The answer of a URLSession task, handed from its callback to the waiting thread.
private final class ResultBox: Sendable {
    let value = Mutex<Result<Int, WebhookClientError>>(.failure(WebhookClientError(description: "no response")))
}

/// A webhook receiver's redirect is its answer, not a place to resend the body.
private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
    // @unchecked: NSObject is not Sendable; there is no state.
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
