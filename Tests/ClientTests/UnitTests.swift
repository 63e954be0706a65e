import Foundation
import Hashing
import Testing

@testable import SignalForgeClient

/// The client's pure parts, without a server.
struct SSEParserTests {
    static let stream =
        "id: 7\nevent: log\ndata: {\"id\":7}\n\n: keep-alive\n\r\nid: 8\r\nevent: log\r\ndata: a\r\ndata: b\r\n\r\nevent: end\rdata: {\"status\":\"succeeded\"}\r\rretry: 1500\n\n"

    static let expected = [
        ServerSentEvent(id: "7", event: "log", data: "{\"id\":7}"),
        ServerSentEvent(id: "8", event: "log", data: "a\nb"),
        ServerSentEvent(id: nil, event: "end", data: "{\"status\":\"succeeded\"}"),
    ]

    @Test func wholeStream() {
        var p = ServerSentEventParser()
        #expect(p.feed(Array(Self.stream.utf8)) == Self.expected)
        #expect(p.retryMilliseconds == 1500)
    }

    /// Any split of the bytes gives the same events (CR at a chunk's end included).
    @Test(arguments: [1, 2, 3, 5, 7, 13])
    func chunked(size: Int) {
        var p = ServerSentEventParser()
        let bytes = Array(Self.stream.utf8)
        var events: [ServerSentEvent] = []
        var i = 0
        while i < bytes.count {
            events += p.feed(bytes[i..<min(bytes.count, i + size)])
            i += size
        }
        #expect(events == Self.expected)
    }

    /// A connection that breaks mid-event: the partial event is never dispatched.
    @Test func partialEventIsDropped() {
        var p = ServerSentEventParser()
        #expect(p.feed(Array("id: 9\nevent: log\ndata: {\"id\":9}\n".utf8)).isEmpty)
        p.reset()
        #expect(p.feed(Array("id: 9\nevent: log\ndata: x\n\n".utf8)) == [ServerSentEvent(id: "9", event: "log", data: "x")])
    }
}

struct JSONValueTests {
    @Test func roundTripKeepsOrderAndNumbers() throws {
        let text = #"{"b":1.50,"a":[true,false,null,"x\"y\n\u00e9\ud83d\ude00"],"c":{"z":-2e-7,"y":{}},"d":[]}"#
        let v = try JSONValue.parse(text)
        #expect(v.compact == #"{"b":1.50,"a":[true,false,null,"x\"y\né😀"],"c":{"z":-2e-7,"y":{}},"d":[]}"#)
        #expect(v["b"]?.double == 1.5)
        #expect(v["c"]?["z"]?.cell == "-2e-7")
        #expect(try JSONValue.parse(v.pretty) == v)
    }

    @Test func syntaxErrorsSayWhere() {
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("{\"a\":}") }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("[1,2") }
        #expect(throws: JSONSyntaxError.self) { try JSONValue.parse("{} x") }
    }

    @Test func cells() throws {
        #expect(JSONValue.null.cell == "")
        #expect(JSONValue.strings(["a", "b"]).cell == "a;b")
        #expect(try JSONValue.parse(#"{"k":[1]}"#).cell == #"{"k":[1]}"#)
    }
}

struct OutputTests {
    @Test func csvQuoting() {
        #expect(CSV.row(["a", "b,c", "say \"hi\"", "x\ny", ""]) == "a,\"b,c\",\"say \"\"hi\"\"\",\"x\ny\",")
    }

    @Test func sparkline() {
        #expect(Sparkline.render([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█")
        #expect(Sparkline.render([1, nil, 1]) == "▅ ▅")
        #expect(Sparkline.render((0..<100).map(Double.init), width: 10).count == 10)
        #expect(Sparkline.render([]) == "")
    }

    @Test func contentRangeAndDigest() {
        #expect(Download.parseContentRange("bytes 100-199/1000")! == (100, 199, 1000))
        #expect(Download.parseContentRange("bytes */1000")! == (nil, nil, 1000))
        #expect(Download.parseContentRange("items 1-2/3") == nil)
        let hex = String(repeating: "ab", count: 32)
        #expect(Download.digest(inETag: "\"\(hex)\"") == hex)
        #expect(Download.digest(inETag: "\"1a-2b\"") == nil)
        #expect(Download.digest(inETag: "W/\"\(hex)\"") == nil)
    }

    @Test func timestamps() {
        #expect(Timestamp.parse("1970-01-01T00:00:00Z") == 0)
        #expect(Timestamp.parse("2024-02-29T12:00:00.5Z") == 1_709_208_000.5)
        #expect(Timestamp.parse("2024-02-29T13:00:00+01:00") == 1_709_208_000)
        #expect(Timestamp.parse("yesterday") == nil)
    }

