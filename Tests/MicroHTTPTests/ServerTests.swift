import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import MicroHTTP

/// Counts the bytes of a streamed upload.
final class CountingSink: BodySink {
    let state = Mutex<(bytes: Int, aborted: Bool, finished: Bool)>((0, false, false))
    func write(_ chunk: UnsafeRawBufferPointer) throws { state.withLock { $0.bytes += chunk.count } }
    func finish() throws -> Response {
        let n = state.withLock { s -> Int in
            s.finished = true
            return s.bytes
        }
        return .text("received \(n)")
    }
    func abort() { state.withLock { $0.aborted = true } }
}

struct Teapot: HTTPResponseError {
    var response: Response { .problem(418, "I am a teapot") }
}
struct Opaque: Error {}

/// Real servers on loopback, port 0.
struct ServerTests {
    static func makeServer(
        configure: (inout ServerConfiguration) -> Void = { _ in }, logs: LogCapture = LogCapture(),
        routes: (inout Router) -> Void = { _ in }
    ) throws -> HTTPServer {
        var router = Router()
        router.get("/hello") { _ in .text("hello") }
        router.get("/items/{id}") { req in .text("item \(req.parameter("id")) q=\(req.query["q"] ?? "-")") }
        router.post("/echo") { req in Response(status: 200, headers: ["Content-Type": "application/octet-stream"], body: req.body) }
        router.get("/teapot") { _ in throw Teapot() }
        router.get("/boom") { _ in throw Opaque() }
        routes(&router)
        var config = ServerConfiguration()
        config.port = 0
        config.threads = 2
        configure(&config)
        let server = HTTPServer(configuration: config, routes: router.freeze(), logger: logs.logger(level: .info))
        try server.start()
        return server
    }

