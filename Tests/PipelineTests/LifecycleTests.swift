import Testing
@testable import Pipeline

struct LifecycleTests {
    @Test func happyPathWithAPause() throws {
        var m = Lifecycle(.queued)
        #expect(try m.claim() == .startRunner)
        #expect(try m.pause() == .parkAtNextCheckpoint)
        #expect(m.state == .pausing)
        #expect(try m.parked() == .none)
        #expect(m.state == .paused)
        #expect(try m.resume() == .wakeRunner)
        #expect(m.state == .running)
        #expect(try m.succeed() == .releaseRunner)
        #expect(m.state == .succeeded)
    }

    @Test func resumeBeforeTheRunnerParksTakesThePauseBack() throws {
        var m = Lifecycle(.running)
        _ = try m.pause()
        #expect(try m.resume() == .cancelPendingPause)
        #expect(m.state == .running)
    }

    @Test func cancelFromEachState() throws {
        var queued = Lifecycle(.queued)
        #expect(try queued.cancel() == .none)
        #expect(queued.state == .cancelled)
        for s in [ExperimentState.running, .pausing, .paused] {
            var m = Lifecycle(s)
            #expect(try m.cancel() == .stopRunner)
            #expect(m.state == .cancelling)
            #expect(try m.stopped() == .releaseRunner)
            #expect(m.state == .cancelled)
        }
    }

    @Test func illegalRequestsNameTheState() {
        var m = Lifecycle(.running)
        #expect(throws: Lifecycle.IllegalTransition(state: .running, event: "resume")) { try m.resume() }
        var done = Lifecycle(.succeeded)
        #expect(throws: Lifecycle.IllegalTransition(state: .succeeded, event: "pause")) { try done.pause() }
        #expect("\(Lifecycle.IllegalTransition(state: .succeeded, event: "pause"))" == "cannot pause an experiment that is succeeded")
        #expect(done.state == .succeeded)
    }

    @Test func interruptedWorkIsRequeuedAndPausedWorkStaysPaused() throws {
        var m = Lifecycle(.running)
        #expect(try m.interrupt() == .releaseRunner)
        #expect(m.state == .interrupted)
        #expect(try m.retry() == .none)
        #expect(m.state == .queued)
        var paused = Lifecycle(.paused)
        #expect(throws: Lifecycle.IllegalTransition.self) { try paused.interrupt() }
        #expect(paused.state == .paused)
    }

    @Test func retryOnlyFromFailedCancelledOrInterrupted() throws {
        for s in ExperimentState.allCases {
            var m = Lifecycle(s)
            let ok = (try? m.retry()) != nil
            #expect(ok == [.failed, .cancelled, .interrupted].contains(s), "\(s)")
        }
    }

    /// Exhaustive: every (state, event) pair either moves to an expected
    /// state or throws and leaves the state alone.
    @Test func illegalEventsNeverChangeTheState() {
        let events: [(String, (inout Lifecycle) throws -> Lifecycle.Action)] = [
            ("claim", { try $0.claim() }), ("pause", { try $0.pause() }), ("parked", { try $0.parked() }),
            ("resume", { try $0.resume() }), ("cancel", { try $0.cancel() }), ("stopped", { try $0.stopped() }),
            ("succeed", { try $0.succeed() }), ("fail", { try $0.fail() }), ("interrupt", { try $0.interrupt() }),
            ("retry", { try $0.retry() }),
        ]
        var legal = 0
        for s in ExperimentState.allCases {
            for (_, event) in events {
                var m = Lifecycle(s)
                if (try? event(&m)) == nil { #expect(m.state == s) } else { legal += 1 }
            }
        }
        #expect(legal == 22)
    }
}
