import Foundation
import Hashing
import Logging
import PostgresClient
import Store
import TestSupport
import Testing

@testable import Service

/// An experiment with artifacts recorded the way the export stage does it.
private struct ArtifactFixture {
    let t: TestApp
    let experiment: String
    let csv: [UInt8]
    let parquet: [UInt8]
    let csvPath: String

    init() throws {
        t = try TestApp()
        experiment = try t.create(validBody)
        let id = try #require(UUID(uuidString: experiment))
        let folder = "experiments/\(experiment)"
        try FileManager.default.createDirectory(atPath: t.app.settings.dataDir + "/" + folder, withIntermediateDirectories: true)
        csv = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
        csvPath = t.app.settings.dataDir + "/" + folder + "/features_1h.csv"
        try Data(csv).write(to: URL(fileURLWithPath: csvPath))
        parquet = Array("PAR1-not-really-PAR1".utf8)
        let parquetPath = t.app.settings.dataDir + "/" + folder + "/signals.parquet"
        try Data(parquet).write(to: URL(fileURLWithPath: parquetPath))
        let absoluteParquet = URL(fileURLWithPath: parquetPath).standardizedFileURL.path

        let conn = try PostgresConnection.connect(try PostgresConfiguration(url: t.databaseURL), logger: Logger(label: "test"))
        defer { conn.close() }
        let csvSHA = SHA256.hex(csv)
        try conn.execute(
            """
            INSERT INTO artifacts (experiment_id, name, format, path, size_bytes, sha256, row_count) VALUES
              (\(id), 'features_1h.csv', 'csv', \(folder + "/features_1h.csv"), \(Int64(csv.count)), \(csvSHA), \(Int64(42))),
              (\(id), 'signals.parquet', 'parquet', \(absoluteParquet), \(Int64(parquet.count)), NULL, NULL),
              (\(id), 'gone.csv', 'csv', \(folder + "/gone.csv"), \(Int64(10)), NULL, NULL)
            """)
    }

    var base: String { "/v1/experiments/\(experiment)/artifacts" }

    func get(_ name: String, headers: [String: String] = [:], method: String = "GET") throws -> RawHTTPConnection.Response {
        try RawHTTPConnection(port: t.port).request(method, base + "/" + name, headers: headers)
    }
}

struct ArtifactTests {
    @Test func listsTheRecordedArtifacts() throws {
        let f = try ArtifactFixture()
        let r = try f.t.request("GET", f.base)
        #expect(r.status == 200)
        let items = try #require(r.json["items"] as? [[String: Any]])
        #expect(items.compactMap { $0["name"] as? String } == ["features_1h.csv", "gone.csv", "signals.parquet"])
        let csv = items[0]
        #expect(csv["format"] as? String == "csv")
        #expect(csv["size_bytes"] as? Int == 1000)
        #expect(csv["sha256"] as? String == SHA256.hex(f.csv))
        #expect(csv["rows"] as? Int == 42)
        #expect(csv["url"] as? String == "\(f.base)/features_1h.csv")
        #expect((csv["created_at"] as? String)?.hasSuffix("Z") == true)
        #expect(items[2]["sha256"] is NSNull)
        #expect(items[2]["rows"] is NSNull)

        // An experiment without artifacts; an unknown one.
        let other = try f.t.create(validBody)
        #expect((try f.t.request("GET", "/v1/experiments/\(other)/artifacts").json["items"] as? [Any])?.isEmpty == true)
        #expect(try f.t.request("GET", "/v1/experiments/\(UUID().uuidString)/artifacts").status == 404)
        #expect(try f.t.request("GET", "/v1/experiments/nope/artifacts").status == 404)
    }

    @Test func downloadsWholeWithETagAndConditionalRequests() throws {
        let f = try ArtifactFixture()
        let r = try f.get("features_1h.csv")
        #expect(r.status == 200)
        #expect(r.body == f.csv)
        #expect(r.header("Content-Length") == "1000")
        #expect(r.header("Content-Type") == "text/csv; charset=utf-8")
        #expect(r.header("Content-Disposition") == "attachment; filename=\"features_1h.csv\"")
        #expect(r.header("Accept-Ranges") == "bytes")
        let etag = "\"\(SHA256.hex(f.csv))\""
        #expect(r.header("ETag") == etag)

        let notModified = try f.get("features_1h.csv", headers: ["If-None-Match": etag])
        #expect(notModified.status == 304)
        #expect(notModified.body.isEmpty)
        #expect(notModified.header("ETag") == etag)
        #expect(try f.get("features_1h.csv", headers: ["If-None-Match": "\"other\", W/\(etag)"]).status == 304)
        #expect(try f.get("features_1h.csv", headers: ["If-None-Match": "*"]).status == 304)
        #expect(try f.get("features_1h.csv", headers: ["If-None-Match": "\"other\""]).status == 200)

        // HEAD: the headers without the body.
        let head = try f.get("features_1h.csv", method: "HEAD")
        #expect(head.status == 200)
        #expect(head.header("Content-Length") == "1000")

        // Without a recorded hash the tag is size and mtime; it still validates.
        let p = try f.get("signals.parquet")
        #expect(p.status == 200)
        #expect(p.body == f.parquet)
        #expect(p.header("Content-Type") == "application/vnd.apache.parquet")
        let weakish = try #require(p.header("ETag"))
        #expect(weakish.hasPrefix("\"") && weakish != etag)
        #expect(try f.get("signals.parquet", headers: ["If-None-Match": weakish]).status == 304)
        // A file rewritten after it was recorded gets a new tag.
        try Data(Array(f.parquet.reversed()) + [1]).write(
            to: URL(fileURLWithPath: f.t.app.settings.dataDir + "/experiments/\(f.experiment)/signals.parquet"))
        #expect(try f.get("signals.parquet", headers: ["If-None-Match": weakish]).status == 200)
    }

