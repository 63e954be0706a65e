import Foundation
import Synchronization
import Testing

@testable import Pipeline

struct PauseGateTests {
    /// A worker that counts iterations between checkpoints.
    final class Worker: Sendable {
        let gate = PauseGate()
        let count = Atomic<Int>(0)
        let outcome = Mutex<String?>(nil)

        func start() {
            Thread.detachNewThread { [self] in
                do {
                    while true {
                        try gate.checkpoint()
                        count.add(1, ordering: .relaxed)
                        if count.load(ordering: .relaxed) > 50_000_000 { break }
                    }
                    outcome.withLock { $0 = "finished" }
                } catch {
                    outcome.withLock { $0 = "\(error)" }
                }
            }
        }
    }

    @Test func parksAndResumesInPlace() throws {
        let w = Worker()
        w.start()
        Thread.sleep(forTimeInterval: 0.01)
        let parked = DispatchSemaphore(value: 0)
        let t0 = Date()
        w.gate.requestPause { parked.signal() }
        #expect(parked.wait(timeout: .now() + 2) == .success)
        #expect(Date().timeIntervalSince(t0) < 0.05)
        #expect(w.gate.isParked)
        let frozen = w.count.load(ordering: .relaxed)
        Thread.sleep(forTimeInterval: 0.2)
        #expect(w.count.load(ordering: .relaxed) == frozen)
        w.gate.resume()
        Thread.sleep(forTimeInterval: 0.05)
        #expect(w.count.load(ordering: .relaxed) > frozen)
        w.gate.cancel()
    }

    @Test func cancelWakesAParkedWorker() throws {
        let w = Worker()
        w.start()
        let parked = DispatchSemaphore(value: 0)
        w.gate.requestPause { parked.signal() }
        #expect(parked.wait(timeout: .now() + 2) == .success)
        w.gate.cancel()
        let deadline = Date().addingTimeInterval(2)
        while w.outcome.withLock({ $0 }) == nil, Date() < deadline { Thread.sleep(forTimeInterval: 0.005) }
        #expect(w.outcome.withLock { $0 } == "cancelled")
    }

    @Test func resumeBeforeParkingIsHarmless() {
        let gate = PauseGate()
        gate.requestPause {}
        gate.resume()
        #expect(gate.request == .run)
        #expect(throws: Never.self) { try gate.checkpoint() }
    }

    /// Three extra workers besides the runner's thread: the gate reports
    /// parked only once all four are parked, and none moves while parked.
    @Test func parkedMeansEveryWorkerParked() throws {
        let gate = PauseGate()
        let counts = (0..<4).map { _ in Counter() }
        let release = Counter()  // 1 once the slow worker may go on
        let ended = Counter()
        // Worker 3 is slow to reach its checkpoint: it spins until `release`.
        let workers = (0..<3).map { _ in gate.join() }
        #expect(gate.workerCount == 4)
        func spin(_ i: Int, _ checkpoint: @escaping @Sendable () throws -> Void, _ leave: @escaping @Sendable () -> Void) {
            Thread.detachNewThread {
                defer {
                    leave()
                    ended.value.add(1, ordering: .relaxed)
                }
                do {
                    while true {
                        if i == 3 { while release.value.load(ordering: .acquiring) != 1 {} }
                        try checkpoint()
                        counts[i].value.add(1, ordering: .relaxed)
                    }
                } catch {}
            }
        }
        spin(0, { try gate.checkpoint() }, {})
        for (k, w) in workers.enumerated() { spin(k + 1, { try w.checkpoint() }, { w.leave() }) }
        try eventually { counts[0].value.load(ordering: .relaxed) > 0 && counts[1].value.load(ordering: .relaxed) > 0 }
        let parked = Counter()
        gate.requestPause { parked.value.add(1, ordering: .relaxed) }
        // Three of four park; the slow one still computes: not parked.
        Thread.sleep(forTimeInterval: 0.05)
        #expect(!gate.isParked)
        #expect(parked.value.load(ordering: .relaxed) == 0)
        release.value.store(1, ordering: .releasing)
        try eventually { parked.value.load(ordering: .relaxed) == 1 }
        #expect(gate.isParked)
        let frozen = counts.map { $0.value.load(ordering: .relaxed) }
        let suspendedAtPark = gate.suspendedTime
        Thread.sleep(forTimeInterval: 0.1)
        #expect(counts.map { $0.value.load(ordering: .relaxed) } == frozen)
        #expect(gate.suspendedTime - suspendedAtPark >= .milliseconds(90))
        gate.resume()
        try eventually { zip(counts, frozen).allSatisfy { $0.value.load(ordering: .relaxed) > $1 } }
        #expect(!gate.isParked)
        // Suspended time stops growing once resumed.
        let afterResume = gate.suspendedTime
        Thread.sleep(forTimeInterval: 0.02)
        #expect(gate.suspendedTime == afterResume)
        // Pause again, then cancel: every parked worker wakes and stops.
        gate.requestPause { parked.value.add(1, ordering: .relaxed) }
        try eventually { parked.value.load(ordering: .relaxed) == 2 }
        gate.cancel()
        try eventually { ended.value.load(ordering: .relaxed) == 4 }
        #expect(gate.workerCount == 1)
    }

    /// A worker that leaves completes a pause that waited only for it.
    @Test func leavingCompletesAPause() throws {
        let gate = PauseGate()
        let w = gate.join()
        let parked = DispatchSemaphore(value: 0)
        gate.requestPause { parked.signal() }
        Thread.detachNewThread { try? gate.checkpoint() }
        #expect(parked.wait(timeout: .now() + 0.1) == .timedOut)
        w.leave()
        #expect(parked.wait(timeout: .now() + 2) == .success)
        #expect(gate.isParked)
        w.leave()  // idempotent
        #expect(gate.workerCount == 1)
        gate.cancel()
    }

    /// Time inside `suspend` counts as suspended; nested calls count once.
    @Test func suspendCountsTowardSuspendedTime() {
        let gate = PauseGate()
        #expect(gate.suspendedTime == .zero)
        gate.suspend { gate.suspend { Thread.sleep(forTimeInterval: 0.05) } }
        let t = gate.suspendedTime
        #expect(t >= .milliseconds(45) && t < .milliseconds(500))
        Thread.sleep(forTimeInterval: 0.02)
        #expect(gate.suspendedTime == t)
    }

    func eventually(timeout: Double = 5, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            guard Date() < deadline else { throw Timeout() }
            Thread.sleep(forTimeInterval: 0.002)
        }
    }
    struct Timeout: Error {}
    final class Counter: Sendable { let value = Atomic<Int>(0) }
}
