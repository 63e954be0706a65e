/// Exponential moving average, as TA-Lib's `TA_EMA` (default compatibility).
///
/// The smoothing factor is `k = 2 / (period + 1)`. The first value, at index
/// `period - 1`, is the simple average of the first `period` inputs; after it
/// `ema[t] = (x[t] - ema[t-1]) * k + ema[t-1]`.
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
        // (x − prev)·k + prev rewritten as prev·(1 − k) + x·k: the same value
        // up to rounding (≤ 1e-15 relative), with a shorter dependency chain.
        let keep = 1.0 - k
        while i < n {
            prev = prev * keep + input[i] * k
            out[i] = prev
            i += 1
        }
    }
}
