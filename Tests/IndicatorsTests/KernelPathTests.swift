import Foundation
import Indicators
import Testing

/// The kernels advance several bars per step (four-bar recurrences, bar
/// pairs) and finish the last few bars one at a time; the bars a step covers
/// depend on the input's length. Computing on every prefix length just past
/// the lookback exercises each way of ending, against TA-Lib's values.
struct KernelPathTests {
    let f = Fixture.shared

    /// The prefixes of the fixture checked: every length from the first
    /// output to 11 bars later, and a few odd and even lengths further on.
    func lengths(after lookback: Int) -> [Int] {
        Array(lookback + 1...lookback + 12) + [101, 102, 103, 1001, 2_999]
    }

    func check(_ name: String, lookback: Int, _ compute: ([Double], [Double], [Double]) -> [Double]) {
        let theirs = f.reference[name]!
        for n in lengths(after: lookback) {
            let ours = compute(Array(f.high.prefix(n)), Array(f.low.prefix(n)), Array(f.close.prefix(n)))
            #expect(mismatches(ours, Array(theirs.prefix(n))) == [], "\(name), \(n) bars")
        }
    }

    @Test func everyIndicatorOnPrefixes() {
        check("sma_20", lookback: 19) { _, _, c in SMA.compute(c, period: 20) }
        check("ema_12", lookback: 11) { _, _, c in EMA.compute(c, period: 12) }
        check("ema_50", lookback: 49) { _, _, c in EMA.compute(c, period: 50) }
        check("rsi_14", lookback: 14) { _, _, c in RSI.compute(c, period: 14) }
        check("rsi_5", lookback: 5) { _, _, c in RSI.compute(c, period: 5) }
        check("macd", lookback: 33) { _, _, c in MACD.compute(c).macd }
        check("macd_signal", lookback: 33) { _, _, c in MACD.compute(c).signal }
        check("macd_hist", lookback: 33) { _, _, c in MACD.compute(c).histogram }
        check("bb_upper_20", lookback: 19) { _, _, c in BollingerBands.compute(c).upper }
        check("bb_middle_20", lookback: 19) { _, _, c in BollingerBands.compute(c).middle }
        check("bb_lower_20", lookback: 19) { _, _, c in BollingerBands.compute(c).lower }
        check("atr_14", lookback: 14) { h, l, c in ATR.compute(high: h, low: l, close: c) }
        check("atr_5", lookback: 5) { h, l, c in ATR.compute(high: h, low: l, close: c, period: 5) }
        check("stoch_k", lookback: 17) { h, l, c in Stochastic.compute(high: h, low: l, close: c).k }
        check("stoch_d", lookback: 17) { h, l, c in Stochastic.compute(high: h, low: l, close: c).d }
        check("adx_14", lookback: 27) { h, l, c in ADX.compute(high: h, low: l, close: c) }
        check("adx_7", lookback: 13) { h, l, c in ADX.compute(high: h, low: l, close: c, period: 7) }
    }

    /// A value never depends on later bars, to the last bit: on every prefix
    /// length the result is the prefix of the full result (the fusion stage's
    /// no-look-ahead property test cuts series at arbitrary bars and compares
    /// exactly). Covers the indicators the fusion reads.
    @Test func prefixesGiveBitForBitPrefixes() {
        let n = 400
        let h = Array(f.high.prefix(n)), l = Array(f.low.prefix(n)), c = Array(f.close.prefix(n))
        let indicators: [(String, ([Double], [Double], [Double]) -> [Double])] = [
            ("sma_20", { _, _, c in SMA.compute(c, period: 20) }),
            ("ema_12", { _, _, c in EMA.compute(c, period: 12) }),
            ("ema_50", { _, _, c in EMA.compute(c, period: 50) }),
            ("atr_14", { h, l, c in ATR.compute(high: h, low: l, close: c) }),
            ("atr_5", { h, l, c in ATR.compute(high: h, low: l, close: c, period: 5) }),
            ("adx_14", { h, l, c in ADX.compute(high: h, low: l, close: c) }),
        ]
        for (name, compute) in indicators {
            let whole = compute(h, l, c)
            var differing: [Int] = []
            for m in 1...n {
                let part = compute(Array(h.prefix(m)), Array(l.prefix(m)), Array(c.prefix(m)))
                let same = zip(part, whole).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
                if !same { differing.append(m) }
            }
            #expect(differing.isEmpty, "\(name): prefixes of \(differing.prefix(10)) bars differ")
        }
    }

