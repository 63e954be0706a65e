/// Average directional index with Wilder's smoothing, as TA-Lib's `TA_ADX`
/// (unstable period 0).
///
/// +DM/−DM and the true range are summed over the first `period − 1` bars,
/// then smoothed as `s = s − s/period + today`; `DX = 100·|−DI − +DI| /
/// (−DI + +DI)`. The first ADX (index `2·period − 1`) is the mean of the first
/// `period` DX values; later `adx = (adx·(period−1) + dx) / period`. As in
/// TA-Lib a bar whose smoothed true range or DI sum is zero (within TA-Lib's
/// epsilon) leaves the ADX unchanged. (Computed with two divisions per bar
/// instead of TA-Lib's seven; see `kernel`. Equal up to rounding.)
public enum ADX {
    /// The number of leading NaN entries: `2·period − 1` (27 for 14).
    public static func lookback(period: Int = 14) -> Int { 2 * period - 1 }

    /// Computes the ADX.
    ///
    /// - Parameters:
    ///   - high, low, close: the bars' columns, all of the same length.
    ///   - period: ≥ 2. Default 14.
    /// - Returns: `close.count` elements, NaN for the first `2·period − 1`.
    public static func compute(
        high: [Double], low: [Double], close: [Double], period: Int = 14
    ) -> [Double] {
        precondition(period >= 2, "ADX period must be at least 2")
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

    /// The directional movements of one bar, (−DM, +DM), at most one of
    /// them non-zero: TA-Lib's `if (diffM > 0 && diffP < diffM) −DM = diffM;
    /// else if (diffP > 0 && diffP > diffM) +DM = diffP` (the two conditions
    /// exclude each other). Lane-wise on (diffM, diffP) against (diffP,
    /// diffM), so it compiles to masks rather than unpredictable branches.
    @inlinable @inline(__always)
    static func movements(diffP: Double, diffM: Double) -> SIMD2<Double> {
        let d = SIMD2(diffM, diffP)
        let other = SIMD2(diffP, diffM)
        return SIMD2<Double>(repeating: 0).replacing(with: d, where: (d .> 0) .& (d .> other))
    }

    /// TA-Lib's algorithm with two divisions per bar instead of seven.
    /// Wilder's smoothing `s − s/p + x` is `s·(1 − 1/p) + x` and the ADX step
    /// `(adx·(p−1) + dx)/p` is `adx·(1 − 1/p) + dx/p` (both contract, so
    /// the rounding differences stay at a few ulps); `100·(dm/tr)` is
    /// `dm·(100/tr)`. The zero tests on the smoothed true range and on
    /// −DI + +DI are TA-Lib's.
    @inlinable
    static func kernel(
        high h: UnsafeBufferPointer<Double>,
        low l: UnsafeBufferPointer<Double>,
        close c: UnsafeBufferPointer<Double>,
        period: Int,
        into out: UnsafeMutableBufferPointer<Double>
    ) {
        let n = c.count
        let lookback = 2 * period - 1
        fillNaN(out, upTo: lookback)
        guard n > lookback else { return }
        let p = Double(period)
        let decay = 1.0 - 1.0 / p
        let invP = 1.0 / p
        var today = 0
        var prevHigh = h[0]
        var prevLow = l[0]
        var prevClose = c[0]
        var dm = SIMD2<Double>(repeating: 0)  // (−DM, +DM), smoothed
        let decay2 = SIMD2<Double>(repeating: decay)
        var tr = 0.0
        // The first `period − 1` movements and true ranges are summed.
        var i = period - 1
        while i > 0 {
            i -= 1
            today += 1
            let hi = h[today], lo = l[today]
            dm += movements(diffP: hi - prevHigh, diffM: prevLow - lo)
            tr += ATR.trueRange(hi, lo, prevClose)
            prevHigh = hi
            prevLow = lo
            prevClose = c[today]
        }
        // The next `period` DX values are averaged into the first ADX …
        var sumDX = 0.0
        i = period
        while i > 0 {
            i -= 1
            today += 1
            let hi = h[today], lo = l[today]
            dm = dm * decay2 + movements(diffP: hi - prevHigh, diffM: prevLow - lo)
            tr = tr * decay + ATR.trueRange(hi, lo, prevClose)
            prevHigh = hi
            prevLow = lo
            prevClose = c[today]
            if !taIsZero(tr) {
                let di = dm * (100.0 / tr)
                let minusDI = di[0], plusDI = di[1]
                let sum = minusDI + plusDI
                if !taIsZero(sum) {
                    sumDX += 100.0 * (Swift.abs(minusDI - plusDI) / sum)
                }
            }
        }
        var adx = sumDX / p
        out[today] = adx
        // … and smoothed from there on.
        let hp = h.baseAddress!, lp = l.baseAddress!, cp = c.baseAddress!, op = out.baseAddress!
        today += 1
        while today < n {
            let hi = hp[today], lo = lp[today]
            dm = dm * decay2 + movements(diffP: hi - prevHigh, diffM: prevLow - lo)
            tr = tr * decay + ATR.trueRange(hi, lo, prevClose)
            prevHigh = hi
            prevLow = lo
            prevClose = cp[today]
            if !taIsZero(tr) {
                let di = dm * (100.0 / tr)
                let minusDI = di[0], plusDI = di[1]
                let sum = minusDI + plusDI
                if !taIsZero(sum) {
                    let dx = 100.0 * (Swift.abs(minusDI - plusDI) / sum)
                    adx = adx * decay + dx * invP
                }
            }
            op[today] = adx
            today &+= 1
        }
    }
}
