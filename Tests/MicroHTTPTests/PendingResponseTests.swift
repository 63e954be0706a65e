import Foundation
import Synchronization
import TestSupport
import Testing

@testable import MicroHTTP

/// Responses fulfilled later by another thread, with the connection parked.
struct PendingResponseTests {
    /// Collects pending responses so a test thread can answer them.
    final class Inbox: Sendable {
        let items = Mutex<[(String, PendingResponse)]>([])
        func take() -> [(String, PendingResponse)] {
            items.withLock { i in
                defer { i = [] }; return i
            }
        }
        func count() -> Int { items.withLock { $0.count } }
    }

    static func server(_ inbox: Inbox, configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
        try ServerTests.makeServer(
            configure: configure,
            routes: { r in
                r.get("/later/{name}") { req in
                    let p = PendingResponse()
                    inbox.items.withLock { $0.append((req.parameter("name"), p)) }
                    return Response(body: .pending(p))
                }
                r.get("/ready") { _ in
                    let p = PendingResponse()
                    p.fulfill(.text("at once"))
                    return Response(body: .pending(p))
                }
            })
    }

    @Test func alreadyFulfilledIsSentAtOnce() throws {
        let server = try Self.server(Inbox())
        defer { server.stop() }
        let r = try RawHTTPConnection(port: server.port).request("GET", "/ready")
        #expect(r.status == 200)
        #expect(r.text == "at once")
    }

    @Test func parkedConnectionsDoNotHoldTheThreads() throws {
        let inbox = Inbox()
        // One HTTP thread: if a parked request held it, nothing else would be served.
        let server = try Self.server(inbox, configure: { $0.threads = 1 })
        defer { server.stop() }
        let clients = try (0..<20).map { _ in try RawHTTPConnection(port: server.port, timeout: 5) }
        for (i, c) in clients.enumerated() { c.sendRequest("GET", "/later/n\(i)") }
        let deadline = Date().addingTimeInterval(3)
        while inbox.count() < 20, Date() < deadline { usleep(2000) }
        #expect(inbox.count() == 20)
        // Meanwhile a plain request on the same thread is answered.
        #expect(try RawHTTPConnection(port: server.port, timeout: 2).request("GET", "/hello").text == "hello")
        // Answer from another thread, in reverse order.
        let parked = inbox.take()
        let t = Thread {
            for (name, p) in parked.reversed() {
                p.fulfill(.text("answer \(name)"))
                p.fulfill(.text("ignored"))
            }
        }
        t.start()
        for (i, c) in clients.enumerated() {
            let r = try c.readResponse()
            #expect(r.status == 200)
            #expect(r.text == "answer n\(i)")
            // Keep-alive still works after a parked request.
            c.sendRequest("GET", "/ready")
            #expect(try c.readResponse().text == "at once")
        }
    }

    @Test func stopAnswersPendingWith503() throws {
        let inbox = Inbox()
        let server = try Self.server(inbox, configure: { $0.shutdownGraceSeconds = 3 })
        let c = try RawHTTPConnection(port: server.port, timeout: 5)
        c.sendRequest("GET", "/later/x")
        let deadline = Date().addingTimeInterval(3)
        while inbox.count() < 1, Date() < deadline { usleep(2000) }
        let t0 = Date()
        server.stop()
        #expect(Date().timeIntervalSince(t0) < 2.5)
        #expect(try c.readResponse().status == 503)
        // A late answer after the stop is ignored rather than touching a dead connection.
        inbox.take().first?.1.fulfill(.text("late"))
    }
}
