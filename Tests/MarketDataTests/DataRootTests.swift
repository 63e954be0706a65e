import Foundation
import MarketData
import TestSupport
import Testing

/// Opening files beneath a data root: symbolic links out of it are refused,
/// with openat2 and with the component walk used when the kernel lacks it.
struct DataRootTests {
    /// A root with `good.csv`, `sub/inner.csv`, and a folder outside it with `secret.csv`.
    static func layout() throws -> (root: String, outside: String) {
        let base = NSTemporaryDirectory() + "sf-dataroot-\(UUID().uuidString)"
        let root = base + "/root", outside = base + "/outside"
        for dir in [root + "/sub", outside] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let csv = "timestamp,open,high,low,close,volume\n1704067200,1.1,1.2,1.0,1.15,100\n"
        try csv.write(toFile: root + "/good.csv", atomically: true, encoding: .utf8)
        try csv.write(toFile: root + "/sub/inner.csv", atomically: true, encoding: .utf8)
        try csv.write(toFile: outside + "/secret.csv", atomically: true, encoding: .utf8)
        let fm = FileManager.default
        try fm.createSymbolicLink(atPath: root + "/out-abs.csv", withDestinationPath: outside + "/secret.csv")
        try fm.createSymbolicLink(atPath: root + "/out-rel.csv", withDestinationPath: "../outside/secret.csv")
        try fm.createSymbolicLink(atPath: root + "/out-dir", withDestinationPath: outside)
        try fm.createSymbolicLink(atPath: root + "/passwd.csv", withDestinationPath: "/etc/passwd")
        try fm.createSymbolicLink(atPath: root + "/proc-self", withDestinationPath: "/proc/self/root/etc/passwd")
        try fm.createSymbolicLink(atPath: root + "/alias.csv", withDestinationPath: "good.csv")
        try fm.createSymbolicLink(atPath: root + "/sub-alias", withDestinationPath: "sub")
        try fm.createSymbolicLink(atPath: root + "/loop", withDestinationPath: "loop")
        return (root, outside)
    }

    @Test(arguments: [DataRoot.Resolution.automatic, .componentWalk])
    func symbolicLinksOutOfTheRootAreRefused(_ resolution: DataRoot.Resolution) throws {
        let (root, _) = try Self.layout()
        defer { try? FileManager.default.removeItem(atPath: root + "/..") }
        let dataRoot = DataRoot(path: root, resolution: resolution)
        let file = try dataRoot.open("good.csv")
        #expect(file.size > 0)
        let reader = try OHLCVCSVReader(file: file, fileName: "good.csv")
        #expect(try reader.next()?.count == 1)
        #expect(try dataRoot.open("./sub//inner.csv").size == file.size)

        for path in ["out-abs.csv", "out-rel.csv", "out-dir/secret.csv", "passwd.csv", "proc-self", "loop"] {
            do {
                _ = try dataRoot.open(path)
                Issue.record("\(path) opened (\(resolution))")
            } catch {
                #expect(error.code == .escapesRoot, "\(path): \(error)")
                #expect(error.path == path)
            }
        }
        // Inside links: followed with openat2, refused by the component walk.
        for path in ["alias.csv", "sub-alias/inner.csv"] {
            if resolution == .automatic {
                #expect(try dataRoot.open(path).size == file.size, "\(path)")
            } else {
                #expect(throws: DataRootError.self) { try dataRoot.open(path) }
            }
        }
        let cases: [(String, DataRootError.Code)] = [
            ("nope.csv", .notFound), ("sub", .notAFile), ("good.csv/x", .notFound), ("../outside/secret.csv", .escapesRoot),
            ("/etc/passwd", .invalidPath), ("", .invalidPath), ("a\0b", .invalidPath),
        ]
        for (path, code) in cases {
            do {
                _ = try dataRoot.open(path)
                Issue.record("\(path) opened")
            } catch {
                #expect(error.code == code, "\(path): \(error)")
            }
        }
    }

    @Test func aFIFOIsRefusedWithoutBlocking() throws {
        let (root, _) = try Self.layout()
        defer { try? FileManager.default.removeItem(atPath: root + "/..") }
        #expect(mkfifo(root + "/pipe.csv", 0o644) == 0)
        do {
            _ = try DataRoot(path: root).open("pipe.csv")
            Issue.record("a FIFO opened")
        } catch {
            #expect(error.code == .notAFile)
        }
    }

    /// The streaming inflater hands out bounded pieces and stops when told.
    @Test func gzipInflaterStreamsAndStops() throws {
        var text = "timestamp,open,high,low,close,volume\n"
        for i in 0..<20000 { text += "\(1_704_067_200 + i * 60),1.1,1.2,1.0,1.15,\(i)\n" }
        var packed: [UInt8] = []
        let writer = try GzipWriter()
        Array(text.utf8).withUnsafeBytes { raw in writer.write(raw, finish: true) { packed.append(contentsOf: $0) } }
        // Two members, fed in awkward pieces.
        let twice = packed + packed
        let inflater = try GzipInflater()
        var out: [UInt8] = []
        var largest = 0
        var offset = 0
        while offset < twice.count {
            let n = min(777, twice.count - offset)
            try twice[offset..<offset + n].withUnsafeBytes { piece in
                try inflater.inflate(piece) {
                    out.append(contentsOf: $0); largest = max(largest, $0.count)
                }
            }
            offset += n
        }
        #expect(out == Array(text.utf8) + Array(text.utf8))
        #expect(largest <= 64 << 10)
        #expect(inflater.isComplete)
        // Stopping at the first piece leaves the rest uninflated.
        struct Stop: Error {}
        var pieces = 0
        #expect(throws: Stop.self) {
            try packed.withUnsafeBytes { raw in
                try GzipInflater().inflate(raw) { _ in
                    pieces += 1
                    throw Stop()
                }
            }
        }
        #expect(pieces == 1)
        // Damaged data is an error.
        var damaged = packed
        damaged[20] ^= 0xFF
        damaged[21] ^= 0xFF
        #expect(throws: (any Error).self) {
            try damaged.withUnsafeBytes { raw in try GzipInflater().inflate(raw) { _ in } }
        }
    }

    @Test func longRecordsAreRefusedWithBoundedMemory() throws {
        let dir = try TempDir()
        let header = "timestamp,open,high,low,close,volume\n"
        let long = header + "1704067200,1.1,1.2,1.0,1.15,100\n" + "1704067260," + String(repeating: "9", count: 300_000) + "\n"
        let path = try dir.file("long.csv", long)
        do {
            _ = try OHLCVCSVReader.read(path: path)
            Issue.record("a 300 kB line was read")
        } catch {
            #expect(error.code == .lineTooLong)
            #expect(error.line == 3)
            #expect(error.reason.contains("65536"))
        }
        // A smaller limit, and a header over it.
        let r = try OHLCVCSVReader(path: try dir.file("ok.csv", header + "1704067200,1.1,1.2,1.0,1.15,100\n"), maxRecordBytes: 40)
        #expect(try r.next()?.count == 1)
        let headerOnly = try dir.file("h.csv", header)
        do throws(MarketDataError) {
            _ = try OHLCVCSVReader(path: headerOnly, maxRecordBytes: 20)
            Issue.record("a 36-byte header passed a 20-byte limit")
        } catch {
            #expect(error.code == .lineTooLong)
            #expect(error.line == 1)
        }
    }
}
