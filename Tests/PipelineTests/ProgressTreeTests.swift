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

    /// Units, percent, rate and ETA at every level: a substep counts, its step
    /// and stage sum it, the pipeline counts stages.
    @Test func substepUnitsAggregateUpWithAnETAAtEveryLevel() {
        let clock = ManualClock()
        let tree = ProgressTree(stages: ["load", "export"], clock: clock.read)
        tree.start("pipeline/load")
        let file = tree.child(of: "pipeline/load", "EURUSD", total: 400)
        let a = tree.child(of: file, "chunk_1", total: 200)
        tree.child(of: file, "chunk_2", total: 200)
        tree.start(a)
        clock.advance(2)
        tree.advance(a, by: 100)
        var snap = tree.snapshot()
        let load = snap.children[0]
        let step = load.children[0]
        let sub = step.children[0]
        #expect((sub.kind, sub.unitsDone, sub.unitsTotal, sub.percent) == (ProgressTree.Kind.substep, 100, 200, 50))
        #expect((step.unitsDone, step.unitsTotal, step.percent) == (100, 400, 25))
        #expect((load.unitsDone, load.unitsTotal, load.percent) == (100, 400, 25))
        #expect((snap.unitsDone, snap.unitsTotal, snap.percent) == (0, 2, 12.5))
        #expect(sub.rate == 50 && step.rate == 50 && load.rate == 50)
        #expect(sub.etaSeconds == 2 && step.etaSeconds == 6 && load.etaSeconds == 6 && snap.etaSeconds == 14)

        // A step with its own total counts its substeps against it, however many appear.
        tree.finish(a)
        let extra = tree.child(of: file, "chunk_3", total: 50)
        tree.advance(extra, by: 50)
        #expect(tree.percent(file) == 62.5)
        // Planned substeps never started go away.
        tree.prunePending(under: file)
        #expect(tree.snapshot().children[0].children[0].children.map(\.name) == ["chunk_1", "chunk_3"])
        #expect(!tree.contains(file + "/chunk_2"))
        tree.finish(file)
        tree.finish("pipeline/load")
        snap = tree.snapshot()
        #expect((snap.unitsDone, snap.percent) == (1, 50))
        #expect(snap.children[0].unitsDone == 400)
    }
}
