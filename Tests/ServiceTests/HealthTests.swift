import Foundation
import MicroHTTP
import TestSupport
import Testing
import Yams

@testable import Service

struct HealthTests {
    @Test func healthAndReadiness() throws {
        let t = try TestApp()
        let h = try t.request("GET", "/healthz")
        #expect(h.status == 200)
        #expect(h.text == #"{"status":"ok"}"#)
        #expect(h.header("Content-Type") == "application/json")
        let r = try t.request("GET", "/readyz")
        #expect(r.status == 200)
        #expect(r.json["status"] as? String == "ready")
    }

    @Test func metricsCountRequestsByRouteAndShowThePool() throws {
        let t = try TestApp()
        _ = try t.request("GET", "/healthz")
        _ = try t.request("GET", "/v1/experiments/0b6f0000-0000-0000-0000-000000000000")
        _ = try t.request("GET", "/nowhere")
        // A request is counted when libmicrohttpd reports it complete, which
        // may be a moment after the client has its response: scrape until then.
        var m = try t.request("GET", "/metrics")
        let deadline = Date().addingTimeInterval(2)
        while !(m.text.contains(#"route="/v1/experiments/{id}",method="GET",status="404"} 1"#)
            && m.text.contains(#"route="unmatched",method="GET",status="404"} 1"#)), Date() < deadline
        {
            Thread.sleep(forTimeInterval: 0.02)
            m = try t.request("GET", "/metrics")
        }
        #expect(m.status == 200)
        #expect(m.header("Content-Type")?.hasPrefix("text/plain") == true)
        let text = m.text
        #expect(text.contains(#"signalforge_http_requests_total{route="/healthz",method="GET",status="200"} 1"#))
        #expect(text.contains(#"signalforge_http_requests_total{route="/v1/experiments/{id}",method="GET",status="404"} 1"#))
        #expect(text.contains(#"signalforge_http_requests_total{route="unmatched",method="GET",status="404"} 1"#))
        #expect(text.contains("signalforge_http_request_duration_seconds_bucket{route=\"/healthz\""))
        #expect(text.contains("signalforge_db_pool_connections{state=\"idle\"}"))
        #expect(text.contains("signalforge_db_pool_checkouts_total"))
        #expect(text.contains("signalforge_db_pool_waits_total"))
        #expect(text.contains("signalforge_db_pool_checkout_wait_seconds_total"))
    }

    @Test func servesTheContractVerbatim() throws {
        let t = try TestApp()
        let r = try t.request("GET", "/openapi.yaml")
        #expect(r.status == 200)
        let file = try String(contentsOfFile: OpenAPIContractTests.specPath, encoding: .utf8)
        #expect(r.text == file)
    }

    /// /readyz follows PostgreSQL down and back up, without a restart.
    @Test func readinessFollowsTheDatabase() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let t = try TestApp(databaseURL: pg.url)
        #expect(try t.request("GET", "/readyz").status == 200)
        try pg.stop()
        var t0 = Date()
        var status = 0
        while Date().timeIntervalSince(t0) < 5 {
            status = try t.request("GET", "/readyz").status
            if status == 503 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(status == 503)
        #expect(Date().timeIntervalSince(t0) < 2, "503 came \(Date().timeIntervalSince(t0)) s after the stop")
        let down = try t.request("GET", "/readyz")
        #expect(down.header("Content-Type") == "application/problem+json")
        #expect(down.header("Retry-After") == "1")
        try pg.start()
        t0 = Date()
        while Date().timeIntervalSince(t0) < 5 {
            status = try t.request("GET", "/readyz").status
            if status == 200 { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(status == 200)
        #expect(Date().timeIntervalSince(t0) < 2, "200 came \(Date().timeIntervalSince(t0)) s after the start")
    }
}

struct OpenAPIContractTests {
    static var specPath: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("openapi/openapi.yaml").path
    }

    /// Every route is in the spec and every spec operation is a route.
    @Test func routesAndSpecAgree() throws {
        let t = try TestApp()
        let spec = try Yams.load(yaml: try String(contentsOfFile: Self.specPath, encoding: .utf8)) as? [String: Any]
        let paths = try #require(spec?["paths"] as? [String: Any])
        var specOps = Set<String>()
        let verbs = ["get", "post", "put", "patch", "delete"]
        for (path, item) in paths {
            for verb in verbs where (item as? [String: Any])?[verb] != nil { specOps.insert("\(verb.uppercased()) \(path)") }
        }
        let routeOps = Set(t.app.routes.map { "\($0.method) \($0.pattern)" })
        #expect(specOps.subtracting(routeOps).isEmpty, "in the spec but not routed: \(specOps.subtracting(routeOps).sorted())")
        #expect(routeOps.subtracting(specOps).isEmpty, "routed but not in the spec: \(routeOps.subtracting(specOps).sorted())")
        #expect(spec?["openapi"] as? String == "3.1.0")
    }
}
