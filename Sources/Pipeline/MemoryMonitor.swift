import CLinux
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

    /// This process's peak resident set size so far (`VmHWM` of /proc/self/status), or 0.
    public static func processPeakRSS() -> Int64 {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kb = Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }

    /// Gives the heap memory that is free but still mapped back to the
    /// kernel, in every malloc arena, so that RSS falls after work ends.
    /// Takes a few milliseconds on a large heap; call it when a run ends and
    /// when idle, not in hot loops. The corresponding C function is `malloc_trim(0)`.
    /// - Returns: whether any memory was released.
    @discardableResult
    public static func releaseFreeMemory() -> Bool { malloc_trim(0) == 1 }

    /// Caps the number of glibc malloc arenas (each thread that allocates
    /// under contention may otherwise get its own, up to 8 per core, and freed
    /// memory in an idle arena is never reused by the others). Call it once
    /// at start-up, before worker threads start. An explicit
    /// `MALLOC_ARENA_MAX` in the environment wins. The corresponding C
    /// function is `mallopt(M_ARENA_MAX, n)`.
    /// - Parameter count: the arena limit (nil, the default: 2 per core, at least 2).
    public static func limitMallocArenas(_ count: Int? = nil) {
        guard ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil else { return }
        let n = count ?? max(2, 2 * ProcessInfo.processInfo.activeProcessorCount)
        _ = mallopt(sf_m_arena_max, Int32(clamping: n))
    }

    /// CPU seconds (user + system) this process has used.
    public static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}
