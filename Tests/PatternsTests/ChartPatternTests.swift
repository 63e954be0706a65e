import Patterns
import Testing

/// Chart patterns on small hand-made series, and the no-look-ahead property.
struct ChartPatternTests {
    /// Builds bars from a close path: high = close + 0.2, low = close − 0.2.
    static func bars(_ path: [Double]) -> (high: [Double], low: [Double], close: [Double]) {
        (path.map { $0 + 0.2 }, path.map { $0 - 0.2 }, path)
    }

    /// Linear interpolation through (bar, price) knots.
    static func path(_ knots: [(Int, Double)]) -> [Double] {
        var out: [Double] = []
        for (k, (i0, p0)) in knots.dropLast().enumerated() {
            let (i1, p1) = knots[k + 1]
            for i in i0..<i1 { out.append(p0 + (p1 - p0) * Double(i - i0) / Double(i1 - i0)) }
        }
        out.append(knots.last!.1)
        return out
    }

    let detector = ChartPatternDetector(swingWindow: 3)

    @Test func doubleTop() {
        // Up to 110 at bar 10, down to 104 at 20, up to 110.2 at 30, down to 98 at 45.
        let b = Self.bars(Self.path([(0, 100), (10, 110), (20, 104), (30, 110.2), (45, 98)]))
        let events = detector.detect(high: b.high, low: b.low, close: b.close)
        let tops = events.filter { $0.kind == .chart(.doubleTop) }
        #expect(tops.count == 1)
        let e = tops[0]
        #expect(e.direction == .bearish)
        #expect(e.startIndex == 10)
        #expect(abs(e.neckline!.value(at: 40) - 103.8) < 1e-9)  // the trough's low
        // First close below 103.8: the path is 110.2 − 0.8·(t−30) → t = 38.
        #expect(e.confirmedAt == 38 && e.endIndex == 38)
        #expect(e.confidence > 0.5 && e.confidence <= 1)
        #expect(!events.contains { $0.kind == .chart(.doubleBottom) })
    }

    @Test func doubleBottom() {
        let b = Self.bars(Self.path([(0, 110), (10, 100), (20, 106), (30, 99.9), (45, 112)]))
        let bottoms = detector.detect(high: b.high, low: b.low, close: b.close)
            .filter { $0.kind == .chart(.doubleBottom) }
        #expect(bottoms.count == 1)
        #expect(bottoms[0].direction == .bullish)
        #expect(bottoms[0].startIndex == 10)
        #expect(abs(bottoms[0].neckline!.startPrice - 106.2) < 1e-9)
        #expect(b.close[bottoms[0].confirmedAt] > 106.2 && b.close[bottoms[0].confirmedAt - 1] <= 106.2)
    }

    @Test func headAndShoulders() {
        let b = Self.bars(
            Self.path([
                (0, 100), (10, 108), (18, 103), (28, 114), (38, 103.5), (48, 108.3), (60, 95),
            ]))
        let events = detector.detect(high: b.high, low: b.low, close: b.close)
            .filter { $0.kind == .chart(.headAndShoulders) }
        #expect(events.count == 1)
        let e = events[0]
        #expect(e.direction == .bearish)
        #expect(e.startIndex == 10)
        let neck = e.neckline!
        #expect(neck.startIndex == 18 && neck.endIndex == 38)
        #expect(abs(neck.startPrice - 102.8) < 1e-9 && abs(neck.endPrice - 103.3) < 1e-9)
        #expect(b.close[e.confirmedAt] < neck.value(at: e.confirmedAt))
        #expect(b.close[e.confirmedAt - 1] >= neck.value(at: e.confirmedAt - 1))
        #expect(e.confidence > 0 && e.confidence <= 1)
    }

    @Test func inverseHeadAndShoulders() {
        let b = Self.bars(
            Self.path([
                (0, 114), (10, 106), (18, 111), (28, 100), (38, 110.5), (48, 105.7), (60, 119),
            ]))
        let events = detector.detect(high: b.high, low: b.low, close: b.close)
            .filter { $0.kind == .chart(.inverseHeadAndShoulders) }
        #expect(events.count == 1)
        #expect(events[0].direction == .bullish)
        #expect(events[0].startIndex == 10)
        #expect(events[0].neckline!.startIndex == 18 && events[0].neckline!.endIndex == 38)
    }

    @Test func noPatternWithoutBreakout() {
        // A double top whose price never closes under the trough.
        let b = Self.bars(Self.path([(0, 100), (10, 110), (20, 104), (30, 110.2), (45, 105)]))
        #expect(detector.detect(high: b.high, low: b.low, close: b.close).isEmpty)
    }

    @Test func swingPoints() {
        let b = Self.bars(Self.path([(0, 100), (10, 110), (20, 104), (30, 110.2), (45, 98)]))
        let swings = SwingDetector.detect(high: b.high, low: b.low, window: 2)
        #expect(swings.map(\.index) == [10, 20, 30])
        #expect(swings.map(\.kind) == [.high, .low, .high])
        #expect(swings.allSatisfy { $0.confirmedAt == $0.index + 2 })
    }

    /// Cutting the data at t leaves every event confirmed at or before t
    /// unchanged (and adds none), over many t of a long random walk.
    @Test func noLookAhead() {
        var rng = SplitMix64(seed: 42)
        var price = 100.0
        var close: [Double] = [], high: [Double] = [], low: [Double] = []
        for _ in 0..<3000 {
            price *= 1 + (rng.nextDouble() - 0.5) * 0.02
            close.append(price)
            high.append(price * (1 + rng.nextDouble() * 0.004))
            low.append(price * (1 - rng.nextDouble() * 0.004))
        }
        let full = detector.detect(high: high, low: low, close: close)
        #expect(full.count >= 5, "the walk should contain some chart patterns")
        for t in stride(from: 50, to: 3000, by: 37) {
            let cut = detector.detect(high: Array(high[...t]), low: Array(low[...t]), close: Array(close[...t]))
            #expect(cut == full.filter { $0.confirmedAt <= t }, "cut at \(t)")
        }
        // The same for candlestick events (their confirmation bar is the signal bar).
        let open = [close[0]] + close.dropLast()
        let candles = CandlestickEvents.detect(open: open, high: high, low: low, close: close)
        for t in stride(from: 20, to: 3000, by: 211) {
            let cut = CandlestickEvents.detect(
                open: Array(open[...t]), high: Array(high[...t]), low: Array(low[...t]), close: Array(close[...t]))
            #expect(cut == candles.filter { $0.confirmedAt <= t })
        }
    }
}

/// A small deterministic generator for the property test.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