    @Test func byteRanges() throws {
        let f = try ArtifactFixture()
        func range(_ spec: String, _ extra: [String: String] = [:]) throws -> RawHTTPConnection.Response {
            var h = extra
            h["Range"] = spec
            return try f.get("features_1h.csv", headers: h)
        }
        let first = try range("bytes=0-99")
        #expect(first.status == 206)
        #expect(first.body == Array(f.csv[0..<100]))
        #expect(first.header("Content-Range") == "bytes 0-99/1000")
        #expect(first.header("Content-Length") == "100")

        let open = try range("bytes=990-")
        #expect(open.status == 206)
        #expect(open.body == Array(f.csv[990...]))
        #expect(open.header("Content-Range") == "bytes 990-999/1000")

        let suffix = try range("bytes=-5")
        #expect(suffix.status == 206)
        #expect(suffix.body == Array(f.csv[995...]))

        let clamped = try range("bytes=100-5000")
        #expect(clamped.status == 206)
        #expect(clamped.header("Content-Range") == "bytes 100-999/1000")
        #expect(clamped.body == Array(f.csv[100...]))

        let whole = try range("bytes=-5000")
        #expect(whole.status == 206)
        #expect(whole.body == f.csv)

        for spec in ["bytes=1000-", "bytes=5000-6000", "bytes=-0"] {
            let r = try range(spec)
            #expect(r.status == 416, "\(spec)")
            #expect(r.header("Content-Range") == "bytes */1000", "\(spec)")
            #expect(r.header("Content-Type") == "application/problem+json")
        }
        // Ranges we do not honour: the whole file.
        for spec in ["bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=abc"] {
            let r = try range(spec)
            #expect(r.status == 200, "\(spec)")
            #expect(r.body == f.csv, "\(spec)")
        }
        // If-Range: the range only while the tag still matches.
        let etag = "\"\(SHA256.hex(f.csv))\""
        #expect(try range("bytes=0-9", ["If-Range": etag]).status == 206)
        #expect(try range("bytes=0-9", ["If-Range": "\"stale\""]).status == 200)
    }

    @Test func onlyRecordedFilesAreServed() throws {
        let f = try ArtifactFixture()
        let missing = try f.get("gone.csv")
        #expect(missing.status == 404)
        #expect((missing.json["detail"] as? String)?.contains("missing on disk") == true)
        let unknown = try f.get("secret.csv")
        #expect(unknown.status == 404)
        #expect(unknown.json["field"] as? String == "name")
        // A file beside the recorded ones is not reachable by name or by climbing.
        try Data("x".utf8).write(to: URL(fileURLWithPath: f.t.app.settings.dataDir + "/experiments/\(f.experiment)/secret.csv"))
        #expect(try f.get("secret.csv").status == 404)
        // An encoded '/' never reaches the route: the edge refuses it (400, field "path").
        let climb = try f.get("..%2F..%2Fdatasets")
        #expect(climb.status == 400)
        #expect(climb.json["field"] as? String == "path")
        #expect(try f.get("%2E%2E").status == 404)
        #expect(try f.t.request("GET", "/v1/experiments/\(UUID().uuidString)/artifacts/features_1h.csv").status == 404)
    }

    @Test func rangeParsing() {
        #expect(ArtifactRoutes.parseRange("bytes=0-0", size: 1) == .bytes(0, 0))
        #expect(ArtifactRoutes.parseRange("bytes=0-", size: 0) == .unsatisfiable)
        #expect(ArtifactRoutes.parseRange("bytes=-1", size: 0) == .unsatisfiable)
        #expect(ArtifactRoutes.parseRange(" Bytes=2-3 ", size: 10) == .bytes(2, 3))
        #expect(ArtifactRoutes.parseRange("bytes=99999999999999999999-", size: 10) == .unsatisfiable)
        #expect(ArtifactRoutes.parseRange("bytes=+1-2", size: 10) == .ignore)
        #expect(
            ArtifactRoutes.attachment("naïve \"x\".csv")
                == "attachment; filename=\"na_ve _x_.csv\"; filename*=UTF-8''na%C3%AFve%20%22x%22.csv")
    }
}
