import SignalFusion
import Testing

/// The calibration's sample weights: how much of an independent observation
/// each outcome is, hand-checked.
struct SampleUniquenessTests {
    @Test func overlappingLivesShareTheirTime() {
        // Symbol 0: A lives [0, 10), B [5, 15), D known at 12 and still open.
        // Symbol 1: C lives [0, 10) alone (other symbols do not overlap).
        let u = SampleUniqueness.average(
            knownAt: [0, 5, 0, 12], resolvedAt: [10, 15, 10, .max], group: [0, 0, 1, 0])
        // A: 5 alone, 5 beside B → (5/1 + 5/2) / 10.
        #expect(u[0] == 0.75)
        // B: 5 beside A, 2 alone, 3 beside the open D → (5/2 + 2/1 + 3/2) / 10.
        #expect(u[1] == 0.6)
        #expect(u[2] == 1)
        #expect(u[3].isNaN)
    }

    @Test func identicalLivesCountAsOne() {
        let u = SampleUniqueness.average(knownAt: [0, 0, 0, 0], resolvedAt: [8, 8, 8, 8], group: [0, 0, 0, 0])
        #expect(u == [0.25, 0.25, 0.25, 0.25])
        // One ending as another starts: no overlap.
        let v = SampleUniqueness.average(knownAt: [0, 8], resolvedAt: [8, 16], group: [3, 3])
        #expect(v == [1, 1])
    }

    /// Data cut after a signal resolved give it the same weight, bit for bit.
    @Test func weightsAreKnownWhenTheOutcomeResolves() {
        var known: [Int64] = [], resolved: [Int64] = [], group: [Int32] = []
        var state: UInt64 = 5
        func next() -> Int64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int64(state >> 40)
        }
        for i in 0..<400 {
            let s = Int64(i) * 1_000 + next() % 700
            known.append(s)
            resolved.append(s + 1 + next() % 9_000)
            group.append(Int32(i % 3))
        }
        let full = SampleUniqueness.average(knownAt: known, resolvedAt: resolved, group: group)
        for cut in stride(from: Int64(5_000), to: 400_000, by: 37_000) {
            let keep = known.indices.filter { known[$0] <= cut }
            let cutResolved = keep.map { resolved[$0] <= cut ? resolved[$0] : .max }
            let part = SampleUniqueness.average(
                knownAt: keep.map { known[$0] }, resolvedAt: cutResolved, group: keep.map { group[$0] })
            for (k, i) in keep.enumerated() where resolved[i] <= cut {
                #expect(part[k].bitPattern == full[i].bitPattern, "cut \(cut), signal \(i)")
            }
            #expect(keep.contains { resolved[$0] <= cut })
        }
    }
}
