import Foundation
import Pipeline
import Service
import Stages
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Dataset paths resolve beneath the data root: a symbolic link out of it,
/// whether the file or a folder on the way, is refused (400 naming
/// `datasets[i].path` when the experiment is created; a failed load if it
/// appears later), and the file it points to is never opened.
struct SymlinkTests {
    /// `rows` 1m bars from 2024-01-01 whose prices are all `price`.
    static func csv(rows: Int, price: Double) -> String {
        var s = "timestamp,open,high,low,close,volume\n"
        for i in 0..<rows { s += "\(1_704_067_200 + i * 60),\(price),\(price),\(price),\(price),1\n" }
        return s
    }

    /// Watches a file for opens (inotify `IN_OPEN`).
    final class OpenWatch {
        let fd: Int32
        init(_ path: String) throws {
            fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
            guard fd >= 0, inotify_add_watch(fd, path, UInt32(IN_OPEN)) >= 0 else {
                throw RawHTTPConnection.Failure(description: "inotify failed: errno \(errno)")
            }
        }
        deinit { close(fd) }
        /// Whether an open was seen since the last call.
        func opened() -> Bool {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            return n > 0
        }
    }

    struct Fixture {
        let t: TestApp
        let root: String
        let outside: String
        let watch: OpenWatch
    }

    static func fixture() throws -> Fixture {
        let t = try TestApp(stages: StageRegistry(MarketDataStages.all))
        let root = t.app.settings.dataDir
        let outside = NSTemporaryDirectory() + "sf-outside-\(UUID().uuidString)"
        let fm = FileManager.default
        for dir in [root + "/data/sub", outside] { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try csv(rows: 180, price: 1.25).write(toFile: root + "/data/good.csv", atomically: true, encoding: .utf8)
        try csv(rows: 180, price: 777).write(toFile: outside + "/secret.csv", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/data/out-abs.csv", withDestinationPath: outside + "/secret.csv")
        try fm.createSymbolicLink(
            atPath: root + "/data/out-rel.csv", withDestinationPath: "../../\(URL(fileURLWithPath: outside).lastPathComponent)/secret.csv")
        try fm.createSymbolicLink(atPath: root + "/data/out-dir", withDestinationPath: outside)
        try fm.createSymbolicLink(atPath: root + "/data/passwd.csv", withDestinationPath: "/etc/passwd")
        try fm.createSymbolicLink(atPath: root + "/data/alias.csv", withDestinationPath: "good.csv")
        #expect(mkfifo(root + "/data/fifo.csv", 0o644) == 0)
        return Fixture(t: t, root: root, outside: outside, watch: try OpenWatch(outside + "/secret.csv"))
    }

    static func body(_ paths: [String], stages: String = #"["load","resample","merge"]"#) -> String {
        let datasets = paths.enumerated().map { #"{"symbol":"S\#($0)","path":"\#($1)"}"# }.joined(separator: ",")
        return #"{"datasets":[\#(datasets)],"timeframes":["1h"],"stages":\#(stages)}"#
    }

    @Test func anExperimentNamingALinkOutOfTheRootIs400() throws {
        let f = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: f.outside) }
        let cases: [(path: String, reason: String, says: String)] = [
            ("data/out-abs.csv", "escapesRoot", "outside the data root"),  // the file is the link
            ("data/out-rel.csv", "escapesRoot", "outside the data root"),  // a relative link climbing out
            ("data/out-dir/secret.csv", "escapesRoot", "outside the data root"),  // a folder on the way is the link
            ("data/passwd.csv", "escapesRoot", "outside the data root"),  // /etc/passwd
            ("data/missing.csv", "notFound", "does not exist"),
            ("data/sub", "notAFile", "directory"),
            ("data/fifo.csv", "notAFile", "not a regular file"),
        ]
        for c in cases {
            // The bad path second, so the index is named right.
            let r = try f.t.request("POST", "/v1/experiments", body: Self.body(["data/good.csv", c.path]))
            #expect(r.status == 400, "\(c.path): \(r.text)")
            #expect(r.header("Content-Type") == "application/problem+json")
            #expect(r.json["field"] as? String == "datasets[1].path", "\(c.path): \(r.text)")
            #expect(r.json["reason"] as? String == c.reason, "\(c.path): \(r.text)")
            #expect((r.json["detail"] as? String)?.contains(c.says) == true, "\(c.path): \(r.text)")
        }
        let list = try f.t.request("GET", "/v1/experiments").json["items"] as? [[String: Any]] ?? []
        #expect(list.isEmpty)
        // A link that stays beneath the root is followed (documented choice).
        let id = try f.t.create(Self.body(["data/alias.csv"]))
        let done = try f.t.waitFor(id, timeout: 60) { ["succeeded", "failed"].contains($0["status"] as? String ?? "") }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        // The file outside was never opened; the watch does see an open.
        #expect(!f.watch.opened())
        _ = FileManager.default.contents(atPath: f.outside + "/secret.csv")
        #expect(f.watch.opened())
    }

    /// The link appears after the experiment was created (here: before a
    /// retry): the load stage refuses it, and `/bars` never serves the
    /// outside file's bars.
    @Test func aLinkThatAppearsLaterFailsTheLoadAndBarsServeNothingFromOutside() throws {
        let f = try Self.fixture()
        defer { try? FileManager.default.removeItem(atPath: f.outside) }
        let live = f.root + "/data/live.csv"
        // A file that opens (so the experiment is accepted) but fails the load.
        try (Self.csv(rows: 3, price: 1.25) + "1704067380,0,1,0,1,1\n").write(toFile: live, atomically: true, encoding: .utf8)
        let id = try f.t.create(Self.body(["data/live.csv"]))
        let first = try f.t.waitFor(id, timeout: 60) { ($0["status"] as? String) == "failed" }
        #expect((first["error"] as? String)?.contains("data/live.csv:5: open 0.0 is not a positive price") == true, "\(first)")

        try FileManager.default.removeItem(atPath: live)
        try FileManager.default.createSymbolicLink(atPath: live, withDestinationPath: f.outside + "/secret.csv")
        let retry = try f.t.request("POST", "/v1/experiments/\(id)/retry", body: #"{"from_stage":"load"}"#)
        #expect(retry.status == 202, "\(retry.text)")
        let second = try f.t.waitFor(id, timeout: 60) {
            ($0["status"] as? String) == "failed" && ($0["error"] as? String)?.contains("outside") == true
        }
        #expect(second["status"] as? String == "failed", "\(second)")
        #expect((second["error"] as? String)?.contains("data/live.csv: leads outside the data root") == true, "\(second)")
        let bars = try f.t.request("GET", "/v1/experiments/\(id)/bars?symbol=S0&timeframe=1h")
        #expect(bars.status == 404, "\(bars.text)")
        #expect(!bars.text.contains("777"))
        #expect(!f.watch.opened())

        // The same experiment over the good file does serve its bars (the route works).
        let ok = try f.t.create(Self.body(["data/good.csv"]))
        let done = try f.t.waitFor(ok, timeout: 60) { ["succeeded", "failed"].contains($0["status"] as? String ?? "") }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let good = try f.t.request("GET", "/v1/experiments/\(ok)/bars?symbol=S0&timeframe=1h")
        #expect(good.status == 200, "\(good.text)")
        #expect((good.json["close"] as? [Double])?.allSatisfy { $0 == 1.25 } == true, "\(good.text)")
        #expect((good.json["count"] as? Int ?? 0) == 3)
    }
}
