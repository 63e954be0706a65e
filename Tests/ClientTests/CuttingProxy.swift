import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP relay in front of a server that cuts answers to the
/// requests whose first line contains `pattern` (by default live log streams,
/// `follow=true`) after a few hundred bytes — in the middle of an SSE event,
/// mid-chunk — like a proxy or a flaky network would, up to `maxCuts` times.
/// Other requests pass untouched.
final class CuttingProxy: Sendable {
    let port: Int
    let upstream: Int
    private let listener: Int32
    private let stopped = Atomic<Bool>(false)
    /// Follow streams cut so far.
    let cuts = Atomic<Int>(0)
    /// Bytes of a follow answer passed before the cut (the n-th stream gets `cutAfter + 97 * n`).
    let cutAfter: Int
    let pattern: String
    let maxCuts: Int

    init(upstream: Int, cutAfter: Int = 600, pattern: String = "follow=true", maxCuts: Int = .max) throws {
        self.upstream = upstream
        self.cutAfter = cutAfter
        self.pattern = pattern
        self.maxCuts = maxCuts
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw CocoaError(.fileWriteUnknown)
        }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        listener = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        let t = Thread { [self] in acceptLoop() }
        t.start()
    }

    deinit { stop() }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() {
        guard !stopped.exchange(true, ordering: .acquiringAndReleasing) else { return }
        // Wakes the accept loop, which closes the listener itself: closing it
        // here could hand its number to another socket while accept still uses it.
        shutdown(listener, Int32(SHUT_RDWR))
    }

    private func acceptLoop() {
        defer { close(listener) }
        while !stopped.load(ordering: .acquiring) {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            Thread.detachNewThread { [self] in relay(client) }
        }
    }

    private func connectUpstream() -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(upstream).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            close(fd)
            return nil
        }
        return fd
    }

    private static func sendAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer) -> Bool {
        var sent = 0
        while sent < buffer.count {
            let n = send(fd, buffer.baseAddress! + sent, buffer.count - sent, Int32(MSG_NOSIGNAL))
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    /// One client connection: requests up, answers down; a follow answer is cut.
    private func relay(_ client: Int32) {
        guard let server = connectUpstream() else {
            close(client)
            return
        }
        let limit = Mutex<Int?>(nil)
        // Bytes sent down so far (answers to earlier requests on a kept-alive connection count too).
        let passed = Atomic<Int>(0)
        // Client → server, noting whether the request follows a stream.
        let upDone = DispatchSemaphore(value: 0)
        let up = Thread { [self] in
            defer { upDone.signal() }
            var buffer = [UInt8](repeating: 0, count: 16384)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                let firstLine = text.prefix { $0 != "\r" && $0 != "\n" }
                let cut = cuts.load(ordering: .relaxed)
                if firstLine.contains(pattern), cut < maxCuts {
                    limit.withLock { $0 = passed.load(ordering: .acquiring) + cutAfter + 97 * cut }
                } else {
                    limit.withLock { $0 = nil }
                }
                let ok = buffer.withUnsafeBytes { Self.sendAll(server, UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                if !ok { break }
            }
            shutdown(server, Int32(SHUT_WR))
        }
        up.start()
        // Server → client, cut at the limit.
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(server, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            var take = n
            var cut = false
            let sofar = passed.load(ordering: .acquiring)
            if let l = limit.withLock({ $0 }), sofar + n >= l {
                take = max(0, l - sofar)
                cut = true
            }
            let ok = buffer.withUnsafeBytes { Self.sendAll(client, UnsafeRawBufferPointer(rebasing: $0[0..<take])) }
            passed.add(take, ordering: .releasing)
            if cut {
                cuts.add(1, ordering: .relaxed)
                break
            }
            if !ok { break }
        }
        shutdown(client, Int32(SHUT_RDWR))
        shutdown(server, Int32(SHUT_RDWR))
        // The upward thread still uses both sockets until its recv sees the
        // shutdown: close them only after it is done, so their numbers are
        // never reused by another connection while it runs.
        upDone.wait()
        close(client)
        close(server)
    }
}
