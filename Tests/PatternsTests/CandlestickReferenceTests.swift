import Patterns
import Testing

/// Agreement with TA-Lib's CDL* functions on the committed fixture.
///
/// Agreement is measured on detections, not on all bars (which would be
/// inflated by the many bars where neither fires): the share of bars flagged
/// by either side where both give the same score. Targets: doji and
/// engulfing 100 %, the others ≥ 95 % (all reach 100 % today).
struct CandlestickReferenceTests {
    let f = Fixture.shared

    static let cases: [(CandlestickPattern, String, Double)] = [
        (.hammer, "cdl_hammer", 0.95),
        (.shootingStar, "cdl_shootingstar", 0.95),
        (.bullishEngulfing, "cdl_engulfing", 1.0),
        (.doji, "cdl_doji", 1.0),
        (.dragonflyDoji, "cdl_dragonflydoji", 0.95),
        (.gravestoneDoji, "cdl_gravestonedoji", 0.95),
        (.threeWhiteSoldiers, "cdl_3whitesoldiers", 0.95),
        (.threeBlackCrows, "cdl_3blackcrows", 0.95),
    ]

    @Test(arguments: cases.map(\.0))
    func agreement(_ pattern: CandlestickPattern) {
        let (_, column, target) = Self.cases.first { $0.0 == pattern }!
        let ours = Candlesticks.scores(pattern, open: f.open, high: f.high, low: f.low, close: f.close)
        let theirs = f.reference[column]!
        #expect(ours.count == theirs.count)
        var union = 0, same = 0
        var firstDiffs: [Int] = []
        for i in theirs.indices where ours[i] != 0 || theirs[i] != 0 {
            union += 1
            if ours[i] == theirs[i] { same += 1 } else if firstDiffs.count < 5 { firstDiffs.append(i) }
        }
        let rate = union == 0 ? 1.0 : Double(same) / Double(union)
        #expect(union >= 20, "too few detections of \(pattern) in the fixture to measure")
        #expect(rate >= target, "\(pattern): \(same)/\(union) agree; first differences at \(firstDiffs)")
        #expect(ours.prefix(Candlesticks.lookback(pattern)).allSatisfy { $0 == 0 })
    }

    @Test func engulfingSplitsIntoBullishAndBearishEvents() {
        let events = CandlestickEvents.detect(
            open: f.open, high: f.high, low: f.low, close: f.close,
            patterns: [.bullishEngulfing, .bearishEngulfing])
        let theirs = f.reference["cdl_engulfing"]!
        let bullish = events.filter { $0.kind == .candlestick(.bullishEngulfing) }.map(\.endIndex)
        let bearish = events.filter { $0.kind == .candlestick(.bearishEngulfing) }.map(\.endIndex)
        #expect(bullish == theirs.indices.filter { theirs[$0] > 0 })
        #expect(bearish == theirs.indices.filter { theirs[$0] < 0 })
        #expect(events.allSatisfy { $0.direction == ($0.kind == .candlestick(.bullishEngulfing) ? .bullish : .bearish) })
    }

    @Test func everyEventHasConfidenceInRangeAndSpan() {
        let events = CandlestickEvents.detect(open: f.open, high: f.high, low: f.low, close: f.close)
        #expect(events.count > 1000)
        for e in events {
            #expect(e.confidence >= 0 && e.confidence <= 1)
            guard case .candlestick(let p) = e.kind else { Issue.record("not a candlestick"); continue }
            #expect(e.endIndex - e.startIndex == p.span - 1)
            #expect(e.confirmedAt == e.endIndex)
        }
        #expect(zip(events, events.dropFirst()).allSatisfy { $0.endIndex <= $1.endIndex })
    }

    @Test func shortInputScoresNothing() {
        let x = [1.0, 2, 3]
        for p in CandlestickPattern.allCases {
            #expect(Candlesticks.scores(p, open: x, high: x, low: x, close: x) == [0, 0, 0])
        }
        #expect(Candlesticks.doji(open: [], high: [], low: [], close: []) == [])
    }

    @Test func featureNames() {
        #expect(CandlestickPattern.bullishEngulfing.featureName == "cdl_engulfing")
        #expect(CandlestickPattern.threeWhiteSoldiers.featureName == "cdl_3whitesoldiers")
    }
}

/// The recognizers score two bars per step and the last odd bar alone; on
/// every prefix length just past the lookback (and some longer ones) both
/// ways must give TA-Lib's scores.
struct CandlestickPrefixTests {
    let f = Fixture.shared

    @Test(arguments: CandlestickReferenceTests.cases.map(\.0))
    func prefixes(_ pattern: CandlestickPattern) {
        let (_, column, _) = CandlestickReferenceTests.cases.first { $0.0 == pattern }!
        let theirs = f.reference[column]!
        let lookback = Candlesticks.lookback(pattern)
        for n in Array(0...lookback + 12) + [101, 102, 1_001, 2_999] {
            let ours = Candlesticks.scores(
                pattern, open: Array(f.open.prefix(n)), high: Array(f.high.prefix(n)),
                low: Array(f.low.prefix(n)), close: Array(f.close.prefix(n)))
            #expect(ours == Array(theirs.prefix(n)), "\(pattern), \(n) bars")
        }
    }
}
