import Testing

@testable import Pipeline

struct LifecycleTests {
    typealias S = ExperimentState
    typealias A = Lifecycle.Action

    /// The whole table, written out independently of `Lifecycle.move`: every
    /// legal (state, event) pair with its next state, action and event row.
    /// Every pair not listed must be illegal.
    static let legal: [Lifecycle.Event: [S: (S, A, String)]] = [
        .claim: [.queued: (.running, .startRunner, "started")],
        .pause: [.running: (.pausing, .parkAtNextCheckpoint, "pause_requested")],
        .parked: [.pausing: (.paused, .releaseSlot, "paused")],
        .resume: [.paused: (.running, .wakeRunner, "resumed"), .pausing: (.running, .cancelPendingPause, "resumed")],
        .cancel: [
            .queued: (.cancelled, .none, "cancelled"), .interrupted: (.cancelled, .none, "cancelled"),
            .running: (.cancelling, .stopRunner, "cancel_requested"), .pausing: (.cancelling, .stopRunner, "cancel_requested"),
            .paused: (.cancelling, .stopRunner, "cancel_requested"),
        ],
        .stopped: [.cancelling: (.cancelled, .releaseRunner, "cancelled")],
        .succeed: [.running: (.succeeded, .releaseRunner, "succeeded"), .pausing: (.succeeded, .releaseRunner, "succeeded")],
        .fail: [
            .running: (.failed, .releaseRunner, "failed"), .pausing: (.failed, .releaseRunner, "failed"),
            .cancelling: (.failed, .releaseRunner, "failed"),
        ],
        .interrupt: [
            .running: (.interrupted, .releaseRunner, "interrupted"), .pausing: (.interrupted, .releaseRunner, "interrupted"),
            .cancelling: (.cancelled, .releaseRunner, "cancelled"),
        ],
        .requeue: [.interrupted: (.queued, .wakeScheduler, "requeued"), .paused: (.queued, .wakeScheduler, "resumed")],
        .retry: [
            .failed: (.queued, .wakeScheduler, "retry"), .cancelled: (.queued, .wakeScheduler, "retry"),
            .interrupted: (.queued, .wakeScheduler, "retry"),
        ],
    ]

    struct Pair: CustomTestStringConvertible, Sendable {
        var state: ExperimentState
        var event: Lifecycle.Event
        var testDescription: String { "\(event.rawValue) in \(state.rawValue)" }
    }

    static let allPairs: [Pair] = ExperimentState.allCases.flatMap { s in Lifecycle.Event.allCases.map { Pair(state: s, event: $0) } }

    /// Every (state, event) pair: legal → the expected state and action;
    /// illegal → throws naming the state, and the state is unchanged.
    @Test(arguments: allPairs)
    func everyStateAndEvent(_ pair: Pair) throws {
        var m = Lifecycle(pair.state)
        if let (next, action, record) = Self.legal[pair.event]?[pair.state] {
            #expect(try m.apply(pair.event) == action)
            #expect(m.state == next)
            #expect(Lifecycle.move(from: pair.state, on: pair.event) == Lifecycle.Move(to: next, action: action, record: record))
        } else {
            #expect(throws: Lifecycle.IllegalTransition(state: pair.state, event: pair.event.verb)) { try m.apply(pair.event) }
            #expect(m.state == pair.state)
            #expect(Lifecycle.move(from: pair.state, on: pair.event) == nil)
        }
    }

    @Test func theTableHasEveryPair() {
        #expect(Self.allPairs.count == ExperimentState.allCases.count * Lifecycle.Event.allCases.count)
        #expect(Self.allPairs.count == 99)
        #expect(Self.legal.values.map(\.count).reduce(0, +) == 24)
    }

    /// The conditional updates' expected states come from the same table.
    @Test(arguments: Lifecycle.Event.allCases)
    func sourcesAreTheStatesAnEventMayLeave(_ event: Lifecycle.Event) {
        #expect(Lifecycle.sources(of: event) == Set(Self.legal[event]?.keys.map { $0 } ?? []))
        for target in ExperimentState.allCases {
            let expected = Set(Self.legal[event, default: [:]].filter { $0.value.0 == target }.keys)
            #expect(Lifecycle.sources(of: event, to: target) == expected)
        }
    }

    @Test func drainMovesComeFromTheTable() {
        let (interrupt, requeue) = Lifecycle.interruptAndRequeue
        #expect(interrupt == Lifecycle.Step(from: [.pausing, .running], to: .interrupted, record: "interrupted"))
        #expect(requeue == Lifecycle.Step(from: [.interrupted], to: .queued, record: "requeued"))
    }

    @Test(arguments: ExperimentState.allCases)
    func allowedActionsFollowTheTable(_ state: ExperimentState) {
        let expected: [S: [String]] = [
            .queued: ["cancel"], .running: ["pause", "cancel"], .pausing: ["resume", "cancel"], .paused: ["resume", "cancel"],
            .cancelling: [], .succeeded: [], .failed: ["retry"], .cancelled: ["retry"], .interrupted: ["cancel", "retry"],
        ]
        #expect(Lifecycle.allowedActions(in: state) == expected[state])
        // And each allowed action is a legal event there.
        for name in Lifecycle.allowedActions(in: state) {
            let event = Lifecycle.clientActions.first { $0.name == name }!.event
            #expect(Lifecycle.move(from: state, on: event) != nil)
        }
    }

    @Test func happyPathWithAPause() throws {
        var m = Lifecycle(.queued)
        #expect(try m.claim() == .startRunner)
        #expect(try m.pause() == .parkAtNextCheckpoint)
        #expect(m.state == .pausing)
        #expect(try m.parked() == .releaseSlot)
        #expect(m.state == .paused)
        #expect(try m.resume() == .wakeRunner)
        #expect(m.state == .running)
        #expect(try m.succeed() == .releaseRunner)
        #expect(m.state == .succeeded)
    }

    @Test func illegalRequestsNameTheState() {
        var done = Lifecycle(.succeeded)
        #expect(throws: Lifecycle.IllegalTransition(state: .succeeded, event: "pause")) { try done.pause() }
        #expect("\(Lifecycle.IllegalTransition(state: .succeeded, event: "pause"))" == "cannot pause an experiment that is succeeded")
        var running = Lifecycle(.running)
        #expect(throws: Lifecycle.IllegalTransition(state: .running, event: "resume")) { try running.resume() }
        #expect(done.state == .succeeded)
        #expect(running.state == .running)
    }
}
