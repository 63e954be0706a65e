import SignalFusion
import Testing

/// Triple-barrier outcomes on hand-checked bars.
struct OutcomeTests {
    /// Bar 0 is the signal bar (close 100); the following bars are given as (open, high, low, close).
    static func label(
        _ bars: [(Double, Double, Double, Double)], direction: Double = 1, stop: Double = 98, target: Double = 104,
        horizon: Int = 3, cost: Double = 0
    ) -> SignalOutcome {
        let all = [(100.0, 100.5, 99.5, 100.0)] + bars
        return OutcomeLabeler.label(
            bar: 0, direction: direction, entry: 100, stop: stop, target: target, horizon: horizon, cost: cost,
            open: all.map(\.0), high: all.map(\.1), low: all.map(\.2), close: all.map(\.3),
            closeTime: { Int64($0 + 1) * 1000 })
    }

    @Test func target() {
        // Filled at 100 (bar 1's open); bar 2 reaches 104: R = (104 − 100) / 2 = 2, decided at bar 2's close.
        let o = Self.label([(100, 103, 99, 102), (102, 104.5, 101, 104), (104, 105, 103, 104)])
        #expect(o == SignalOutcome(exit: .target, r: 2, resolvedAt: 3000))
    }

    @Test func stop() {
        let o = Self.label([(100, 101, 97.5, 98.5), (98.5, 106, 98.2, 105), (104, 105, 103, 104)])
        #expect(o == SignalOutcome(exit: .stop, r: -1, resolvedAt: 2000))
    }

    @Test func bothInOneBarCountsAsStop() {
        let o = Self.label([(100, 105, 97, 101), (101, 101.5, 100.5, 101), (101, 101.5, 100.5, 101)])
        #expect(o == SignalOutcome(exit: .stop, r: -1, resolvedAt: 2000))
    }

    @Test func gapThroughTheStopExitsAtTheOpen() {
        let o = Self.label([(100, 100.5, 99, 99.5), (97, 97.5, 96, 97), (97, 98, 96, 97)])
        #expect(o == SignalOutcome(exit: .stop, r: -1.5, resolvedAt: 3000))
    }

    @Test func horizon() {
        // Three bars inside the barriers: exit at the third one's close, R = (101 − 100) / 2.
        let o = Self.label([(100, 101, 99, 100.5), (100.5, 102, 99.5, 101.5), (101.5, 103, 100.5, 101)])
        #expect(o == SignalOutcome(exit: .horizon, r: 0.5, resolvedAt: 4000))
    }

    @Test func openUntilTheBarsDecide() {
        let o = Self.label([(100, 101, 99, 100.5), (100.5, 102, 99.5, 101.5)])
        #expect(o == .open && o.r == nil && o.resolvedAt == nil)
        // One more bar decides it.
        #expect(Self.label([(100, 101, 99, 100.5), (100.5, 102, 99.5, 101.5), (101.5, 104, 101, 103)]).exit == .target)
    }

    @Test func shortWithCosts() {
        // Short at 100, stop 102, target 96; bar 1 falls to 95.5: R = (−(96 − 100) − 0.2) / 2 = 1.9.
        let o = Self.label([(100, 100.5, 95.5, 96), (96, 97, 95, 96)], direction: -1, stop: 102, target: 96, cost: 0.2)
        #expect(o.exit == .target && abs(o.r! - 1.9) < 1e-12 && o.resolvedAt == 2000)
    }

    @Test func everyBarMatchesTheLabels() {
        let open = [100.0, 100, 100.5, 101.5, 103], high = [100.5, 101, 102, 104, 104], low = [99.5, 99, 99.5, 101, 102]
        let close = [100.0, 100.5, 101.5, 103, 103.5], atr = [Double.nan, 1, 1, 1, 1]
        let r = OutcomeLabeler.everyBar(
            open: open, high: high, low: low, close: close, atr: atr, stopMultiple: 2, targetMultiple: 4, horizon: 3,
            costs: TradingCosts())
        #expect(r.long[0].isNaN && r.short[0].isNaN)  // no ATR
        // Bar 1 long: stop 98.5, target 104.5, horizon → bar 4's close 103.5, filled at 100.5: R = 3 / 2.
        #expect(r.long[1] == 1.5)
        #expect(r.long[4].isNaN)  // nothing follows: open
    }
}
