import Foundation
import MarketData
import Pipeline
import Stages
import TestSupport
import Testing

@testable import Service

/// Uploads metered while they stream: the upload limit counts decompressed
/// bytes, lines have a length limit, bodies in another charset are 415, and
/// the regression corpus of malformed files.
struct UploadLimitTests {
    static let header = "timestamp,open,high,low,close,volume\n"

    /// `rows` valid 1m bars from 2024-01-01T00:00:00Z.
    static func csv(rows: Int) -> String {
        var s = header
        for i in 0..<rows {
            let p = 1.1 + Double(i % 7) * 0.001
            s += "\(1_704_067_200 + i * 60),\(p),\(p + 0.002),\(p - 0.002),\(p + 0.001),\(100 + i)\n"
        }
        return s
    }

    /// gzip through zlib (one member).
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        let writer = try GzipWriter(level: 6)
        bytes.withUnsafeBytes { raw in writer.write(raw, finish: true) { out.append(contentsOf: $0) } }
        return out
    }

    static func post(
        _ t: TestApp, _ body: [UInt8], query: String = "symbol=EURUSD&timeframe=1m", contentType: String = "text/csv"
    ) throws -> RawHTTPConnection.Response {
        try httpRequest(port: t.port, "POST", "/v1/datasets?" + query, headers: ["Content-Type": contentType], body: body)
    }

    /// Nothing published, nothing half-written, nothing listed.
    static func nothingLeft(_ t: TestApp) throws -> Bool {
        let dir = t.app.settings.dataDir + "/datasets"
        let published = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0 != ".incoming" }
        let incoming = (try? FileManager.default.contentsOfDirectory(atPath: dir + "/.incoming")) ?? []
        let listed = try t.request("GET", "/v1/datasets").json["items"] as? [[String: Any]] ?? []
        return published.isEmpty && incoming.isEmpty && listed.isEmpty
    }

    @Test func aBodyInAnotherCharsetIs415() throws {
        let t = try TestApp()
        let body = Array(Self.csv(rows: 3).utf8)
        for type in [
            "text/csv; charset=utf-16", "text/csv;charset=UTF-16LE", "text/csv; charset=\"iso-8859-1\"", "text/plain; charset=latin1",
        ] {
            let r = try Self.post(t, body, contentType: type)
            #expect(r.status == 415, "\(type): \(r.text)")
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(r.json["field"] as? String == "Content-Type", "\(type)")
            #expect((r.json["detail"] as? String)?.contains("charset") == true, "\(type)")
        }
        #expect(try Self.nothingLeft(t))
        var accepted = 0
        for type in ["text/csv", "text/csv; charset=utf-8", "text/csv; charset=\"UTF-8\"", "text/csv; header=present; charset=us-ascii"] {
            let r = try Self.post(t, body, query: "symbol=S\(accepted)&timeframe=1m", contentType: type)
            #expect(r.status == 201, "\(type): \(r.text)")
            accepted += 1
        }
    }

    @Test func aLineOverTheLimitIs422NamingItPlainOrGzip() throws {
        let t = try TestApp(configure: { $0.maxLineBytes = 4096 })
        // Line 3 is 5000 bytes long.
        let long = Self.header + "1704067200,1.1,1.2,1.0,1.15,100\n" + "1704067260," + String(repeating: "1", count: 5000) + ",1,1,1,1\n"
        for (name, body) in [("plain", Array(long.utf8)), ("gzip", try Self.gzip(Array(long.utf8)))] {
            let r = try Self.post(t, body)
            #expect(r.status == 422, "\(name): \(r.text)")
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(r.json["field"] as? String == "body", "\(name)")
            #expect(r.json["line"] as? Int == 3, "\(name): \(r.text)")
            #expect((r.json["reason"] as? String)?.contains("longer than the limit of 4096 bytes") == true, "\(name): \(r.text)")
        }
        // 10 MiB of one gzip line: refused while it streams, long before the end.
        var huge = Array((Self.header + "1704067200,").utf8)
        huge += [UInt8](repeating: UInt8(ascii: "7"), count: 10 << 20)
        let bomb = try Self.gzip(huge)
        #expect(bomb.count < 64 << 10)
        let r = try Self.post(t, bomb)
        #expect(r.status == 422, "\(r.text)")
        #expect(r.json["line"] as? Int == 2)
        #expect(try Self.nothingLeft(t))
        // Lines within the limit are fine.
        #expect(try Self.post(t, Array(Self.csv(rows: 50).utf8)).status == 201)
    }

    @Test func theUploadLimitCountsDecompressedBytes() throws {
        let t = try TestApp(configure: { $0.maxUploadBytes = 64 << 10 })
        let rows = Self.csv(rows: 4000)  // ~160 KiB, a few KiB gzipped
        let packed = try Self.gzip(Array(rows.utf8))
        #expect(packed.count < 64 << 10)
        #expect(rows.utf8.count > 64 << 10)
        let r = try Self.post(t, packed)
        #expect(r.status == 413, "\(r.text)")
        #expect(r.header("Content-Type") == "application/problem+json")
        #expect(r.json["field"] as? String == "body")
        #expect(r.json["limit"] as? Int == 64 << 10)
        // The limit is passed on the line holding byte 65,537.
        let prefix = rows.utf8.prefix((64 << 10) + 1)
        let expectedLine = prefix.filter { $0 == 10 }.count + 1
        #expect(r.json["line"] as? Int == expectedLine, "\(r.text)")
        #expect((r.json["detail"] as? String)?.contains("decompressed") == true)
        #expect(try Self.nothingLeft(t))
        // Under the limit once decompressed: stored.
        let small = try Self.post(t, try Self.gzip(Array(Self.csv(rows: 500).utf8)))
        #expect(small.status == 201, "\(small.text)")
    }

    /// Every malformed file of `Corpus/uploads` (listed with its expected
    /// answer in `expected.tsv`) is refused as listed and leaves nothing behind.
    @Test func uploadCorpus() throws {
        let folder = try #require(Bundle.module.resourceURL?.appendingPathComponent("Corpus/uploads"))
        let manifest = try String(contentsOf: folder.appendingPathComponent("expected.tsv"), encoding: .utf8)
        let cases = manifest.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map {
            $0.split(separator: "\t").map(String.init)
        }
        #expect(cases.count >= 20)
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0 != "expected.tsv" }
        #expect(Set(files) == Set(cases.map { $0[0] }), "every corpus file has an expectation")
        let t = try TestApp(configure: { $0.maxLineBytes = 1024 })
        for c in cases {
            let body = try [UInt8](Data(contentsOf: folder.appendingPathComponent(c[0])))
            let r = try Self.post(t, body)
            #expect(r.status == Int(c[1]), "\(c[0]): \(r.text)")
            #expect(r.header("Content-Type") == "application/problem+json", "\(c[0])")
            #expect(r.json["field"] as? String == "body", "\(c[0]): \(r.text)")
            if c[2] == "-" {
                #expect(r.json["line"] == nil, "\(c[0]): \(r.text)")
            } else {
                #expect(r.json["line"] as? Int == Int(c[2]), "\(c[0]): \(r.text)")
            }
            #expect((r.json["reason"] as? String)?.contains(c[3]) == true, "\(c[0]): \(r.text)")
        }
        #expect(try Self.nothingLeft(t))
    }

    /// The load stage reads files with the same checks: a bad price fails
    /// the experiment naming the file, the line and the reason.
    @Test func theLoadStageRefusesNonPositivePrices() throws {
        let t = try TestApp(stages: StageRegistry(MarketDataStages.all))
        let folder = try #require(Bundle.module.resourceURL?.appendingPathComponent("Corpus/uploads"))
        let dir = t.app.settings.dataDir + "/bad"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            atPath: folder.appendingPathComponent("negative-prices.csv").path, toPath: dir + "/negative-prices.csv")
        let id = try t.create(#"{"datasets":[{"symbol":"A","path":"bad/negative-prices.csv"}],"stages":["load"]}"#)
        let done = try t.waitFor(id, timeout: 30) { ["succeeded", "failed"].contains($0["status"] as? String ?? "") }
        #expect(done["status"] as? String == "failed")
        let error = done["error"] as? String ?? ""
        #expect(error.contains("bad/negative-prices.csv:4: open -1.0 is not a positive price"), "\(error)")
    }

    @Test func theMeterCountsLinesAsTheReaderDoes() throws {
        func lines(_ chunks: [String], limit: Int = 100) throws -> Int {
            var m = UploadMeter(maxBytes: 1 << 20, maxLineBytes: limit)
            for c in chunks { try Array(c.utf8).withUnsafeBytes { try m.count($0) } }
            return m.line
        }
        #expect(try lines(["a\nb\nc"]) == 3)
        #expect(try lines(["a\r\nb\r\n"]) == 3)
        #expect(try lines(["a\r", "\nb\r", "\n"]) == 3)  // CRLF split across chunks
        #expect(try lines(["a\rb\rc"]) == 3)  // CR alone
        #expect(try lines(["\n\n\r\n\r\r"]) == 6)
        // The line limit excludes the line end and names the line.
        #expect(try lines([String(repeating: "x", count: 100) + "\n"]) == 2)
        var m = UploadMeter(maxBytes: 1 << 20, maxLineBytes: 100)
        try Array("ok\n".utf8).withUnsafeBytes { try m.count($0) }
        try Array(String(repeating: "x", count: 60).utf8).withUnsafeBytes { try m.count($0) }
        #expect(throws: DatasetRejection.self) {
            try Array(String(repeating: "x", count: 41).utf8).withUnsafeBytes { try m.count($0) }
        }
        do {
            var m = UploadMeter(maxBytes: 1 << 20, maxLineBytes: 10)
            try Array("a\nb\n0123456789A".utf8).withUnsafeBytes { try m.count($0) }
            Issue.record("no error")
        } catch let e as DatasetRejection {
            #expect(e.line == 3)
        }
        // The byte limit names the line where it is passed.
        do {
            var m = UploadMeter(maxBytes: 10, maxLineBytes: 100)
            try Array("1234\n6789\nab".utf8).withUnsafeBytes { try m.count($0) }
            Issue.record("no error")
        } catch let e as UploadTooLarge {
            #expect(e.line == 3)
            #expect(e.limit == 10)
        }
        var exact = UploadMeter(maxBytes: 10, maxLineBytes: 100)
        try Array("1234\n6789\n".utf8).withUnsafeBytes { try exact.count($0) }
        #expect(exact.bytes == 10)
    }
}
