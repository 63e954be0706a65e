import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import Pipeline

/// Polls `condition` until it holds or `timeout` passes.
@discardableResult
func eventually(timeout: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        Thread.sleep(forTimeInterval: 0.005)
    }
    return try condition()
}

/// Database-free tests of the engine over `InMemoryExperimentRepository`:
/// scheduling, slots, pause/resume/cancel, drain, and that each state change
/// is the one `Lifecycle` decides.
struct EngineSchedulingTests {
    let repo = InMemoryExperimentRepository()

    func engine(maxRunning: Int = 2, stages: [any Stage] = [ChunkedStage(name: "load", units: 40)]) -> Engine {
        var c = Engine.Configuration()
        c.maxRunning = maxRunning
        c.pollSeconds = 0.02
        c.dataDirectory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("sf-engine-\(UUID().uuidString)")
        c.owner = "test"
        let e = Engine(
            configuration: c, repository: repo, registry: StageRegistry(stages),
            logger: Logger(label: "engine-test", factory: { _ in SwiftLogNoOpLogHandler() }))
        e.start()
        return e
    }

    func state(_ id: UUID) -> ExperimentState? { repo.row(id)?.status }

    /// Every recorded state change is a move `Lifecycle` allows, with its event name.
    func expectLifecycleOnly(_ id: UUID, sourceLocation: SourceLocation = #_sourceLocation) {
        for e in repo.events(of: id) {
            guard let from = e.from, let to = e.to, e.kind != "started" else { continue }
            let legal = Lifecycle.Event.allCases.contains {
                Lifecycle.move(from: from, on: $0).map { $0.to == to && $0.record == e.kind } ?? false
            }
            #expect(legal, "\(e.kind): \(from) → \(to) is not a Lifecycle move", sourceLocation: sourceLocation)
        }
    }

