/// Average directional index with Wilder's smoothing, as TA-Lib's `TA_ADX`
/// (unstable period 0).
///
/// +DM/−DM and the true range are summed over the first `period − 1` bars,
/// then smoothed as `s = s − s/period + today`; `DX = 100·|−DI − +DI| /
/// (−DI + +DI)`. The first ADX (index `2·period − 1`) is the mean of the first
/// `period` DX values; later `adx = (adx·(period−1) + dx) / period`. As in
/// TA-Lib a bar whose smoothed true range or DI sum is zero (within TA-Lib's
/// epsilon) leaves the ADX unchanged.
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
        let pm1 = Double(period - 1)
        var today = 0
        var prevHigh = h[0]
        var prevLow = l[0]
        var prevClose = c[0]
        var minusDM = 0.0
        var plusDM = 0.0
        var tr = 0.0
        var i = period - 1
        while i > 0 {
            i -= 1
            today += 1
            let hi = h[today]
            let diffP = hi - prevHigh
            prevHigh = hi
            let lo = l[today]
            let diffM = prevLow - lo
            prevLow = lo
            if diffM > 0 && diffP < diffM {
                minusDM += diffM
            } else if diffP > 0 && diffP > diffM {
                plusDM += diffP
            }
            tr += ATR.trueRange(prevHigh, prevLow, prevClose)
            prevClose = c[today]
        }
        var sumDX = 0.0
        i = period
        while i > 0 {
            i -= 1
            today += 1
            let hi = h[today]
            let diffP = hi - prevHigh
            prevHigh = hi
            let lo = l[today]
            let diffM = prevLow - lo
            prevLow = lo
            minusDM -= minusDM / p
            plusDM -= plusDM / p
            if diffM > 0 && diffP < diffM {
                minusDM += diffM
            } else if diffP > 0 && diffP > diffM {
                plusDM += diffP
            }
            tr = tr - tr / p + ATR.trueRange(prevHigh, prevLow, prevClose)
            prevClose = c[today]
            if !taIsZero(tr) {
                let minusDI = 100.0 * (minusDM / tr)
                let plusDI = 100.0 * (plusDM / tr)
                let sum = minusDI + plusDI
                if !taIsZero(sum) {
                    sumDX += 100.0 * (Swift.abs(minusDI - plusDI) / sum)
                }
            }
        }
        var adx = sumDX / p
        out[today] = adx
        while today < n - 1 {
            today += 1
            let hi = h[today]
            let diffP = hi - prevHigh
            prevHigh = hi
            let lo = l[today]
            let diffM = prevLow - lo
            prevLow = lo
            minusDM -= minusDM / p
            plusDM -= plusDM / p
            if diffM > 0 && diffP < diffM {
                minusDM += diffM
            } else if diffP > 0 && diffP > diffM {
                plusDM += diffP
            }
            tr = tr - tr / p + ATR.trueRange(prevHigh, prevLow, prevClose)
            prevClose = c[today]
            if !taIsZero(tr) {
                let minusDI = 100.0 * (minusDM / tr)
                let plusDI = 100.0 * (plusDM / tr)
                let sum = minusDI + plusDI
                if !taIsZero(sum) {
                    let dx = 100.0 * (Swift.abs(minusDI - plusDI) / sum)
                    adx = (adx * pm1 + dx) / p
                }
            }
            out[today] = adx
        }
    }
}
