import Foundation
import Synchronization
import TestSupport
import Testing

@testable import MicroHTTP

/// 1,100 connections dripping a request head a byte a second from five
/// loopback addresses must neither lock other clients out nor outlive the
/// header deadline. Takes about 35 s.
@Suite(.serialized) struct SlowClientTests {
    final class Shared: Sendable {
        let stop = Atomic<Bool>(false)
        /// Lifetime (accept to EOF/RST) of every slow connection the server closed.
        let lifetimes = Mutex<[Double]>([])
        /// Slow connections still open at the end that were older than allowed.
        let overdue = Mutex<[Double]>([])
        let failures = Mutex<[String]>([])
        let opened = Atomic<Int>(0)
    }

    struct Slow {
        var socket: RawSocket
        var opened: Date
        var sent: Int
    }

    static let head = Array("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ".utf8)

    /// Keeps `count` slow connections from `source` open, dripping one byte per
    /// connection per second and replacing each one the server closes.
    static func drip(port: Int, source: String, count: Int, allowed: Double, shared: Shared) {
        // The attackers would be other machines: keep them from taking the
        // CPU the server (and the /healthz poller) need on this 2-core box.
        if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self"),
            let tid = link.split(separator: "/").last.flatMap({ id_t($0) })
        {
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), tid, 10)
        }
        var slow: [Slow] = []
        func open() {
            do {
                let s = try RawSocket(port: port, source: source, timeout: 1)
                s.send([head[0]])
                slow.append(Slow(socket: s, opened: Date(), sent: 1))
                shared.opened.add(1, ordering: .relaxed)
            } catch {
                shared.failures.withLock { $0.append("\(source): \(error)") }
            }
        }
        for _ in 0..<count { open() }
        var nextDrip = Date().addingTimeInterval(1)
        var nextRefill = Date()
        var scratch = [UInt8](repeating: 0, count: 4096)
        while !shared.stop.load(ordering: .relaxed) {
            var fds = slow.map { pollfd(fd: $0.socket.fd, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 100)
            var closed: Set<Int> = []
            for (i, p) in fds.enumerated() where p.revents != 0 {
                // Read what is there: an answer (408/503) or the end of the stream.
                while true {
                    let n = scratch.withUnsafeMutableBytes { recv(p.fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                    if n > 0 { continue }
                    if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK) {
                        closed.insert(i)
                        // When the server closed it, not when this (possibly
                        // starved) thread noticed: the kernel knows how long ago
                        // the last data (the 408 or 503 sent just before the
                        // close) arrived.
                        let lifetime = Date().timeIntervalSince(slow[i].opened) - Self.sinceLastData(p.fd)
                        shared.lifetimes.withLock { $0.append(lifetime) }
                    }
                    break
                }
            }
            slow = slow.enumerated().filter { !closed.contains($0.offset) }.map(\.element)
            if Date() >= nextDrip {
                for i in slow.indices {
                    let byte = slow[i].sent < head.count ? head[slow[i].sent] : UInt8(ascii: "a")
                    slow[i].socket.send([byte])
                    slow[i].sent += 1
                }
                nextDrip = nextDrip.addingTimeInterval(1)
            }
            // Closed ones come back, at most 10 every 100 ms per address (about
            // as many a second as the server refuses), like a patient attacker.
            if Date() >= nextRefill {
                for _ in 0..<min(count - slow.count, 10) { open() }
                nextRefill = Date().addingTimeInterval(0.1)
            }
        }
        // Connections the server closed since the last poll are not overdue.
        var fds = slow.map { pollfd(fd: $0.socket.fd, events: Int16(POLLIN), revents: 0) }
        _ = poll(&fds, nfds_t(fds.count), 0)
        let now = Date()
        for (i, s) in slow.enumerated() where fds[i].revents == 0 && now.timeIntervalSince(s.opened) > allowed {
            shared.overdue.withLock { $0.append(now.timeIntervalSince(s.opened)) }
        }
    }

    /// Seconds since the socket last received data (`tcpi_last_data_recv` of `TCP_INFO`).
    static func sinceLastData(_ fd: Int32) -> Double {
        var info = [UInt8](repeating: 0, count: 256)
        var length = socklen_t(info.count)
        guard getsockopt(fd, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0, length >= 56 else { return 0 }
        // struct tcp_info: 8 bytes of u8 fields, then u32s; tcpi_last_data_recv is at byte 52.
        return Double(info.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 52, as: UInt32.self) }) / 1000
    }

    @Test(.timeLimit(.minutes(3))) func slowClientsNeitherLockOthersOutNorOutliveTheDeadline() throws {
        let files = raiseOpenFileLimit()
        try #require(files >= 4096, "need 4096 open files, have \(files)")
        let deadline = 5.0
        // The client's own loop (dripping, reconnecting) adds to what it measures.
        let slack = 1.5
        let server = try ServerTests.makeServer(
            configure: {
                $0.headerDeadlineSeconds = deadline
                $0.accessLog = false
            },
            routes: { $0.get("/healthz") { _ in .text("{\"status\":\"ok\"}") } })
        defer { server.stop() }
        #expect(server.configuration.connectionLimit == 1024)
        #expect(server.configuration.effectivePerIPConnectionLimit == 128)

        let port = server.port
        let shared = Shared()
        let sources = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5", "127.0.0.6"]
        let done = DispatchGroup()
        for source in sources {
            done.enter()
            let t = Thread {
                Self.drip(port: port, source: source, count: 220, allowed: deadline + slack, shared: shared)
                done.leave()
            }
            t.start()
        }
        // Wait until all 1,100 are open (a condition, not a fixed sleep).
        let openBy = Date().addingTimeInterval(30)
        while shared.opened.load(ordering: .relaxed) < 1100, Date() < openBy { usleep(10_000) }
        #expect(shared.opened.load(ordering: .relaxed) >= 1100)

        // /healthz from 127.0.0.1, a fresh connection every 100 ms for 30 s.
        var latencies: [Double] = []
        var statuses: [Int] = []
        let end = Date().addingTimeInterval(30)
        while Date() < end {
            let t0 = Date()
            do {
                let reply = try RawReply.exchange(
                    port: port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), source: "127.0.0.1", timeout: 2
                )
                statuses.append(reply.messages.first?.status ?? 0)
            } catch {
                statuses.append(-1)
            }
            let latency = Date().timeIntervalSince(t0)
            latencies.append(latency)
            if latency < 0.1 { usleep(useconds_t((0.1 - latency) * 1_000_000)) }
        }
        shared.stop.store(true, ordering: .relaxed)
        done.wait()

        let sorted = latencies.sorted()
        let lifetimes = shared.lifetimes.withLock { $0 }
        print(
            "slow clients: \(shared.opened.load(ordering: .relaxed)) opened, \(lifetimes.count) closed by the server, longest \(lifetimes.max() ?? 0) s; "
                + "/healthz: \(latencies.count) polls, median \(sorted[sorted.count / 2] * 1000) ms, max \((sorted.last ?? 0) * 1000) ms; "
                + "timed out \(server.statistics.headerTimeoutCount), refused per IP \(server.statistics.refusedPerIPCount)")
        #expect(shared.failures.withLock { $0 }.isEmpty)
        #expect(latencies.count >= 250)
        #expect(statuses.allSatisfy { $0 == 200 }, "statuses other than 200: \(statuses.filter { $0 != 200 })")
        #expect((sorted.last ?? 1) < 0.1, "slowest /healthz: \((sorted.last ?? 1) * 1000) ms")
        #expect(lifetimes.count >= 1100)
        #expect(lifetimes.allSatisfy { $0 <= deadline + slack }, "longest slow connection lived \(lifetimes.max() ?? 0) s")
        #expect(shared.overdue.withLock { $0 }.isEmpty)
        #expect(server.statistics.headerTimeoutCount >= 5 * 128)
        #expect(server.statistics.refusedPerIPCount >= 1100 - 5 * 128)
    }
}
