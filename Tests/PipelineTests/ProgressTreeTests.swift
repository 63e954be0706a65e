import Synchronization
import Testing
@testable import Pipeline

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    let now = Mutex(100.0)
    func advance(_ s: Double) { now.withLock { $0 += s } }
    var read: @Sendable () -> Double { { self.now.withLock { $0 } } }
}

struct ProgressTreeTests {
    @Test func percentAggregatesUpTheTree() {
        let clock = ManualClock()
        let tree = ProgressTree(stages: ["load", "resample"], clock: clock.read)
        let read = tree.child(of: "pipeline/load", "read", total: 1000)
        tree.child(of: "pipeline/load", "validate", total: 10)
        tree.advance(read, by: 500)
        #expect(tree.percent(read) == 50)
        #expect(tree.percent("pipeline/load") == 25)
        #expect(tree.percent("pipeline") == 12.5)
        tree.finish("pipeline/load")
        #expect(tree.percent("pipeline") == 50)
        tree.finish("pipeline/resample", .skipped)
        #expect(tree.percent("pipeline") == 100)
    }

    @Test func weightsSplitTheParent() {
        let tree = ProgressTree(stages: ["s"])
        let a = tree.child(of: "pipeline/s", "a", total: 10, weight: 3)
        tree.child(of: "pipeline/s", "b", total: 10, weight: 1)
        tree.advance(a, by: 10)
        #expect(tree.percent("pipeline/s") == 75)
    }

    @Test func rateAndETA() {
        let clock = ManualClock()
        let tree = ProgressTree(stages: ["load"], clock: clock.read)
        let step = tree.child(of: "pipeline/load", "read", total: 1000)
        tree.start(step)
        clock.advance(2)
        tree.advance(step, by: 250)
        let snap = tree.snapshot()
        let node = snap.children[0].children[0]
        #expect(node.path == "pipeline/load/read")
        #expect(node.kind == .step)
        #expect(node.status == .running)
        #expect(node.rate == 125)
        #expect(node.etaSeconds == 6)
        #expect(snap.children[0].status == .running)
        #expect(snap.status == .running)
    }

    @Test func pauseMarksRunningNodesAndVersionMoves() {
        let tree = ProgressTree(stages: ["a", "b"])
        let v0 = tree.version
        tree.start("pipeline/a")
        #expect(tree.version > v0)
        tree.setRunning(to: .paused)
        let snap = tree.snapshot()
        #expect(snap.status == .paused)
        #expect(snap.children[0].status == .paused)
        #expect(snap.children[1].status == .pending)
        tree.setRunning(to: .running)
        #expect(tree.snapshot().children[0].status == .running)
    }

    @Test func substepsNestUnderSteps() {
        let tree = ProgressTree(stages: ["export"])
        let step = tree.child(of: "pipeline/export", "parquet")
        let sub = tree.child(of: step, "features_1h", total: 4)
        #expect(tree.child(of: step, "features_1h", total: 4) == sub)
        tree.advance(sub, by: 1)
        let node = tree.snapshot().children[0].children[0].children[0]
        #expect(node.kind == .substep)
        #expect(node.percent == 25)
    }
}