    @Test func pausedExperimentsGiveUpTheirSlots() throws {
        let e = engine(maxRunning: 2, stages: [ChunkedStage(name: "load", units: 400)])
        defer { e.drain(timeout: .seconds(5)) }
        let a = repo.create("a", stages: ["load"])
        let b = repo.create("b", stages: ["load"])
        e.wake()
        #expect(eventually { state(a) == .running && state(b) == .running })
        let c = repo.create("c", stages: ["load"])
        e.wake()
        #expect(eventually(timeout: 0.3) { state(c) != .queued } == false, "both slots are taken")
        try e.pause(a)
        try e.pause(b)
        #expect(eventually { state(a) == .paused && state(b) == .paused })
        // The third is claimed although two runners are parked here.
        #expect(eventually { state(c) == .running })
        #expect(eventually(timeout: 20) { state(c) == .succeeded })
        #expect(state(a) == .paused && state(b) == .paused)
        // Both resume (in place: their runners are parked here) and finish.
        #expect(try e.resume(a) == .running)
        #expect(try e.resume(b) == .running)
        #expect(eventually(timeout: 20) { state(a) == .succeeded && state(b) == .succeeded })
        for id in [a, b, c] { expectLifecycleOnly(id) }
        #expect(
            repo.events(of: a).map(\.kind).filter { ["pause_requested", "paused", "resumed"].contains($0) } == [
                "pause_requested", "paused", "resumed",
            ])
    }

    @Test func aResumedRunnerTakesItsSlotBackAtOnce() throws {
        let e = engine(maxRunning: 1, stages: [ChunkedStage(name: "load", units: 300)])
        defer { e.drain(timeout: .seconds(5)) }
        let a = repo.create("a", stages: ["load"])
        e.wake()
        #expect(eventually { state(a) == .running })
        try e.pause(a)
        #expect(eventually { state(a) == .paused })
        let b = repo.create("b", stages: ["load"])
        e.wake()
        #expect(eventually { state(b) == .running })
        // The documented choice: resuming does not wait for a slot.
        #expect(try e.resume(a) == .running)
        #expect(eventually { e.progress(of: a)?.snapshot().status == .running })
        #expect(eventually(timeout: 20) { state(a) == .succeeded && state(b) == .succeeded })
    }

    @Test func stageDurationsExcludePausedTime() throws {
        let e = engine(maxRunning: 1, stages: [ChunkedStage(name: "load", units: 20)])
        defer { e.drain(timeout: .seconds(5)) }
        let a = repo.create("a", stages: ["load"])
        e.wake()
        #expect(eventually { state(a) == .running })
        try e.pause(a)
        #expect(eventually { state(a) == .paused })
        // Parked for at least a second by the pause gate's own count.
        #expect(eventually { (e.suspendedTime(of: a) ?? .zero) >= .seconds(1) })
        try e.resume(a)
        #expect(eventually { state(a) == .succeeded })
        let completed = try #require(repo.events(of: a).first { $0.kind == "stage_completed" })
        let ms = try #require(completed.durationMs)
        #expect(ms > 0)
        #expect(ms < 1000, "the stage's \(ms) ms include the pause")
    }

    @Test func pauseResumeAndCancelRecordTheirCause() throws {
        let e = engine(maxRunning: 2, stages: [ChunkedStage(name: "load", units: 2000)])
        defer { e.drain(timeout: .seconds(5)) }
        let a = repo.create("a", stages: ["load"])
        let b = repo.create("b", stages: ["load"])
        e.wake()
        #expect(eventually { state(a) == .running && state(b) == .running })
        try e.pause(a, cause: .api(token: "ci"))
        #expect(eventually { state(a) == .paused })
        #expect(e.pauseAll() == 1)  // b only: a is paused already
        #expect(eventually { state(b) == .paused })
        #expect(e.resumeAll() == 2)
        #expect(eventually { state(a) == .running && state(b) == .running })
        try e.cancel(a, cause: .api(token: "ops"))
        #expect(eventually { state(a) == .cancelled })

        func details(_ id: UUID, _ kind: String) -> [[String: String]] { repo.events(of: id).filter { $0.kind == kind }.map(\.details) }
        #expect(details(a, "pause_requested") == [["cause": "api", "token": "ci"]])
        #expect(details(a, "paused") == [["cause": "api", "token": "ci"]])
        #expect(details(a, "resumed") == [["cause": "signal", "signal": "SIGUSR2"]])
        #expect(details(a, "cancel_requested") == [["cause": "api", "token": "ops"]])
        #expect(details(b, "pause_requested") == [["cause": "signal", "signal": "SIGUSR1"]])
        expectLifecycleOnly(a)
        expectLifecycleOnly(b)
    }

    @Test func cancelWhilePausedAndWhileQueued() throws {
        let e = engine(maxRunning: 1, stages: [ChunkedStage(name: "load", units: 2000)])
        defer { e.drain(timeout: .seconds(5)) }
        let a = repo.create("a", stages: ["load"])
        e.wake()
        #expect(eventually { state(a) == .running })
        let queued = repo.create("q", stages: ["load"])
        try e.pause(a)
        #expect(eventually { state(a) == .paused })
        #expect(try e.cancel(a) == .cancelling)
        #expect(eventually { state(a) == .cancelled })
        #expect(eventually { state(queued) == .running })
        #expect(try e.cancel(queued) == .cancelling)
        #expect(eventually { state(queued) == .cancelled })
        #expect(throws: Engine.ControlError.illegal(.init(state: .cancelled, event: "pause"))) { try e.pause(a) }
        #expect(throws: Engine.ControlError.notFound) { try e.pause(UUID()) }
        expectLifecycleOnly(a)
    }

    @Test func aQueuedExperimentIsCancelledAtOnce() throws {
        let e = engine(maxRunning: 1, stages: [])  // no stages: nothing is claimed
        defer { e.drain(timeout: .seconds(5)) }
        let a = repo.create("a", stages: ["load"])
        #expect(try e.cancel(a) == .cancelled)
        #expect(repo.events(of: a).map(\.kind) == ["created", "cancelled"])
        #expect(try e.retry(a, fromStage: nil) == .queued)
        #expect(throws: Engine.ControlError.unknownStage("nope")) { try e.retry(a, fromStage: "nope") }
    }

    @Test func drainInterruptsRunningWorkAndKeepsPausedWorkPaused() throws {
        let e = engine(maxRunning: 2, stages: [ChunkedStage(name: "load", units: 4000)])
        let running = repo.create("running", stages: ["load"])
        let paused = repo.create("paused", stages: ["load"])
        e.wake()
        #expect(eventually { state(running) == .running && state(paused) == .running })
        try e.pause(paused)
        #expect(eventually { state(paused) == .paused })
        e.drain(timeout: .seconds(5))
        #expect(e.runningIDs.isEmpty)
        #expect(state(running) == .queued)
        let kinds = repo.events(of: running).map(\.kind)
        #expect(Array(kinds.suffix(2)) == ["interrupted", "requeued"])
        #expect(repo.events(of: running).first { $0.kind == "interrupted" }?.details["cause"] == "drain")
        #expect(state(paused) == .paused)
        #expect(try repo.hasLiveLease(paused) == false)
        expectLifecycleOnly(running)
        expectLifecycleOnly(paused)
    }

    @Test func resumingAPausedExperimentNoRunnerHoldsRequeuesIt() throws {
        let e = engine(maxRunning: 1, stages: [ChunkedStage(name: "load", units: 4000)])
        let a = repo.create("a", stages: ["load"])
        e.wake()
        #expect(eventually { state(a) == .running })
        try e.pause(a)
        #expect(eventually { state(a) == .paused })
        e.drain(timeout: .seconds(5))  // the runner is gone, the experiment stays paused

        let next = engine(maxRunning: 1, stages: [ChunkedStage(name: "load", units: 10)])
        defer { next.drain(timeout: .seconds(5)) }
        #expect(try next.resume(a) == .queued)
        #expect(eventually { state(a) == .succeeded })
        #expect(repo.events(of: a).contains { $0.kind == "resumed" && $0.from == .paused && $0.to == .queued })
        expectLifecycleOnly(a)
    }
}
