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
}
