/// Turns the candlestick score series into ``PatternEvent``s.
///
/// Direction: hammer, dragonfly doji, bullish engulfing and three white
/// soldiers are bullish; shooting star, gravestone doji, bearish engulfing and
/// three black crows bearish. A plain doji is a reversal sign, so it takes the
/// direction opposite to the 5-bar move into it (`close[t] < close[t−5]` →
/// bullish, otherwise bearish; bullish when fewer than 5 bars precede it and
/// the close did not rise).
///
/// Confidence: `strength × (0.5 + 0.5·size)`, where `strength` is TA-Lib's
/// score / 100 (1.0, or 0.8 for an engulfing that only equals the prior body)
/// and `size = min(1, patternRange / (2·avgRange))`, the high-low range of the
/// pattern's bars against twice the mean high-low range of the 10 bars before
/// it (size 1 when there is no such history or it is flat). So a pattern as
/// large as twice the recent bars scores its full strength, a tiny one half.
public enum CandlestickEvents {
    /// Detects every candlestick pattern and returns the events in bar order
    /// (ties in ``CandlestickPattern`` order).
    ///
    /// - Parameters:
    ///   - open, high, low, close: the bars' columns, all of the same length.
    ///   - patterns: which patterns to look for. Default: all.
    /// - Returns: one event per (pattern, bar) hit; `endIndex == confirmedAt`
    ///   is the signal bar, `startIndex` the pattern's first bar.
    public static func detect(
        open: [Double], high: [Double], low: [Double], close: [Double],
        patterns: [CandlestickPattern] = CandlestickPattern.allCases
    ) -> [PatternEvent] {
        var events: [PatternEvent] = []
        var engulfingScores: [Int32]?
        for pattern in patterns {
            let scores: [Int32]
            if pattern == .bullishEngulfing || pattern == .bearishEngulfing {
                if engulfingScores == nil {
                    engulfingScores = Candlesticks.engulfing(open: open, high: high, low: low, close: close)
                }
                scores = engulfingScores!
            } else {
                scores = Candlesticks.scores(pattern, open: open, high: high, low: low, close: close)
            }
            for (t, score) in scores.enumerated() where score != 0 {
                if pattern == .bullishEngulfing && score < 0 { continue }
                if pattern == .bearishEngulfing && score > 0 { continue }
                let start = Swift.max(0, t - pattern.span + 1)
                events.append(
                    PatternEvent(
                        kind: .candlestick(pattern),
                        direction: direction(pattern, score: score, close: close, at: t),
                        confidence: confidence(score: score, start: start, end: t, high: high, low: low),
                        startIndex: start, endIndex: t, confirmedAt: t))
            }
        }
        let order = Dictionary(uniqueKeysWithValues: CandlestickPattern.allCases.enumerated().map { ($1, $0) })
        events.sort { a, b in
            if a.endIndex != b.endIndex { return a.endIndex < b.endIndex }
            guard case .candlestick(let pa) = a.kind, case .candlestick(let pb) = b.kind else { return false }
            return order[pa]! < order[pb]!
        }
        return events
    }

    static func direction(_ pattern: CandlestickPattern, score: Int32, close: [Double], at t: Int) -> PatternDirection {
        switch pattern {
        case .hammer, .dragonflyDoji, .threeWhiteSoldiers: .bullish
        case .shootingStar, .gravestoneDoji, .threeBlackCrows: .bearish
        case .bullishEngulfing, .bearishEngulfing: score > 0 ? .bullish : .bearish
        case .doji:
            close[t] < close[Swift.max(0, t - 5)] || t == 0 ? .bullish : (close[t] > close[Swift.max(0, t - 5)] ? .bearish : .bullish)
        }
    }

    static func confidence(score: Int32, start: Int, end: Int, high: [Double], low: [Double]) -> Double {
        let strength = Double(Swift.abs(score)) / 100.0
        var hi = -Double.infinity, lo = Double.infinity
        for i in start...end { hi = Swift.max(hi, high[i]); lo = Swift.min(lo, low[i]) }
        let from = Swift.max(0, start - 10)
        var size = 1.0
        if from < start {
            var sum = 0.0
            for i in from..<start { sum += high[i] - low[i] }
            let avg = sum / Double(start - from)
            if avg > 0 { size = Swift.min(1.0, (hi - lo) / (2 * avg)) }
        }
        let c = strength * (0.5 + 0.5 * size)
        return c.isNaN ? 0 : Swift.min(1, Swift.max(0, c))
    }
}
