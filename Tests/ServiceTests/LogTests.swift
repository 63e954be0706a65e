import Foundation
import Logging
import Pipeline
import Service
import Synchronization
import TestSupport
import Testing

/// Logs `lines` lines (every fifth a warning), `interval` apart.
struct LoggingStage: Stage {
    let name: String
    var lines = 50
    var interval = 0.0

    func run(_ context: StageContext) throws {
        for i in 0..<lines {
            try context.checkpoint()
            if i % 5 == 4 {
                context.logger.warning("line \(i)", metadata: ["i": "\(i)"])
            } else {
                context.logger.info("line \(i)", metadata: ["i": "\(i)"])
            }
            if interval > 0 { Thread.sleep(forTimeInterval: interval) }
        }
    }
}

/// Reads SSE events from a raw connection.
struct SSEReader {
    let connection: RawHTTPConnection
    var pending = ""

    /// Next complete event as (id, event, data); nil at the end of the stream.
    mutating func next() throws -> (id: Int64?, event: String, data: String)? {
        while true {
            if let range = pending.range(of: "\n\n") {
                let block = String(pending[..<range.lowerBound])
                pending.removeSubrange(..<range.upperBound)
                var id: Int64?
                var event = "message"
                var data = ""
                for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                    if line.hasPrefix(":") { continue }
                    if line.hasPrefix("id: ") { id = Int64(line.dropFirst(4)) }
                    if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data += line.dropFirst(6) }
                }
                if id == nil && data.isEmpty && event == "message" { continue }
                return (id, event, data)
            }
            guard let chunk = try connection.readChunk() else { return nil }
            pending += String(decoding: chunk, as: UTF8.self)
        }
    }
}

struct LogTests {
    @Test func historyFiltersAndPages() throws {
        let t = try TestApp(stages: StageRegistry([LoggingStage(name: "load", lines: 50), LoggingStage(name: "resample", lines: 10)]))
        let id = try t.create(body("logs", stages: ["load", "resample"]))
        try t.waitFor(id) { $0["status"] as? String == "succeeded" }

        let all = try t.request("GET", "/v1/experiments/\(id)/logs?limit=5000").json["items"] as? [[String: Any]] ?? []
        let messages = all.compactMap { $0["message"] as? String }
        #expect(messages.filter { $0.hasPrefix("line ") }.count == 60)
        let ids = all.compactMap { $0["id"] as? Int }
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        #expect(messages.contains("stage started"))
        #expect(messages.last == "experiment succeeded")
        let first = try #require(all.first { $0["message"] as? String == "line 0" })
        #expect(first["level"] as? String == "info")
        #expect(first["stage"] as? String == "load")
        #expect((first["fields"] as? [String: Any])?["i"] as? String == "0")

        let warnings = try t.request("GET", "/v1/experiments/\(id)/logs?level=warning&limit=5000").json["items"] as? [[String: Any]] ?? []
        #expect(warnings.count == 12)
        #expect(warnings.allSatisfy { $0["level"] as? String == "warning" })
        let resample = try t.request("GET", "/v1/experiments/\(id)/logs?stage=resample&limit=5000").json["items"] as? [[String: Any]] ?? []
        #expect(resample.filter { ($0["message"] as? String)?.hasPrefix("line ") == true }.count == 10)
        #expect(resample.allSatisfy { $0["stage"] as? String == "resample" })

        var paged: [Int] = []
        var cursor = "0"
        for _ in 0..<100 {
            let page = try t.request("GET", "/v1/experiments/\(id)/logs?limit=7&after=\(cursor)").json
            paged += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
            guard let next = page["next_cursor"] as? String else { break }
            cursor = next
        }
        #expect(paged == ids)

        // tail=N: the newest N lines, oldest first; with a filter too.
        let tail = try t.request("GET", "/v1/experiments/\(id)/logs?tail=3").json
        #expect((tail["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int } == Array(ids.suffix(3)))
        #expect(tail["next_cursor"] is NSNull)
        let loadTail = try t.request("GET", "/v1/experiments/\(id)/logs?tail=2&stage=load").json["items"] as? [[String: Any]] ?? []
        let loadIDs = all.filter { $0["stage"] as? String == "load" }.compactMap { $0["id"] as? Int }
        #expect(loadTail.compactMap { $0["id"] as? Int } == Array(loadIDs.suffix(2)))
        #expect(try t.request("GET", "/v1/experiments/\(id)/logs?tail=0").json["field"] as? String == "tail")
        #expect(try t.request("GET", "/v1/experiments/\(id)/logs?tail=2&after=5").json["field"] as? String == "tail")
        // tail with follow: those lines, then (the experiment being over) the end.
        let c = try RawHTTPConnection(port: t.port)
        c.sendRequest("GET", "/v1/experiments/\(id)/logs?follow=true&tail=2", headers: ["Accept": "application/x-ndjson"])
        _ = try c.readHead()
        var streamed = ""
        while let chunk = try c.readChunk() { streamed += String(decoding: chunk, as: UTF8.self) }
        let lines = streamed.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(lines.compactMap { $0["id"] as? Int } == Array(ids.suffix(2)))
        #expect(lines.last?["event"] as? String == "end")

        #expect(try t.request("GET", "/v1/experiments/\(id)/logs?level=loud").json["field"] as? String == "level")
        #expect(try t.request("GET", "/v1/experiments/\(id)/logs?stage=nap").json["field"] as? String == "stage")
        #expect(try t.request("GET", "/v1/experiments/\(id)/logs?after=-1").status == 400)
        #expect(try t.request("GET", "/v1/experiments/\(UUID().uuidString)/logs").status == 404)
    }