    /// Mean and population standard deviation of `x[t−period+1 … t]`, two
    /// passes.
    func twoPass(_ x: [Double], _ t: Int, _ period: Int) -> (mean: Double, sigma: Double) {
        var sum = 0.0
        for j in (t - period + 1)...t { sum += x[j] }
        let mean = sum / Double(period)
        var squares = 0.0
        for j in (t - period + 1)...t {
            let d: Double = x[j] - mean
            squares += d * d
        }
        return (mean, (squares / Double(period)).squareRoot())
    }

    /// Prices far from zero with a tiny spread: Σx²/n − mean² loses every
    /// digit of σ² here (the squares are ~1e12, the variance ~1e-5), which is
    /// why TA-Lib (and this module) sums squared deviations from a shift
    /// instead. σ must agree with a two-pass computation.
    @Test func bollingerSigmaOnLargeOffset() {
        let n = 20_000, period = 20
        var x: [Double] = []
        for i in 0..<n {
            let wiggle: Double = 0.01 * Double((i * 7919) % 613) / 613
            x.append(1_000_000 + wiggle + 1e-3 * Double(i % 17))
        }
        let b = BollingerBands.compute(x, period: period, devUp: 2, devDown: 2)
        for t in stride(from: period - 1, to: n, by: 97) {
            let (mean, sigma) = twoPass(x, t, period)
            let ours: Double = (b.upper[t] - b.middle[t]) / 2
            #expect(abs(ours - sigma) <= 1e-6 * sigma, "σ at \(t): \(ours) vs \(sigma)")
            #expect(abs(b.middle[t] - mean) <= 1e-9 * mean)
        }
    }

    /// A level shift far larger than the spread forces the variance's
    /// reseed (its sums lose precision); the bands stay right around it.
    @Test func bollingerAcrossAJump() {
        var x: [Double] = []
        for i in 0..<300 { x.append(10 + 0.5 * sin(Double(i) / 3)) }
        for i in 0..<300 { x.append(5_000 + 0.5 * sin(Double(i) / 5)) }
        let b = BollingerBands.compute(x, period: 20)
        for t in 19..<x.count {
            let (mean, sigma) = twoPass(x, t, 20)
            let upper: Double = mean + 2 * sigma, lower: Double = mean - 2 * sigma
            #expect(abs(b.upper[t] - upper) <= 1e-9 * abs(upper), "upper at \(t)")
            #expect(abs(b.lower[t] - lower) <= 1e-9 * max(abs(lower), 1e-3), "lower at \(t)")
        }
    }

    /// The four-step recurrences stay within rounding of the step-by-step
    /// ones.
    @Test func recurrencesAgreeWithStepByStep() {
        var x: [Double] = []
        for i in 0..<1_003 { x.append(50 + 3 * sin(Double(i) / 11) + Double(i % 5)) }
        let ema = EMA.compute(x, period: 10)
        var e = x.prefix(10).reduce(0, +) / 10
        for t in 10..<x.count {
            e = (x[t] - e) * (2.0 / 11) + e
            #expect(abs(ema[t] - e) <= 1e-12 * e)
        }
        let high = x.map { $0 + 1 }, low = x.map { $0 - 1 }
        func trueRange(_ t: Int) -> Double {
            max(high[t] - low[t], abs(x[t - 1] - high[t]), abs(x[t - 1] - low[t]))
        }
        let atr = ATR.compute(high: high, low: low, close: x, period: 7)
        var a = 0.0
        for t in 1...7 { a += trueRange(t) }
        a /= 7
        for t in 8..<x.count {
            a = (a * 6 + trueRange(t)) / 7
            #expect(abs(atr[t] - a) <= 1e-12 * a)
        }
    }
}
