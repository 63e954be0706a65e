import Foundation
import Hashing
import Logging
import PostgresClient
import Store
import TestSupport
import Testing

@testable import Service

/// CSV bodies and file-system checks for the datasets API.
private enum Upload {
    static let header = "timestamp,open,high,low,close,volume\n"

    /// `rows` valid bars from 2024-01-01T00:00:00Z, `step` seconds apart.
    static func csv(rows: Int, step: Int = 60, start: Int = 1_704_067_200) -> String {
        var s = header
        for i in 0..<rows {
            let p = 1.1 + Double(i % 7) * 0.001
            s += "\(start + i * step),\(p),\(p + 0.002),\(p - 0.002),\(p + 0.001),\(100 + i)\n"
        }
        return s
    }

    static func gzip(_ text: String) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
        p.arguments = ["-c", "-n"]
        let input = Pipe(), output = Pipe()
        p.standardInput = input
        p.standardOutput = output
        try p.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Array(data)
    }

    static func post(
        _ t: TestApp, _ body: [UInt8], query: String = "symbol=EURUSD&timeframe=1m", headers: [String: String] = [:]
    ) throws -> RawHTTPConnection.Response {
        var h = headers
        if h["Content-Type"] == nil { h["Content-Type"] = "text/csv" }
        return try httpRequest(port: t.port, "POST", "/v1/datasets?" + query, headers: h, body: body)
    }

    static func post(_ t: TestApp, _ text: String, query: String = "symbol=EURUSD&timeframe=1m") throws -> RawHTTPConnection.Response {
        try post(t, Array(text.utf8), query: query)
    }

    static func datasetsDirectory(_ t: TestApp) -> String { t.app.settings.dataDir + "/datasets" }

    /// Published files (not the `.incoming` folder).
    static func files(_ t: TestApp) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: datasetsDirectory(t))) ?? []).filter { $0 != ".incoming" }.sorted()
    }

    static func incoming(_ t: TestApp) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: datasetsDirectory(t) + "/.incoming")) ?? []
    }

    static func listed(_ t: TestApp, _ query: String = "") throws -> [[String: Any]] {
        try t.request("GET", "/v1/datasets" + query).json["items"] as? [[String: Any]] ?? []
    }

    static func waitUntil(_ timeout: Double = 5, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return condition()
    }
}