    @Test func sseFollowSeesLiveLinesThenTheEnd() throws {
        let t = try TestApp(stages: StageRegistry([LoggingStage(name: "load", lines: 40, interval: 0.01)]))
        let id = try t.create(body("follow", stages: ["load"]))
        let c = try RawHTTPConnection(port: t.port)
        c.sendRequest("GET", "/v1/experiments/\(id)/logs?follow=true", headers: ["Accept": "text/event-stream"])
        let head = try c.readHead()
        #expect(head.status == 200)
        #expect(head.header("Content-Type") == "text/event-stream")
        var reader = SSEReader(connection: c)
        var ids: [Int64] = []
        var lines = 0
        var end: String?
        while let e = try reader.next() {
            if e.event == "end" {
                end = e.data
                break
            }
            #expect(e.event == "log")
            if let id = e.id { ids.append(id) }
            if e.data.contains("\"message\":\"line ") { lines += 1 }
        }
        #expect(lines == 40)
        #expect(end == #"{"status":"succeeded"}"#)
        #expect(ids == ids.sorted() && Set(ids).count == ids.count)
        let stored = try t.request("GET", "/v1/experiments/\(id)/logs?limit=5000").json["items"] as? [[String: Any]] ?? []
        #expect(ids.count == stored.count)
    }

    /// A follower that drops and reconnects with Last-Event-ID sees every
    /// line exactly once.
    @Test func reconnectingWithLastEventIDLosesAndRepeatsNothing() throws {
        let t = try TestApp(stages: StageRegistry([LoggingStage(name: "load", lines: 120, interval: 0.005)]))
        let id = try t.create(body("reconnect", stages: ["load"]))
        var seen: [Int64] = []
        var ended = false
        var connections = 0
        while !ended, connections < 20 {
            connections += 1
            let c = try RawHTTPConnection(port: t.port)
            var headers = ["Accept": "text/event-stream"]
            if let last = seen.last { headers["Last-Event-ID"] = "\(last)" }
            c.sendRequest("GET", "/v1/experiments/\(id)/logs?follow=true", headers: headers)
            #expect(try c.readHead().status == 200)
            var reader = SSEReader(connection: c)
            var taken = 0
            while let e = try reader.next() {
                if e.event == "end" {
                    ended = true
                    break
                }
                if let eid = e.id { seen.append(eid) }
                taken += 1
                if taken == 25 { break }  // drop the connection mid-stream
            }
        }
        #expect(ended)
        #expect(connections > 2)
        #expect(Set(seen).count == seen.count, "a line came twice")
        let stored = (try t.request("GET", "/v1/experiments/\(id)/logs?limit=5000").json["items"] as? [[String: Any]] ?? [])
            .compactMap { ($0["id"] as? Int).map(Int64.init) }
        #expect(seen == stored, "lines missing or out of order")
    }

    @Test func ndjsonFollowOfAFinishedExperimentReplaysAndEnds() throws {
        let t = try TestApp(stages: StageRegistry([LoggingStage(name: "load", lines: 5)]))
        let id = try t.create(body("nd", stages: ["load"]))
        try t.waitFor(id) { $0["status"] as? String == "succeeded" }
        let r = try t.request("GET", "/v1/experiments/\(id)/logs?follow=true", headers: ["Accept": "application/x-ndjson"])
        #expect(r.status == 200)
        #expect(r.header("Content-Type") == "application/x-ndjson")
        let lines = r.text.split(separator: "\n").map(String.init)
        #expect(lines.last == #"{"event":"end","status":"succeeded"}"#)
        #expect(lines.filter { $0.contains("\"message\":\"line ") }.count == 5)
        for l in lines { #expect((try? JSONSerialization.jsonObject(with: Data(l.utf8))) != nil, "\(l)") }
    }
}
