import Foundation
import MarketData
import TestSupport
import Testing

/// A ~1 MB gzip upload that expands to 1 GiB is refused while it streams,
/// measured on a real server process (`sf-test-server`): its peak RSS
/// (`VmHWM`) grows by less than 32 MB and it spends less than 2 s of CPU.
struct DecompressionBombTests {
    static let mebibyte = 1 << 20

    /// A gzip file of `members` concatenated members (RFC 1952 §2.2 allows
    /// any number; every inflater reads them as one stream): the first holds
    /// `first`, every other one `block`. Each member is deflated once, so
    /// building a 1 GiB expansion costs the test a few milliseconds.
    static func bomb(first: [UInt8], block: [UInt8], members: Int) throws -> (gzip: [UInt8], expanded: Int) {
        func member(_ bytes: [UInt8]) throws -> [UInt8] {
            var out: [UInt8] = []
            let writer = try GzipWriter(level: 9)
            bytes.withUnsafeBytes { raw in writer.write(raw, finish: true) { out.append(contentsOf: $0) } }
            return out
        }
        let head = try member(first)
        let body = try member(block)
        var out = head
        out.reserveCapacity(head.count + body.count * (members - 1))
        for _ in 1..<members { out += body }
        return (out, first.count + block.count * (members - 1))
    }

    /// `VmHWM` (peak resident set) of `pid`, in bytes.
    static func peakRSS(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") })
        let kib = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        return kib * 1024
    }

    /// User + system CPU seconds of `pid` (fields 14 and 15 of `/proc/<pid>/stat`).
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let close = try #require(stat.lastIndex(of: ")"))
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3): utime is field 14, stime 15.
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (Double(fields[11])! + Double(fields[12])!) / ticks
    }

    @Test func aGzipBombIsRefusedWithFlatMemoryAndLittleCPU() throws {
        let dataDir = NSTemporaryDirectory() + "sf-bomb-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dataDir) }
        let uploadLimit = 64 * Self.mebibyte
        let server = try ServerProcess(
            databaseURL: try TestApp.freshDatabase(), dataDir: dataDir, port: ServerProcess.freePort(),
            environment: ["SF_TEST_MAX_UPLOAD_BYTES": "\(uploadLimit)", "SF_TEST_MAX_LINE_BYTES": "65536"])
        let pid = server.process.processIdentifier
        let header = Array("timestamp,open,high,low,close,volume\n".utf8)

        // A warm-up upload, so the figures are those of a server that has served one.
        var warm = header
        for i in 0..<1000 { warm += Array("\(1_704_067_200 + i * 60),1.1,1.2,1.0,1.15,100\n".utf8) }
        let ok = try httpRequest(port: server.port, "POST", "/v1/datasets?symbol=WARM&timeframe=1m", body: warm)
        #expect(ok.status == 201, "\(ok.text)")

        // 1. One 1 GiB line of zeros.
        let zeros = [UInt8](repeating: UInt8(ascii: "0"), count: Self.mebibyte)
        let line = try Self.bomb(first: header + Array("1704067200,".utf8) + zeros, block: zeros, members: 1024)
        // 2. 1 GiB of short, valid-looking lines, far past the upload limit.
        let row = Array("2024-01-01T00:00:00Z,1.1,1.2,1.0,1.15,100\n".utf8)
        let rows = Array([[UInt8]](repeating: row, count: Self.mebibyte / row.count).joined())
        let short = try Self.bomb(first: header + rows, block: rows, members: 1024)

        // Deflate repeats a 1-byte pattern at ~1030:1 (the long line: ~1.05 MB) but a
        // 42-byte line only at ~340:1 (a match of 258 bytes still costs the
        // distance's extra bits), so the short lines take ~3.2 MB.
        let cases = [("one long line", line, 422, "line", 2 * Self.mebibyte), ("short lines", short, 413, "limit", 4 * Self.mebibyte)]
        for (name, bomb, status, field, size) in cases {
            #expect(bomb.gzip.count < size, "\(name): \(bomb.gzip.count) bytes")
            #expect(bomb.expanded >= (1 << 30) - Self.mebibyte, "\(name): expands to \(bomb.expanded)")
            let rssBefore = try Self.peakRSS(pid)
            let cpuBefore = try Self.cpuSeconds(pid)
            let started = Date()
            let r = try httpRequest(
                port: server.port, "POST", "/v1/datasets?symbol=BOMB&timeframe=1m", headers: ["Content-Type": "text/csv"],
                body: bomb.gzip)
            let seconds = Date().timeIntervalSince(started)
            let growth = try Self.peakRSS(pid) - rssBefore
            let cpu = try Self.cpuSeconds(pid) - cpuBefore
            print(
                "bomb (\(name)): \(bomb.gzip.count) bytes gzip → \(bomb.expanded) bytes; status \(r.status) in \(String(format: "%.2f", seconds)) s; "
                    + "peak RSS \(rssBefore / 1024) KiB → +\(growth / 1024) KiB; CPU \(String(format: "%.2f", cpu)) s; \(r.text)")
            #expect(r.status == status, "\(name): \(r.text)")
            #expect(r.header("Content-Type") == "application/problem+json", "\(name)")
            #expect(r.json["field"] as? String == "body", "\(name): \(r.text)")
            #expect(r.json[field] != nil, "\(name): \(r.text)")
            #expect(growth < 32 * Self.mebibyte, "\(name): peak RSS grew by \(growth) bytes")
            #expect(cpu < 2, "\(name): \(cpu) s of CPU")
        }
        // Nothing of either is left.
        let incoming = (try? FileManager.default.contentsOfDirectory(atPath: dataDir + "/datasets/.incoming")) ?? []
        #expect(incoming.isEmpty, "\(incoming)")
        let listed = try httpRequest(port: server.port, "GET", "/v1/datasets").json["items"] as? [[String: Any]] ?? []
        #expect(listed.map { $0["symbol"] as? String } == ["WARM"])
    }
}
