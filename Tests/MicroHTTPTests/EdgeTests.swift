import Foundation
import TestSupport
import Testing

@testable import MicroHTTP

/// The HTTP edge against raw bytes over real sockets: every malformed or
/// ambiguous head gets exactly one problem+json answer and the connection is
/// closed; deadlines close slow connections.
struct EdgeTests {
    static func server(_ configure: (inout ServerConfiguration) -> Void = { _ in }) throws -> HTTPServer {
        try ServerTests.makeServer(configure: configure)
    }

    /// Asserts `reply` is one problem+json response with `status` and `Connection: close`, then EOF.
    static func expectOneProblem(_ reply: RawReply, _ status: Int, _ name: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.messages.count == 1, "\(name): \(reply.messages.count) responses", sourceLocation: sourceLocation)
        #expect(reply.trailing.isEmpty, "\(name): bytes after the response", sourceLocation: sourceLocation)
        #expect(reply.end == .eof, "\(name): ended by \(reply.end)", sourceLocation: sourceLocation)
        guard let m = reply.messages.first else { return }
        #expect(m.statusLine.hasPrefix("HTTP/1.1 \(status) "), "\(name): \(m.statusLine)", sourceLocation: sourceLocation)
        #expect(m.header("Content-Type") == "application/problem+json", "\(name)", sourceLocation: sourceLocation)
        #expect(m.header("Connection")?.lowercased() == "close", "\(name)", sourceLocation: sourceLocation)
        #expect(m.json["status"] as? Int == status, "\(name)", sourceLocation: sourceLocation)
        #expect((m.json["detail"] as? String)?.isEmpty == false, "\(name)", sourceLocation: sourceLocation)
        #expect(!String(decoding: m.body, as: UTF8.self).contains("<html"), "\(name)", sourceLocation: sourceLocation)
    }

    static func corpus() throws -> [(name: String, status: Int, bytes: [UInt8])] {
        let dir = try #require(Bundle.module.url(forResource: "Corpus", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".http") }.sorted()
        return try files.map { file in
            let status = try #require(Int(file.prefix(3)), "corpus file \(file) must start with its expected status")
            return (file, status, Array(try Data(contentsOf: dir.appendingPathComponent(file))))
        }
    }

    @Test func corpusOfMalformedRequestsGetsOneProblemEach() throws {
        let server = try Self.server()
        defer { server.stop() }
        let cases = try Self.corpus()
        #expect(cases.count >= 30)
        for c in cases {
            let reply = try RawReply.exchange(port: server.port, c.bytes, timeout: 5)
            Self.expectOneProblem(reply, c.status, c.name)
        }
        #expect(server.statistics.malformedHeadCount >= cases.count)
    }

    @Test func theSameRequestsAfterAGoodOneOnAKeptAliveConnection() throws {
        // Later heads of a kept-alive connection are parsed by libmicrohttpd;
        // the framing rules and the path check are applied again in the handler.
        let server = try Self.server()
        defer { server.stop() }
        let good = "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n"
        let cases: [(String, Int, String)] = [
            ("duplicate Content-Length", 400, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc"),
            (
                "Transfer-Encoding with Content-Length", 400,
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n"
            ),
            ("xchunked", 400, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"),
            ("no Host", 400, "GET /hello HTTP/1.1\r\n\r\n"),
        ]
        for (name, status, second) in cases {
            let s = try RawSocket(port: server.port, timeout: 5)
            s.send(good)
            // The first answer is read before the second request is sent, so
            // libmicrohttpd (not the edge) parses the second head.
            let first = RawReply(s.read(until: "hello"), end: .timeout)
            #expect(first.messages.map(\.status) == [200], "\(name)")
            s.send(second)
            let (bytes, end) = s.readToEnd()
            Self.expectOneProblem(RawReply(bytes, end: end), status, name)
        }
        // An encoded separator is refused but the connection stays usable.
        let s = try RawSocket(port: server.port, timeout: 5)
        s.send(good)
        #expect(RawReply(s.read(until: "hello"), end: .timeout).messages.map(\.status) == [200])
        s.send("GET /items/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n" + "GET /items/a%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        let (bytes, end) = s.readToEnd()
        let reply = RawReply(bytes, end: end)
        #expect(reply.messages.map(\.status) == [400, 400])
        #expect(
            reply.messages.allSatisfy { $0.header("Content-Type") == "application/problem+json" && $0.json["field"] as? String == "path" })
    }

    @Test func aBadHeadPipelinedBehindAGoodOneRefusesTheConnection() throws {
        let server = try Self.server()
        defer { server.stop() }
        let good = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        for bad in ["POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2, 2\r\n\r\nab", "GET /hello HTTP/2.0\r\nHost: x\r\n\r\n"] {
            let reply = try RawReply.exchange(port: server.port, Array((good + bad).utf8), timeout: 5)
            Self.expectOneProblem(reply, bad.contains("2.0") ? 505 : 400)
        }
        let fine = try RawReply.exchange(
            port: server.port, Array((good + good + "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").utf8), timeout: 5)
        #expect(fine.messages.map(\.status) == [200, 200, 200])
    }

    @Test func pipelinedSmugglingAttemptIsOneResponse() throws {
        let server = try Self.server()
        defer { server.stop() }
        let smuggle =
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 45\r\n\r\nabcdGET /teapot HTTP/1.1\r\nHost: x\r\n\r\n"
        let reply = try RawReply.exchange(port: server.port, Array(smuggle.utf8), timeout: 5)
        Self.expectOneProblem(reply, 400)
        #expect(reply.messages.first?.json["field"] as? String == "Content-Length")
    }

    @Test func higherMinorVersionIsAnsweredAsHTTP11() throws {
        let server = try Self.server()
        defer { server.stop() }
        let reply = try RawReply.exchange(
            port: server.port, Array("GET /hello HTTP/1.2\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5)
        #expect(reply.messages.count == 1)
        #expect(reply.messages.first?.statusLine.hasPrefix("HTTP/1.1 200") == true)
        #expect(reply.messages.first.map { String(decoding: $0.body, as: UTF8.self) } == "hello")
    }

    @Test func hundredKilobyteHeaderAndURLGet431And414() throws {
        let server = try Self.server()
        defer { server.stop() }
        let header = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + String(repeating: "h", count: 100_000) + "\r\n\r\n"
        Self.expectOneProblem(try RawReply.exchange(port: server.port, Array(header.utf8), timeout: 5), 431, "100 kB header")
        let url = "GET /hello?q=" + String(repeating: "u", count: 100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n"
        Self.expectOneProblem(try RawReply.exchange(port: server.port, Array(url.utf8), timeout: 5), 414, "100 kB URL")
    }

    @Test func goodHeadsStillWork() throws {
        // Bare LF line ends, OWS around values, a chunked upload, HTTP/1.0 without Host.
        let server = try Self.server()
        defer { server.stop() }
        let lf = try RawReply.exchange(port: server.port, Array("GET /hello HTTP/1.1\nHost: x\nConnection: close\n\n".utf8), timeout: 5)
        #expect(lf.messages.map(\.status) == [200])
        let chunked = try RawReply.exchange(
            port: server.port,
            Array(
                "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:  chunked\r\nConnection: close\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"
                    .utf8),
            timeout: 5)
        #expect(chunked.messages.map(\.status) == [200])
        #expect(chunked.messages.first.map { String(decoding: $0.body, as: UTF8.self) } == "abc")
        let http10 = try RawReply.exchange(port: server.port, Array("GET /items/7?q=a%2Fb HTTP/1.0\r\n\r\n".utf8), timeout: 5)
        #expect(http10.messages.map(\.status) == [200])
        #expect(http10.messages.first.map { String(decoding: $0.body, as: UTF8.self) } == "item 7 q=a/b")
    }

    @Test func firstHeadMustArriveWithinTheDeadline() throws {
        let server = try Self.server { $0.headerDeadlineSeconds = 1 }
        defer { server.stop() }
        let s = try RawSocket(port: server.port, timeout: 5)
        let t0 = Date()
        s.send("GET /hello HTTP/1.1\r\nHo")
        let (bytes, end) = s.readToEnd()
        let elapsed = Date().timeIntervalSince(t0)
        #expect(end != .timeout)
        #expect(elapsed >= 0.9 && elapsed < 2.5, "closed after \(elapsed) s")
        let reply = RawReply(bytes, end: end)
        #expect(reply.messages.count <= 1)
        if let m = reply.messages.first { #expect(m.status == 408) }
        #expect(server.statistics.headerTimeoutCount == 1)
    }

    @Test func keptAliveConnectionMustSendItsNextHeadWithinTheDeadline() throws {
        let server = try Self.server { $0.headerDeadlineSeconds = 1 }
        defer { server.stop() }
        let s = try RawSocket(port: server.port, timeout: 5)
        s.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hel")
        let t0 = Date()
        let (bytes, end) = s.readToEnd()
        let elapsed = Date().timeIntervalSince(t0)
        #expect(end != .timeout)
        #expect(elapsed < 2.5, "closed after \(elapsed) s")
        #expect(RawReply(bytes, end: end).messages.map(\.status) == [200])
        #expect(server.statistics.headerTimeoutCount == 1)
    }

    @Test func slowBodyIsCutOff() throws {
        let server = try Self.server {
            $0.minBodyRateBytesPerSecond = 1000
            $0.bodyRateGraceSeconds = 1
        }
        defer { server.stop() }
        let s = try RawSocket(port: server.port, timeout: 0.2)
        s.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        let t0 = Date()
        var end = RawSocket.End.timeout
        // 10 bytes every 200 ms: 50 B/s, far under the minimum.
        while Date().timeIntervalSince(t0) < 6, end == .timeout {
            s.send(Array(repeating: UInt8(ascii: "x"), count: 10))
            end = s.readToEnd().end
        }
        let elapsed = Date().timeIntervalSince(t0)
        #expect(end != .timeout)
        #expect(elapsed > 0.9 && elapsed < 3, "closed after \(elapsed) s")
        #expect(server.statistics.bodyTimeoutCount == 1)
    }

    @Test func fastEnoughBodyIsNotCutOff() throws {
        let server = try Self.server {
            $0.minBodyRateBytesPerSecond = 100
            $0.bodyRateGraceSeconds = 0.5
        }
        defer { server.stop() }
        let s = try RawSocket(port: server.port, timeout: 5)
        s.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 600\r\nConnection: close\r\n\r\n")
        for _ in 0..<6 {  // 100 bytes every 100 ms: 1000 B/s
            s.send(Array(repeating: UInt8(ascii: "y"), count: 100))
            usleep(100_000)
        }
        let (bytes, end) = s.readToEnd()
        #expect(RawReply(bytes, end: end).messages.map(\.status) == [200])
        #expect(server.statistics.bodyTimeoutCount == 0)
    }

    @Test func aSlowHandlerIsNotASlowBody() throws {
        // The body deadline covers the client sending, not the handler working.
        let server = try ServerTests.makeServer(
            configure: {
                $0.minBodyRateBytesPerSecond = 1000
                $0.bodyRateGraceSeconds = 0.3
                $0.headerDeadlineSeconds = 0.5
            },
            routes: { r in
                r.get("/slow") { _ in
                    usleep(1_200_000)
                    return .text("done")
                }
            })
        defer { server.stop() }
        let reply = try RawReply.exchange(
            port: server.port, Array("GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), timeout: 5)
        #expect(reply.messages.map(\.status) == [200])
        #expect(server.statistics.bodyTimeoutCount == 0)
        #expect(server.statistics.headerTimeoutCount == 0)
    }

    @Test func perIPShareDefaultsToAnEighthOfTheLimit() {
        var c = ServerConfiguration()
        #expect(c.effectivePerIPConnectionLimit == 128)
        c.connectionLimit = 80
        #expect(c.effectivePerIPConnectionLimit == 10)
        c.perIPConnectionLimit = 0
        #expect(c.effectivePerIPConnectionLimit == 0)
    }

    @Test func scanIsIncompleteUntilTheEmptyLine() {
        let limits = HeadLimits()
        func scan(_ s: String) -> HeadScan {
            Array(s.utf8).withUnsafeBytes { RequestHead.scan($0, limits: limits) }
        }
        #expect(scan("GET / HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(scan("GET / HTTP/1.1\r\nHost: x\r\n\r\n") == .complete(length: 27, contentLength: 0))
        #expect(scan("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 12\r\n\r\nab") == .complete(length: 48, contentLength: 12))
        #expect(scan("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n") == .complete(length: 56, contentLength: nil))
    }
}

extension RawReply {
    /// The reply without its first response.
    func droppingFirst() -> RawReply {
        var r = self
        r.messages.removeFirst()
        return r
    }
}
