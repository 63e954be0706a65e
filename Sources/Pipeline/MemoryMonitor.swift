import Foundation
import Synchronization

/// How close the process is to its memory budget. Stages read it at their
/// checkpoints: at `.shrink` they use smaller chunks, at `.spill` they stream
/// through disk instead of holding data in memory.
public enum MemoryPressure: Int, Sendable, Comparable, CustomStringConvertible {
    case normal = 0
    /// At or above 80 % of the budget.
    case shrink = 1
    /// At or above 90 % of the budget.
    case spill = 2

    public static func < (a: MemoryPressure, b: MemoryPressure) -> Bool { a.rawValue < b.rawValue }
    public var description: String { ["normal", "shrink", "spill"][rawValue] }
}

/// Watches resident memory against a budget and reports level changes.
public final class MemoryMonitor: Sendable {
    public let budgetBytes: Int64
    private let rss: @Sendable () -> Int64
    private let level = Atomic<Int>(0)

    /// - Parameters:
    ///   - budgetBytes: the budget (see `defaultBudget()`).
    ///   - rss: the resident set size now (default: this process, from /proc).
    public init(budgetBytes: Int64, rss: @escaping @Sendable () -> Int64 = MemoryMonitor.processRSS) {
        self.budgetBytes = max(1, budgetBytes)
        self.rss = rss
    }

    /// The pressure as of the last `sample()`.
    public var pressure: MemoryPressure { MemoryPressure(rawValue: level.load(ordering: .relaxed)) ?? .normal }

    /// Reads memory use and updates the level.
    /// - Returns: the level now, the one before, and the RSS read.
    @discardableResult
    public func sample() -> (pressure: MemoryPressure, previous: MemoryPressure, rssBytes: Int64) {
        let used = rss()
        let ratio = Double(used) / Double(budgetBytes)
        let now: MemoryPressure = ratio >= 0.9 ? .spill : ratio >= 0.8 ? .shrink : .normal
        let before = MemoryPressure(rawValue: level.exchange(now.rawValue, ordering: .relaxed)) ?? .normal
        return (now, before, used)
    }

    /// Half of the cgroup memory limit, or of physical memory when there is none.
    public static func defaultBudget() -> Int64 {
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
            let limit = Int64(text.trimmingCharacters(in: .whitespacesAndNewlines)), limit > 0
        {
            return limit / 2
        }
        return Int64(ProcessInfo.processInfo.physicalMemory / 2)
    }

    /// This process's resident set size, from /proc/self/statm.
    public static let processRSS: @Sendable () -> Int64 = {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int64(fields[1]) else { return 0 }
        return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// CPU seconds (user + system) this process has used.
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
