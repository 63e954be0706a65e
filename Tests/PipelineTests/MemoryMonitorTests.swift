import Synchronization
import Testing
@testable import Pipeline

struct MemoryMonitorTests {
    @Test func levelsFollowTheBudget() {
        let used = Atomic<Int64>(0)
        let m = MemoryMonitor(budgetBytes: 1000, rss: { used.load(ordering: .relaxed) })
        used.store(500, ordering: .relaxed)
        #expect(m.sample().pressure == .normal)
        used.store(800, ordering: .relaxed)
        let warn = m.sample()
        #expect(warn.pressure == .shrink)
        #expect(warn.previous == .normal)
        used.store(899, ordering: .relaxed)
        #expect(m.sample().pressure == .shrink)
        used.store(900, ordering: .relaxed)
        let critical = m.sample()
        #expect(critical.pressure == .spill)
        #expect(critical.previous == .shrink)
        #expect(m.pressure == .spill)
        used.store(100, ordering: .relaxed)
        #expect(m.sample().pressure == .normal)
    }

    @Test func realProcessFigures() {
        #expect(MemoryMonitor.processRSS() > 1 << 20)
        #expect(MemoryMonitor.defaultBudget() > 1 << 20)
        #expect(MemoryMonitor.processCPUSeconds() > 0)
    }
}
