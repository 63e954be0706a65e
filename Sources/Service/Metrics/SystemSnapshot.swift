import Foundation
import Pipeline

#if canImport(Glibc)
import Glibc
#endif

/// This process and its host at one moment: memory, CPU, descriptors,
/// threads, the data folder's disk and the load, read from `/proc`,
/// `getrusage` and `statvfs` (Linux). A figure that cannot be read is nil.
struct SystemSnapshot: Sendable, Equatable {
    /// Resident set size of this process.
    var rssBytes: Int64
    /// CPU seconds (user + system) this process has used.
    var cpuSeconds: Double
    /// Open file descriptors (entries of `/proc/self/fd`).
    var openFDs: Int?
    /// The soft limit on open descriptors (`RLIMIT_NOFILE`).
    var maxFDs: Int?
    /// Threads of this process (`Threads:` in `/proc/self/status`).
    var threads: Int?
    /// The data folder's file system: size, used and free to unprivileged users, in bytes.
    var diskTotalBytes: Int64?
    var diskUsedBytes: Int64?
    var diskFreeBytes: Int64?
    /// The host's memory (`MemTotal`, `MemAvailable` of `/proc/meminfo`).
    var memoryTotalBytes: Int64?
    var memoryAvailableBytes: Int64?
    /// Load averages over 1, 5 and 15 minutes.
    var load1: Double?
    var load5: Double?
    var load15: Double?

    /// Reads every figure now.
    /// - Parameter dataDir: the folder whose file system `disk*` describe.
    static func read(dataDir: String) -> SystemSnapshot {
        var s = SystemSnapshot(rssBytes: MemoryMonitor.processRSS(), cpuSeconds: MemoryMonitor.processCPUSeconds())
        s.openFDs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")).map { max(0, $0.count - 1) }
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max {  // RLIM_INFINITY
            s.maxFDs = Int(clamping: limit.rlim_cur)
        }
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            s.threads = Self.field("Threads:", in: status).flatMap { Int($0) }
        }
        var fs = statvfs()
        if statvfs(dataDir, &fs) == 0 || statvfs(".", &fs) == 0 {
            let unit = Int64(fs.f_frsize)
            s.diskTotalBytes = Int64(fs.f_blocks) * unit
            s.diskUsedBytes = (Int64(fs.f_blocks) - Int64(fs.f_bfree)) * unit
            s.diskFreeBytes = Int64(fs.f_bavail) * unit
        }
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8) {
            s.memoryTotalBytes = Self.field("MemTotal:", in: meminfo).flatMap { Int64($0) }.map { $0 * 1024 }
            s.memoryAvailableBytes = Self.field("MemAvailable:", in: meminfo).flatMap { Int64($0) }.map { $0 * 1024 }
        }
        var loads = [Double](repeating: 0, count: 3)
        if getloadavg(&loads, 3) == 3 {
            (s.load1, s.load5, s.load15) = (loads[0], loads[1], loads[2])
        }
        return s
    }

    /// The first word after `name` on the line that starts with it (`Threads:\t12` → `12`).
    static func field(_ name: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            return line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.map(String.init)
        }
        return nil
    }
}
