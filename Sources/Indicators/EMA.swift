/// Exponential moving average, as TA-Lib's `TA_EMA` (default compatibility).
///
/// The smoothing factor is `k = 2 / (period + 1)`. The first value, at index
/// `period - 1`, is the simple average of the first `period` inputs; after it
/// `ema[t] = (x[t] - ema[t-1]) * k + ema[t-1]` (four bars per step, equal up
/// to rounding). A value never depends on the inputs after it, to the last
/// bit: `compute` on a prefix gives a prefix of the result.
public enum EMA {
    /// The number of leading NaN entries: `period - 1`.
    public static func lookback(period: Int) -> Int { period - 1 }

    /// Computes the exponential moving average of `values`.
    ///
    /// - Parameters:
    ///   - values: the input series.
    ///   - period: ≥ 1. Default 20.
    /// - Returns: `values.count` elements, NaN for the first `period - 1`.
    ///   A NaN input propagates to every later value (the recurrence carries it).
    public static func compute(_ values: [Double], period: Int = 20) -> [Double] {
        precondition(period >= 1, "EMA period must be at least 1")
        return values.withUnsafeBufferPointer { input in
            makeSeries(count: input.count) { out in
                kernel(input, from: 0, period: period, k: 2.0 / Double(period + 1), into: out)
            }
        }
    }

    /// TA-Lib's `TA_INT_EMA` over `input[first...]`: seeds with the SMA of
    /// `input[first ..< first+period]` at index `first+period-1` and writes NaN
    /// into `out[0 ..< first+period-1]`.
    @inlinable
    static func kernel(
        _ input: UnsafeBufferPointer<Double>,
        from first: Int,
        period: Int,
        k: Double,
        into out: UnsafeMutableBufferPointer<Double>
    ) {
        let n = input.count
        let start = first + period - 1
        fillNaN(out, upTo: start)
        guard n > start else { return }
        var total = 0.0
        var i = first
        while i <= start { total += input[i]; i += 1 }
        var prev = total / Double(period)
        out[start] = prev
        i = start + 1
        // Four bars per step, off one carried value (see `Decay`): with the
        // block's first input r as reference and d = prev − r,
        //   ema[t+j] = r + (d·a^j + k·Σ_{m≤j} a^{j−m}·(x[t+m] − r)),  a = 1 − k,
        // which is the recurrence unrolled — the same value up to rounding
        // (≤ 1e-15 relative; errors do not accumulate, a < 1) — with one
        // multiply-add on the carried chain per four bars instead of four.
        // A constant series stays exactly constant (every x − r is 0).
        let a = Decay(1.0 - k)
        while i + 3 < n {
            let r = input[i]
            let d = prev - r
            let s2 = (input[i + 1] - r) * k
            let s3 = s2 * a.a1 + (input[i + 2] - r) * k
            let s4 = s3 * a.a1 + (input[i + 3] - r) * k
            out[i] = r + d * a.a1
            out[i + 1] = r + (d * a.a2 + s2)
            out[i + 2] = r + (d * a.a3 + s3)
            prev = r + (d * a.a4 + s4)
            out[i + 3] = prev
            i += 4
        }
        // The last one to three bars: the block's arithmetic for the bars
        // that exist, so a value is bit for bit the same however many bars
        // follow it (cutting a series at t changes no value at or before t).
        if i < n {
            let r = input[i]
            let d = prev - r
            out[i] = r + d * a.a1
            if i + 1 < n {
                let s2 = (input[i + 1] - r) * k
                out[i + 1] = r + (d * a.a2 + s2)
                if i + 2 < n {
                    let s3 = s2 * a.a1 + (input[i + 2] - r) * k
                    out[i + 2] = r + (d * a.a3 + s3)
                }
            }
        }
    }
}
