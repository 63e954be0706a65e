/// Simple moving average, as TA-Lib's `TA_SMA`.
///
/// `out[t] = (x[t-period+1] + … + x[t]) / period`, computed with one running
/// sum that adds the newest value and subtracts the oldest (TA-Lib's exact
/// order of operations, so results match it bit for bit on the same input).
public enum SMA {
    /// The number of leading NaN entries: `period - 1`.
    public static func lookback(period: Int) -> Int { period - 1 }

    /// Computes the simple moving average of `values`.
    ///
    /// - Parameters:
    ///   - values: the input series (usually closes).
    ///   - period: the window length, ≥ 1. Default 20.
    /// - Returns: an array of `values.count` elements; the first
    ///   `lookback(period:)` are NaN (all of them when the input is shorter).
    ///   A NaN input poisons the running sum from there on, as in TA-Lib.
    public static func compute(_ values: [Double], period: Int = 20) -> [Double] {
        precondition(period >= 1, "SMA period must be at least 1")
        return values.withUnsafeBufferPointer { input in
            makeSeries(count: input.count) { out in
                kernel(input, period: period, into: out)
            }
        }
    }

    /// The kernel: writes NaN before the lookback and the averages after it.
    @inlinable
    static func kernel(
        _ input: UnsafeBufferPointer<Double>,
        period: Int,
        into out: UnsafeMutableBufferPointer<Double>
    ) {
        let n = input.count
        let lookback = period - 1
        fillNaN(out, upTo: lookback)
        guard n > lookback else { return }
        let p = Double(period)
        var total = 0.0
        var i = 0
        while i < lookback { total += input[i]; i += 1 }
        var trailing = 0
        while i < n {
            total += input[i]
            let value = total
            total -= input[trailing]
            out[i] = value / p
            trailing += 1
            i += 1
        }
    }
}
