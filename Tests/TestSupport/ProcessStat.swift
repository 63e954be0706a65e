import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One reading of `/proc/<pid>/stat` (Linux): a process's state, parent and
/// CPU time, for tests that kill processes or check that one stays idle.
public struct ProcessStat: Sendable {
    /// The process id read.
    public var pid: Int32
    /// The state letter (`R`, `S`, `D`, `Z`, …).
    public var state: Character
    /// The parent's pid.
    public var parent: Int32
    /// User plus system CPU time of every thread, in seconds.
    public var cpuSeconds: Double

    /// Reads `/proc/<pid>/stat`; nil when the process does not exist.
    public init?(pid: Int32) {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        guard fields.count > 13, let state = fields[0].first, let parent = Int32(fields[1]),
            let user = Double(fields[11]), let system = Double(fields[12])
        else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        self.pid = pid
        self.state = state
        self.parent = parent
        self.cpuSeconds = (user + system) / (ticks > 0 ? ticks : 100)
    }

    /// True while the process exists and is not a zombie.
    public static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = ProcessStat(pid: pid) else { return false }
        return stat.state != "Z"
    }
}