    @Test func servesAndKeepsAlive() throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let c = try RawHTTPConnection(port: server.port)
        for _ in 0..<3 {
            let r = try c.request("GET", "/hello")
            #expect(r.status == 200)
            #expect(r.text == "hello")
            #expect(r.header("Connection")?.lowercased() != "close")
        }
    }

    @Test func pathParametersAndDecodedQuery() throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let r = try httpRequest(port: server.port, "GET", "/items/a%20b?q=x%26y")
        #expect(r.status == 200)
        #expect(r.text == "item a b q=x&y")
    }

    @Test func notFoundIsAProblem() throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let r = try httpRequest(port: server.port, "GET", "/nope")
        #expect(r.status == 404)
        #expect(r.header("Content-Type") == "application/problem+json")
        #expect(r.json["status"] as? Int == 404)
        #expect((r.json["detail"] as? String)?.contains("/nope") == true)
    }

    @Test func wrongMethodIs405WithAllow() throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let r = try httpRequest(port: server.port, "DELETE", "/echo")
        #expect(r.status == 405)
        #expect(r.header("Allow") == "POST")
        #expect(r.header("Content-Type") == "application/problem+json")
    }

    @Test func bodyIsEchoed() throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let payload = (0..<100_000).map { UInt8($0 % 251) }
        let r = try httpRequest(port: server.port, "POST", "/echo", body: payload)
        #expect(r.status == 200)
        #expect(r.body == payload)
    }

    @Test func oversizedBodyIs413WithoutReadingIt() throws {
        let server = try Self.makeServer(configure: { $0.maxBodySize = 1024 })
        defer { server.stop() }
        let c = try RawHTTPConnection(port: server.port)
        // Announce 10 MB but send only the head: the answer must come anyway.
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 413)
        #expect(r.header("Content-Type") == "application/problem+json")
        #expect(r.json["limit"] as? String == "1024")
        #expect(c.isClosedByPeer())
    }

    @Test func oversizedChunkedBodyIs413() throws {
        let server = try Self.makeServer(configure: { $0.maxBodySize = 1024 })
        defer { server.stop() }
        let c = try RawHTTPConnection(port: server.port)
        c.send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let chunk = String(repeating: "z", count: 800)
        for _ in 0..<3 { c.send(String(800, radix: 16) + "\r\n" + chunk + "\r\n") }
        c.send("0\r\n\r\n")
        let r = try c.readResponse()
        #expect(r.status == 413)
    }

    @Test func streamedUploadReachesTheSink() throws {
        let sinks = Mutex<[CountingSink]>([])
        let server = try Self.makeServer(routes: { r in
            r.post(
                "/upload",
                body: .stream(
                    limit: 8 << 20,
                    makeSink: { _ in
                        let s = CountingSink()
                        sinks.withLock { $0.append(s) }
                        return s
                    })
            ) { _ in .text("unused") }
        })
        defer { server.stop() }
        let payload = [UInt8](repeating: 7, count: 5 << 20)
        let r = try httpRequest(port: server.port, "POST", "/upload", body: payload)
        #expect(r.status == 200)
        #expect(r.text == "received \(5 << 20)")
        #expect(sinks.withLock { $0.first?.state.withLock { $0.finished } } == true)

        // Over the route's limit: 413, and the sink is told to discard.
        let c = try RawHTTPConnection(port: server.port)
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        let block = String(repeating: "q", count: 1 << 20)
        for _ in 0..<9 { c.send(String(block.utf8.count, radix: 16) + "\r\n" + block + "\r\n") }
        c.send("0\r\n\r\n")
        let over = try c.readResponse()
        #expect(over.status == 413)
        #expect(sinks.withLock { $0.count } == 2)
        #expect(sinks.withLock { $0.last?.state.withLock { $0.aborted } } == true)
    }

    @Test func handlerErrorsMapToProblems() throws {
        let logs = LogCapture()
        let server = try Self.makeServer(logs: logs)
        defer { server.stop() }
        let teapot = try httpRequest(port: server.port, "GET", "/teapot")
        #expect(teapot.status == 418)
        let boom = try httpRequest(port: server.port, "GET", "/boom")
        #expect(boom.status == 500)
        #expect(boom.json["detail"] as? String == "internal error; the server log has the details")
        #expect(logs.messages("unhandled error").count == 1)
    }

    @Test func accessLogHasOneLinePerRequest() throws {
        let logs = LogCapture()
        let server = try Self.makeServer(logs: logs)
        let c = try RawHTTPConnection(port: server.port)
        _ = try c.request("GET", "/hello")
        _ = try c.request("GET", "/nope")
        server.stop()
        let lines = logs.messages("request")
        #expect(lines.count == 2)
        #expect(lines.first?.metadata["method"] == "GET")
        #expect(lines.first?.metadata["path"] == "/hello")
        #expect(lines.first?.metadata["status"] == "200")
        #expect(lines.first?.metadata["bytes"] == "5")
        #expect(Int(lines.first?.metadata["us"] ?? "") != nil)
        #expect(lines.last?.metadata["status"] == "404")
    }

    @Test func idleStreamWaitsWithoutBurningCPU() throws {
        let server = try Self.makeServer(routes: { r in
            r.get("/stream") { _ in
                let stream = ResponseStream()
                stream.write("first\n")
                Thread.detachNewThread {
                    Thread.sleep(forTimeInterval: 1.0)
                    stream.write("second\n")
                    stream.finish()
                }
                return Response(status: 200, headers: ["Content-Type": "application/x-ndjson"], body: .stream(stream))
            }
        })
        defer { server.stop() }
        let c = try RawHTTPConnection(port: server.port)
        c.sendRequest("GET", "/stream")
        let head = try c.readHead()
        #expect(head.status == 200)
        #expect(head.header("Transfer-Encoding")?.lowercased() == "chunked")
        let first = try c.readChunk()
        #expect(first.map { String(decoding: $0, as: UTF8.self) } == "first\n")
        let cpuBefore = threadCPUSeconds(namePrefix: "MHD")
        #expect(cpuBefore.threads >= 2, "libmicrohttpd's threads should be visible by name")
        let t0 = Date()
        let second = try c.readChunk()
        let waited = Date().timeIntervalSince(t0)
        let cpu = threadCPUSeconds(namePrefix: "MHD").seconds - cpuBefore.seconds
        #expect(second.map { String(decoding: $0, as: UTF8.self) } == "second\n")
        #expect(waited > 0.8)
        // A busy-polling server would burn ~1 CPU-second here (all servers' MHD threads are counted).
        #expect(cpu < 0.25, "CPU used while the stream waited: \(cpu) s")
        #expect(try c.readChunk() == nil)
    }

    @Test func stopEndsSuspendedStreams() throws {
        let closed = Mutex(false)
        let server = try Self.makeServer(
            configure: { $0.shutdownGraceSeconds = 3 },
            routes: { r in
                r.get("/forever") { _ in
                    let stream = ResponseStream()
                    stream.onClose { closed.withLock { $0 = true } }
                    return Response(status: 200, body: .stream(stream))
                }
            })
        let c = try RawHTTPConnection(port: server.port)
        c.sendRequest("GET", "/forever")
        _ = try c.readHead()
        Thread.sleep(forTimeInterval: 0.2)
        #expect(server.openStreams == 1)
        let t0 = Date()
        server.stop()
        #expect(Date().timeIntervalSince(t0) < 2.5)
        #expect(try c.readChunk() == nil)
        #expect(closed.withLock { $0 })
    }

    @Test func perIPLimitRefusesExtraConnections() throws {
        let server = try Self.makeServer(configure: { $0.perIPConnectionLimit = 2 })
        defer { server.stop() }
        let a = try RawHTTPConnection(port: server.port)
        let b = try RawHTTPConnection(port: server.port)
        #expect(try a.request("GET", "/hello").status == 200)
        #expect(try b.request("GET", "/hello").status == 200)
        let c = try RawHTTPConnection(port: server.port, timeout: 2)
        c.sendRequest("GET", "/hello")
        let refused = try c.readResponse()
        #expect(refused.status == 503)
        #expect(refused.header("Content-Type") == "application/problem+json")
        #expect(refused.header("Connection") == "close")
        #expect((refused.json["detail"] as? String)?.contains("share of 2 connections") == true)
        #expect(c.isClosedByPeer())
        #expect(server.statistics.refusedPerIPCount == 1)
    }

    @Test func idleConnectionsAreClosed() throws {
        let server = try Self.makeServer(configure: { $0.idleTimeoutSeconds = 1 })
        defer { server.stop() }
        let c = try RawHTTPConnection(port: server.port, timeout: 5)
        #expect(try c.request("GET", "/hello").status == 200)
        let t0 = Date()
        #expect(c.isClosedByPeer())
        #expect(Date().timeIntervalSince(t0) < 4)
    }

    @Test func headAnswersWithoutBody() throws {
        let server = try Self.makeServer()
        defer { server.stop() }
        let c = try RawHTTPConnection(port: server.port)
        let r = try c.request("HEAD", "/hello")
        #expect(r.status == 200)
        #expect(r.header("Content-Length") == "5")
        #expect(try c.request("GET", "/hello").text == "hello")
    }
}
