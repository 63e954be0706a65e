/// Average true range with Wilder's smoothing, as TA-Lib's `TA_ATR`
/// (unstable period 0).
///
/// The true range of bar `t ≥ 1` is `max(high−low, |close[t-1]−high|,
/// |close[t-1]−low|)`. The first ATR, at index `period`, is the mean of the
/// true ranges of bars `1 … period`; after it
/// `atr[t] = (atr[t-1]·(period−1) + tr[t]) / period`.
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
        if period == 1 {   // TA-Lib returns the plain true range
            var i = 1
            while i < n { out[i] = trueRange(h[i], l[i], c[i - 1]); i += 1 }
            return
        }
        let p = Double(period)
        let pm1 = Double(period - 1)
        var total = 0.0
        var i = 1
        while i <= period { total += trueRange(h[i], l[i], c[i - 1]); i += 1 }
        var atr = total / p
        out[period] = atr
        // (atr·(p−1) + tr) / p as atr·((p−1)/p) + tr/p: equal up to rounding
        // (≤ 1e-15 relative), without a division in the recurrence.
        let decay = pm1 / p
        let invP = 1.0 / p
        while i < n {
            atr = atr * decay + trueRange(h[i], l[i], c[i - 1]) * invP
            out[i] = atr
            i += 1
        }
    }
}
