/// Average true range with Wilder's smoothing, as TA-Lib's `TA_ATR`
/// (unstable period 0).
///
/// The true range of bar `t ≥ 1` is `max(high−low, |close[t-1]−high|,
/// |close[t-1]−low|)`. The first ATR, at index `period`, is the mean of the
/// true ranges of bars `1 … period`; after it
/// `atr[t] = (atr[t-1]·(period−1) + tr[t]) / period` (computed four bars per
/// step, equal up to rounding; see `kernel`). A value never depends on the
/// bars after it, to the last bit: `compute` on a prefix of the columns gives
/// a prefix of the result.
public enum ATR {
    /// The number of leading NaN entries: `period`.
    public static func lookback(period: Int = 14) -> Int { period }

    /// Computes the ATR.
    ///
    /// - Parameters:
    ///   - high, low, close: the bars' columns, all of the same length.
    ///   - period: ≥ 1. Default 14.
    /// - Returns: `close.count` elements, NaN for the first `period`.
    public static func compute(
        high: [Double], low: [Double], close: [Double], period: Int = 14
    ) -> [Double] {
        precondition(period >= 1, "ATR period must be at least 1")
        precondition(high.count == close.count && low.count == close.count, "column lengths differ")
        return high.withUnsafeBufferPointer { h in
            low.withUnsafeBufferPointer { l in
                close.withUnsafeBufferPointer { c in
                    makeSeries(count: c.count) { out in
                        kernel(high: h, low: l, close: c, period: period, into: out)
                    }
                }
            }
        }
    }

    @inlinable @inline(__always)
    static func trueRange(_ h: Double, _ l: Double, _ prevClose: Double) -> Double {
        var greatest = h - l
        let v2 = Swift.abs(prevClose - h)
        if v2 > greatest { greatest = v2 }
        let v3 = Swift.abs(prevClose - l)
        if v3 > greatest { greatest = v3 }
        return greatest
    }

    /// The true ranges of bars `i` and `i + 1` (same operations and order
    /// as `trueRange`, two lanes at once).
    @inlinable @inline(__always)
    static func trueRange2(
        _ h: UnsafePointer<Double>, _ l: UnsafePointer<Double>, _ c: UnsafePointer<Double>, _ i: Int
    ) -> SIMD2<Double> {
        let hi = load2(h + i), lo = load2(l + i), pc = load2(c + (i &- 1))
        var greatest = hi - lo
        greatest = max2(abs2(pc - hi), greatest)
        return max2(abs2(pc - lo), greatest)
    }

    @inlinable
    static func kernel(
        high h: UnsafeBufferPointer<Double>,
        low l: UnsafeBufferPointer<Double>,
        close c: UnsafeBufferPointer<Double>,
        period: Int,
        into out: UnsafeMutableBufferPointer<Double>
    ) {
        let n = c.count
        fillNaN(out, upTo: period)
        guard n > period else { return }
        if period == 1 {  // TA-Lib returns the plain true range
            var i = 1
            while i < n { out[i] = trueRange(h[i], l[i], c[i - 1]); i += 1 }
            return
        }
        let p = Double(period)
        let pm1 = Double(period - 1)
        var total = 0.0
        var i = 1
        while i <= period { total += trueRange(h[i], l[i], c[i - 1]); i += 1 }
        let atr = total / p
        out[period] = atr
        // atr·(p−1)/p + tr/p, four bars per step (see `Decay`): one
        // multiply-add on the carried chain per four bars, the true ranges
        // computed inline. Equal to TA-Lib's step-by-step recurrence up to
        // rounding (≤ 1e-15 relative; errors do not accumulate).
        let invP = 1.0 / p
        let a = Decay(pm1 / p)
        let hp = h.baseAddress!, lp = l.baseAddress!, cp = c.baseAddress!, op = out.baseAddress!
        let invP2 = SIMD2<Double>(repeating: invP)
        let pow1 = SIMD2(a.a1, 0), pow12 = SIMD2(a.a1, a.a2), pow34 = SIMD2(a.a3, a.a4)
        let swap = SIMD2<Int>(1, 0), high = SIMD2<Int>(1, 1)
        // In pairs, kept in vector lanes throughout (extracting a lane lets
        // the compiler split the true-range maxima back into branches): with
        // b = tr/p, q = (b₁, a·b₁ + b₂) is a pair's own contribution and
        // s₃₄ = q₃₄ + s₂·(a, a²) carries the first pair's into the second.
        var y = SIMD2<Double>(repeating: atr)
        while i &+ 3 < n {
            let b01 = trueRange2(hp, lp, cp, i) * invP2
            let b23 = trueRange2(hp, lp, cp, i &+ 2) * invP2
            let q01 = b01 + (b01 * pow1)[swap]
            let q23 = b23 + (b23 * pow1)[swap]
            let s23 = q23 + q01[high] * pow12
            let y01 = y * pow12 + q01
            let y23 = y * pow34 + s23
            store2(y01, op + i)
            store2(y23, op + (i &+ 2))
            y = y23[high]
            i &+= 4
        }
        // The last one to three bars: the same block, the missing bars'
        // true ranges taken as 0 (they only meet a multiplication by 0 on the
        // way to the bars that exist), so a bar's ATR is bit for bit the same
        // however many bars follow it — cutting a series at t changes no value
        // at or before t (the fusion's no-look-ahead property relies on it).
        if i < n {
            var b01 = SIMD2<Double>(repeating: 0), b23 = SIMD2<Double>(repeating: 0)
            b01[0] = trueRange(h[i], l[i], c[i - 1]) * invP
            if i + 1 < n { b01[1] = trueRange(h[i + 1], l[i + 1], c[i]) * invP }
            if i + 2 < n { b23[0] = trueRange(h[i + 2], l[i + 2], c[i + 1]) * invP }
            let q01 = b01 + (b01 * pow1)[swap]
            let q23 = b23 + (b23 * pow1)[swap]
            let s23 = q23 + q01[high] * pow12
            let y01 = y * pow12 + q01
            let y23 = y * pow34 + s23
            out[i] = y01[0]
            if i + 1 < n { out[i + 1] = y01[1] }
            if i + 2 < n { out[i + 2] = y23[0] }
        }
    }
}