struct DatasetTests {
    @Test func uploadPlainAndGzipThenListShowAndDelete() throws {
        let t = try TestApp()
        let plain = Upload.csv(rows: 5)
        let r = try Upload.post(t, plain)
        #expect(r.status == 201, "\(r.text)")
        let ds = r.json
        let id = try #require(ds["id"] as? String)
        #expect(r.header("Location") == "/v1/datasets/\(id)")
        #expect(ds["symbol"] as? String == "EURUSD")
        #expect(ds["timeframe"] as? String == "1m")
        #expect(ds["format"] as? String == "csv")
        #expect(ds["row_count"] as? Int == 5)
        #expect(ds["size_bytes"] as? Int == plain.utf8.count)
        #expect(ds["sha256"] as? String == SHA256.hex(Array(plain.utf8)))
        #expect(ds["first_ts"] as? String == "2024-01-01T00:00:00.000000Z")
        #expect(ds["last_ts"] as? String == "2024-01-01T00:04:00.000000Z")
        let stored = try Data(contentsOf: URL(fileURLWithPath: Upload.datasetsDirectory(t) + "/\(id).csv"))
        #expect(Array(stored) == Array(plain.utf8))

        // gzip named by Content-Encoding, at 1h.
        let hourly = try Upload.gzip(Upload.csv(rows: 48, step: 3600))
        let g = try Upload.post(t, hourly, query: "symbol=GBPUSD&timeframe=1h", headers: ["Content-Encoding": "gzip"])
        #expect(g.status == 201, "\(g.text)")
        let gid = try #require(g.json["id"] as? String)
        #expect(g.json["format"] as? String == "csv.gz")
        #expect(g.json["row_count"] as? Int == 48)
        #expect(g.json["size_bytes"] as? Int == hourly.count)
        #expect(g.json["sha256"] as? String == SHA256.hex(hourly))
        #expect(g.json["last_ts"] as? String == "2024-01-02T23:00:00.000000Z")
        #expect(FileManager.default.fileExists(atPath: Upload.datasetsDirectory(t) + "/\(gid).csv.gz"))

        // gzip recognized by its magic bytes alone; timeframe names are case-sensitive (5M is no timeframe, 1M a month).
        let upper = try Upload.post(t, try Upload.gzip(Upload.csv(rows: 3, step: 300)), query: "symbol=USDJPY&timeframe=5M")
        #expect(upper.status == 400 && upper.json["field"] as? String == "timeframe", "\(upper.text)")
        let m = try Upload.post(t, try Upload.gzip(Upload.csv(rows: 3, step: 300)), query: "symbol=USDJPY&timeframe=5m")
        #expect(m.status == 201, "\(m.text)")
        #expect(m.json["format"] as? String == "csv.gz")
        #expect(m.json["timeframe"] as? String == "5m")
        let mid = try #require(m.json["id"] as? String)

        // Listed newest first; filtered; paged.
        #expect(try Upload.listed(t).compactMap { $0["id"] as? String } == [mid, gid, id])
        #expect(try Upload.listed(t, "?symbol=GBPUSD").compactMap { $0["id"] as? String } == [gid])
        #expect(try Upload.listed(t, "?timeframe=1m").compactMap { $0["id"] as? String } == [id])
        #expect(try Upload.listed(t, "?symbol=NOPE").isEmpty)
        var seen: [String] = []
        var cursor = ""
        for _ in 0..<5 {
            let page = try t.request("GET", "/v1/datasets?limit=1&cursor=\(cursor)").json
            seen += (page["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            guard let next = page["next_cursor"] as? String else { break }
            cursor = next
        }
        #expect(seen == [mid, gid, id])
        #expect(try t.request("GET", "/v1/datasets?cursor=garbage").status == 400)

        // Show.
        let shown = try t.request("GET", "/v1/datasets/\(gid)")
        #expect(shown.status == 200)
        #expect(shown.json["sha256"] as? String == SHA256.hex(hourly))
        #expect(try t.request("GET", "/v1/datasets/\(UUID().uuidString)").status == 404)
        #expect(try t.request("GET", "/v1/datasets/not-a-uuid").status == 404)

        // Delete: the row and the file go.
        #expect(try t.request("DELETE", "/v1/datasets/\(gid)").status == 204)
        #expect(!FileManager.default.fileExists(atPath: Upload.datasetsDirectory(t) + "/\(gid).csv.gz"))
        #expect(try t.request("GET", "/v1/datasets/\(gid)").status == 404)
        #expect(try t.request("DELETE", "/v1/datasets/\(gid)").status == 404)
        #expect(Upload.files(t) == ["\(id).csv", "\(mid).csv.gz"].sorted())
        #expect(Upload.incoming(t).isEmpty)
    }

    @Test func aBadFileIs422NamingTheLineAndLeavesNothingBehind() throws {
        let t = try TestApp()
        // low above the body on line 4.
        var bad = Upload.header
        bad += "2024-01-01T00:00:00Z,1.1,1.2,1.0,1.15,100\n"
        bad += "2024-01-01T00:01:00Z,1.1,1.2,1.0,1.15,100\n"
        bad += "2024-01-01T00:02:00Z,1.1,1.2,1.12,1.15,100\n"
        let r = try Upload.post(t, bad)
        #expect(r.status == 422)
        #expect(r.header("Content-Type") == "application/problem+json")
        #expect(r.json["field"] as? String == "body")
        #expect(r.json["line"] as? Int == 4)
        #expect((r.json["reason"] as? String)?.contains("low") == true)
        #expect((r.json["detail"] as? String)?.contains("line 4") == true)

        // The same inside gzip, with an unparseable number on line 3.
        let gz = try Upload.gzip(Upload.header + "1704067200,1,1,1,1,1\n1704067260,1,x,1,1,1\n")
        let g = try Upload.post(t, gz)
        #expect(g.status == 422)
        #expect(g.json["line"] as? Int == 3)
        #expect((g.json["reason"] as? String)?.contains("unparseable number") == true)

        // Timestamps off the declared timeframe's grid: line counted past a blank line and CRLFs.
        var hourly = "timestamp,open,high,low,close,volume\r\n\r\n"
        hourly += "2024-01-01T00:00:00Z,1,1,1,1,1\r\n"
        hourly += "\"2024-01-01T01:00:00Z\",1,1,1,1,1\r\n"
        hourly += "2024-01-01T01:30:00Z,1,1,1,1,1\r\n"
        let a = try Upload.post(t, hourly, query: "symbol=EURUSD&timeframe=1h")
        #expect(a.status == 422)
        #expect(a.json["line"] as? Int == 5, "\(a.text)")
        #expect((a.json["reason"] as? String)?.contains("not the open time of a 1h bar") == true)
        // The same rows are fine as 30m.
        #expect(try Upload.post(t, hourly, query: "symbol=EURUSD&timeframe=30m").status == 201)
        let goodID = try #require(try Upload.listed(t).first?["id"] as? String)

        // Misaligned inside gzip.
        let ga = try Upload.post(
            t, try Upload.gzip(Upload.csv(rows: 10, step: 60, start: 1_704_067_200 + 30)), query: "symbol=X&timeframe=1m")
        #expect(ga.status == 422)
        #expect(ga.json["line"] as? Int == 2)

        // A header and no rows; nothing at all; not gzip although declared so.
        #expect(try Upload.post(t, Upload.header).status == 422)
        let empty = try Upload.post(t, "")
        #expect(empty.status == 422)
        #expect(empty.json["line"] as? Int == 1)
        let liar = try Upload.post(t, Array(Upload.csv(rows: 2).utf8), headers: ["Content-Encoding": "gzip"])
        #expect(liar.status == 422)
        #expect(liar.json["field"] as? String == "body")
        // Damaged gzip.
        var damaged = try Upload.gzip(Upload.csv(rows: 200))
        damaged.removeLast(damaged.count / 2)
        #expect(try Upload.post(t, damaged).status == 422)

        // Only the good upload is left, in the folder and the table.
        #expect(Upload.files(t) == ["\(goodID).csv"])
        #expect(Upload.incoming(t).isEmpty)
        #expect(try Upload.listed(t).count == 1)
    }

    @Test func queryAndHeaderValidation() throws {
        let t = try TestApp()
        let body = Upload.csv(rows: 2)
        for (query, field) in [
            ("timeframe=1m", "symbol"), ("symbol=&timeframe=1m", "symbol"), ("symbol=EUR/USD&timeframe=1m", "symbol"),
            ("symbol=EURUSD", "timeframe"), ("symbol=EURUSD&timeframe=2m", "timeframe"),
        ] {
            let r = try Upload.post(t, body, query: query)
            #expect(r.status == 400, "\(query)")
            #expect(r.json["field"] as? String == field, "\(query): \(r.text)")
        }
        let tf = try Upload.post(t, body, query: "symbol=EURUSD&timeframe=2m")
        #expect((tf.json["allowed"] as? String)?.contains("15m") == true)
        let br = try Upload.post(t, Array(body.utf8), headers: ["Content-Encoding": "br"])
        #expect(br.status == 415)
        #expect(br.json["field"] as? String == "Content-Encoding")
        let form = try Upload.post(t, Array(body.utf8), headers: ["Content-Type": "multipart/form-data; boundary=x"])
        #expect(form.status == 415)
        #expect(try t.request("GET", "/v1/datasets?timeframe=7m").json["field"] as? String == "timeframe")
        #expect(try t.request("GET", "/v1/datasets?limit=0").status == 400)
        #expect(Upload.files(t).isEmpty)
        #expect(Upload.incoming(t).isEmpty)
        #expect(try Upload.listed(t).isEmpty)
    }

    @Test func tooLargeIs413AndLeavesNothingBehind() throws {
        // A short idle timeout: libmicrohttpd does not always see a client's EOF
        // in the middle of a body at once; the idle timeout always ends it.
        let t = try TestApp(configure: {
            $0.maxUploadBytes = 4096
            $0.idleTimeoutSeconds = 2
        })
        let big = Array(Upload.csv(rows: 300).utf8)
        #expect(big.count > 4096)

        // Declared too large: refused from the head.
        let declared = try Upload.post(t, big)
        #expect(declared.status == 413)
        #expect(declared.header("Content-Type") == "application/problem+json")

        // Chunked: the sink has started writing when the limit is crossed.
        let c = try RawHTTPConnection(port: t.port)
        c.send("POST /v1/datasets?symbol=EURUSD&timeframe=1m HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        var offset = 0
        while offset < big.count {
            let piece = Array(big[offset..<min(offset + 1000, big.count)])
            c.send(Array((String(piece.count, radix: 16) + "\r\n").utf8) + piece + Array("\r\n".utf8))
            offset += piece.count
        }
        c.send("0\r\n\r\n")
        let chunked = try c.readResponse(method: "POST")
        #expect(chunked.status == 413)
        #expect(Upload.waitUntil { Upload.incoming(t).isEmpty })

        // A client that goes away mid-body.
        do {
            let gone = try RawHTTPConnection(port: t.port)
            gone.send("POST /v1/datasets?symbol=EURUSD&timeframe=1m HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n\r\n")
            gone.send(Array(big[0..<1500]))
            #expect(Upload.waitUntil { !Upload.incoming(t).isEmpty })
            gone.disconnect()
        }
        // libmicrohttpd reports the aborted request when it reads the EOF, or at the latest at the idle timeout.
        #expect(Upload.waitUntil(15) { Upload.incoming(t).isEmpty }, "left behind: \(Upload.incoming(t))")

        #expect(Upload.files(t).isEmpty)
        #expect(try Upload.listed(t).isEmpty)

        // Under the limit is fine.
        let small = try Upload.post(t, Upload.csv(rows: 20))
        #expect(small.status == 201, "\(small.text)")
    }

    @Test func deleteIsRefusedWhileAnUnfinishedExperimentNamesTheDataset() throws {
        let t = try TestApp()
        let id = try #require(try Upload.post(t, Upload.csv(rows: 10)).json["id"] as? String)
        let experiment = try t.create(#"{"datasets":[{"symbol":"EURUSD","dataset_id":"\#(id)"}],"timeframes":["5m"]}"#)
        let refused = try t.request("DELETE", "/v1/datasets/\(id)")
        #expect(refused.status == 409)
        #expect((refused.json["experiments"] as? String)?.contains(experiment) == true)
        #expect(Upload.files(t) == ["\(id).csv"])

        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: t.databaseURL), logger: Logger(label: "test"))
        defer { conn.close() }
        let experimentID = try #require(UUID(uuidString: experiment))
        try conn.execute("UPDATE experiments SET status = 'cancelled', finished_at = now() WHERE id = \(experimentID)")
        #expect(try t.request("DELETE", "/v1/datasets/\(id)").status == 204)
        #expect(Upload.files(t).isEmpty)
    }

    @Test func scopes() throws {
        let t = try TestApp(tokens: TestTokens.file)
        let body = Array(Upload.csv(rows: 3).utf8)
        let denied = try Upload.post(t, body, headers: ["Authorization": "Bearer \(TestTokens.reader)"])
        #expect(denied.status == 403)
        let created = try Upload.post(t, body, headers: ["Authorization": "Bearer \(TestTokens.operatorToken)"])
        #expect(created.status == 201)
        let id = try #require(created.json["id"] as? String)
        #expect(try t.request("GET", "/v1/datasets").status == 401)
        #expect(try t.request("GET", "/v1/datasets", token: TestTokens.reader).status == 200)
        #expect(try t.request("DELETE", "/v1/datasets/\(id)", token: TestTokens.reader).status == 403)
        #expect(try t.request("DELETE", "/v1/datasets/\(id)", token: TestTokens.operatorToken).status == 204)
        #expect(Upload.incoming(t).isEmpty)
    }

    @Test func lineLocatorFollowsTheReader() throws {
        func line(_ text: String, _ record: Int64) throws -> Int? {
            let path = NSTemporaryDirectory() + "sf-locator-\(UUID().uuidString).csv"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            defer { unlink(path) }
            return try CSVLineLocator.line(ofRecord: record, path: path, isGzip: false)
        }
        let text = "\u{FEFF}\n\nt,o\r\n1,2\r\n\r\n3,\"a\nb\"\r\n4,5\r6,7\n"
        #expect(try line(text, 0) == 4)
        #expect(try line(text, 1) == 6)
        #expect(try line(text, 2) == 8)
        #expect(try line(text, 3) == 9)
        #expect(try line(text, 4) == nil)
    }
}