    static func snapshot(status: String) throws -> WatchSnapshot {
        let experiment = try JSONValue.parse(
            #"{"id":"0b6f0000-0000-0000-0000-000000000001","name":"fx","status":"\#(status)","percent":33.3,"stage":"resample","started_at":"2024-01-01T00:00:00Z","finished_at":null,"error":null}"#
        )
        let tree = ProgressNode(
            path: "pipeline", kind: "pipeline", name: "pipeline", status: "running", percent: 40,
            children: [
                ProgressNode(
                    path: "pipeline/load", kind: "stage", name: "load", status: "completed", unitsDone: 10, unitsTotal: 10, percent: 100),
                ProgressNode(
                    path: "pipeline/resample", kind: "stage", name: "resample", status: "running", unitsDone: 50, unitsTotal: 100,
                    percent: 50, rate: 1200, etaSeconds: 12,
                    children: [
                        ProgressNode(
                            path: "pipeline/resample/ticks", kind: "step", name: "ticks", status: "running", unitsDone: 50, unitsTotal: 100,
                            percent: 50)
                    ]),
                ProgressNode(path: "pipeline/merge", kind: "stage", name: "merge", status: "pending"),
            ])
        let log = try JSONValue.parse(
            #"{"id":42,"ts":"2024-01-01T00:00:01.250000Z","level":"info","stage":"resample","message":"tick 49","fields":{}}"#)
        return WatchSnapshot(experiment: experiment, tree: tree, log: log)
    }

    @Test func progressTree() throws {
        let lines = WatchRenderer.treeLines(try Self.snapshot(status: "running"), width: 200, colors: false)
        #expect(lines[0].hasPrefix("fx 0b6f0000-0000-0000-0000-000000000001  running  40.0%"))
        #expect(lines[1] == "├─ load      ✔ completed")
        #expect(lines[2] == "├─ resample  " + WatchRenderer.bar(50) + "  50.0%  1.2k/s  ETA 12s  running")
        #expect(lines[3] == "│  └─ ticks  50/100  50.0%")
        #expect(lines[4] == "└─ merge     · pending")
        #expect(lines[5] == "› 00:00:01.250 info resample: tick 49")
        #expect(WatchRenderer.bar(50, width: 4) == "▕██░░▏")
        let narrow = WatchRenderer.treeLines(try Self.snapshot(status: "running"), width: 20, colors: true)
        #expect(narrow.allSatisfy { WatchRenderer.visibleTruncate($0, 1000).replacingOccurrences(of: "\u{1B}[", with: "").count > 0 })
        #expect(narrow.contains { $0.contains("\u{1B}[") }, "colours when asked")
    }

    @Test func plainLineAndChangeKey() throws {
        let s = try Self.snapshot(status: "running")
        let line = WatchRenderer.plainLine(s)
        #expect(line.hasSuffix(" running 40.0% resample 50.0% (ticks 50/100, 1.2k/s  ETA 12s) | info resample: tick 49"))
        var later = s
        later.tree?.children[1].rate = 900
        #expect(WatchRenderer.changeKey(later) == WatchRenderer.changeKey(s), "a new rate alone is no change")
        later.tree?.children[1].percent = 51
        #expect(WatchRenderer.changeKey(later) != WatchRenderer.changeKey(s))
    }

    @Test func visibleTruncation() {
        #expect(WatchRenderer.visibleTruncate("abcdef", 3) == "abc")
        #expect(WatchRenderer.visibleTruncate("\u{1B}[1mabcdef\u{1B}[0m", 3) == "\u{1B}[1mabc\u{1B}[0m\u{1B}[0m")
    }

    @Test func problemMessages() {
        let e = ClientError.problem(
            status: 409,
            body: Array(#"{"type":"about:blank","title":"Conflict","status":409,"detail":"cannot pause","current_state":"paused"}"#.utf8))
        #expect(e.message == "cannot pause (HTTP 409 Conflict)\n  current state: paused")
        #expect(e.exitCode == 4)
        let html = ClientError.problem(status: 502, body: Array("<html>bad gateway</html>".utf8))
        #expect(html.message == "<html>bad gateway</html> (HTTP 502 Bad Gateway)")
        #expect(ClientError.transport("x").exitCode == 5)
    }
}

/// The client shows what the server says an experiment allows, not rules of its own.
struct AllowedActionsTests {
    @Test func theServersAllowedActionsArePrinted() throws {
        let paused = try JSONValue.parse(Array(#"{"id":"x","status":"paused","allowed_actions":["resume","cancel"]}"#.utf8))
        #expect(ExperimentView.allowedActions(paused) == "resume, cancel")
        #expect(ExperimentView.detail(paused, colors: false).contains("actions   resume, cancel"))
        let done = try JSONValue.parse(Array(#"{"id":"x","status":"succeeded","allowed_actions":[]}"#.utf8))
        #expect(ExperimentView.allowedActions(done) == "none")
        let old = try JSONValue.parse(Array(#"{"id":"x","status":"running"}"#.utf8))
        #expect(ExperimentView.allowedActions(old) == nil)
    }
}
