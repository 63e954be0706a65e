import Foundation
import Pipeline
import Service
import TestSupport
import Testing

/// `Last-Event-ID` (and `after`) resume a log stream only from a plain decimal
/// log id; anything else is a 400 problem naming it. Raw bytes, so a NUL or a
/// trailing space reaches the server as sent.
struct LastEventIDTests {
    @Test func onlyPlainDecimalIDsAreAccepted() throws {
        let t = try TestApp(stages: StageRegistry([LoggingStage(name: "load", lines: 10)]))
        let id = try t.create(body("last-event-id", stages: ["load"]))
        try t.waitFor(id) { $0["status"] as? String == "succeeded" }
        let path = "/v1/experiments/\(id)/logs"

        func get(lastEventID: String) throws -> RawReply {
            let head = "GET \(path) HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \(lastEventID)\r\nConnection: close\r\n\r\n"
            return try RawReply.exchange(port: t.port, Array(head.utf8), timeout: 10)
        }

        for bad in ["5\0", "5 ", "+5", "0x5", "5a", "-5", "1e3", "99999999999999999999"] {
            let reply = try get(lastEventID: bad)
            #expect(reply.messages.count == 1, "\(bad.debugDescription)")
            #expect(reply.trailing.isEmpty)
            let m = try #require(reply.messages.first)
            #expect(m.status == 400, "\(bad.debugDescription): \(m.statusLine)")
            #expect(m.header("Content-Type") == "application/problem+json", "\(bad.debugDescription)")
            #expect(m.json["field"] as? String == "Last-Event-ID", "\(bad.debugDescription): \(m.json)")
        }
        let all = try t.request("GET", "\(path)?limit=5000").json["items"] as? [[String: Any]] ?? []
        let ids = all.compactMap { $0["id"] as? Int }
        try #require(ids.count > 3)
        let resumed = try get(lastEventID: "\(ids[2])")
        #expect(resumed.messages.first?.status == 200)
        let items = resumed.messages.first?.json["items"] as? [[String: Any]] ?? []
        #expect(items.compactMap { $0["id"] as? Int } == Array(ids.dropFirst(3)))

        for bad in ["5a", "+5", "0x5", "%205"] {
            let r = try t.request("GET", "\(path)?after=\(bad)")
            #expect(r.status == 400, "after=\(bad)")
            #expect(r.json["field"] as? String == "after", "after=\(bad)")
        }
    }
}

/// The edge's counters are in `/metrics`.
struct EdgeMetricsTests {
    @Test func refusalsAndTimeoutsAreCounted() throws {
        let t = try TestApp(stages: StageRegistry([]))
        let reply = try RawReply.exchange(port: t.port, Array("GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n".utf8))
        #expect(reply.messages.map(\.status) == [400])
        let metrics = try t.request("GET", "/metrics").text
        #expect(metrics.contains("signalforge_http_connections_timed_out_total{phase=\"headers\"} 0"))
        #expect(metrics.contains("signalforge_http_connections_timed_out_total{phase=\"body\"} 0"))
        #expect(metrics.contains("signalforge_http_connections_refused_total{reason=\"per_ip\"} 0"))
        #expect(metrics.contains("signalforge_http_malformed_requests_total 1"))
    }
}

struct EdgeSettingsTests {
    @Test func deadlineRateAndPerIPShareResolve() throws {
        let defaults = try Settings.resolve(flags: [:], environment: [:], configFile: nil)
        #expect(defaults.headerDeadlineSeconds == 10)
        #expect(defaults.minBodyRateBytesPerSecond == 1024)
        #expect(defaults.perIPConnectionLimit == nil)
        let s = try Settings.resolve(
            flags: ["per_ip_connection_limit": "16"],
            environment: ["SIGNALFORGE_HEADER_DEADLINE_S": "2.5", "SIGNALFORGE_MIN_BODY_RATE_BYTES_PER_S": "0"], configFile: nil)
        #expect(s.headerDeadlineSeconds == 2.5)
        #expect(s.minBodyRateBytesPerSecond == 0)
        #expect(s.perIPConnectionLimit == 16)
        #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: [:], environment: ["SIGNALFORGE_HEADER_DEADLINE_S": "soon"], configFile: nil)
        }
        #expect(throws: SettingsError.self) {
            try Settings.resolve(flags: [:], environment: ["SIGNALFORGE_HEADER_DEADLINE_S": "0"], configFile: nil)
        }
    }
}
