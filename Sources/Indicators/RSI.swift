/// Relative strength index with Wilder's smoothing, as TA-Lib's `TA_RSI`
/// (default compatibility, unstable period 0).
///
/// The first average gain/loss is the plain mean of the first `period`
/// changes; later ones are `(prev * (period-1) + change) / period`.
/// `rsi = 100 * gain / (gain + loss)`, and 0 when `gain + loss` is exactly
/// zero (a constant series reads 0; a series that goes flat after moving keeps
/// the ratio of its decaying averages — both as TA-Lib 0.8 does).
public enum RSI {
    /// The number of leading NaN entries: `period`.
    public static func lookback(period: Int) -> Int { period }

    /// Computes the RSI of `values`.
    ///
    /// - Parameters:
    ///   - values: the input series (closes).
    ///   - period: ≥ 2. Default 14.
    /// - Returns: `values.count` elements, NaN for the first `period`.
    ///   A NaN input poisons the smoothed averages from there on.
    public static func compute(_ values: [Double], period: Int = 14) -> [Double] {
        precondition(period >= 2, "RSI period must be at least 2")
        return values.withUnsafeBufferPointer { input in
            makeSeries(count: input.count) { out in
                kernel(input, period: period, into: out)
            }
        }
    }

    @inlinable
    static func kernel(
        _ input: UnsafeBufferPointer<Double>,
        period: Int,
        into out: UnsafeMutableBufferPointer<Double>
    ) {
        let n = input.count
        fillNaN(out, upTo: period)
        guard n > period else { return }
        let p = Double(period)
        let pm1 = Double(period - 1)
        var prevValue = input[0]
        var gain = 0.0
        var loss = 0.0
        var today = 1
        while today <= period {
            let value = input[today]
            let diff = value - prevValue
            prevValue = value
            if diff < 0 { loss -= diff } else { gain += diff }
            today += 1
        }
        loss /= p
        gain /= p
        var sum = gain + loss
        out[period] = sum == 0 ? 0.0 : 100.0 * (gain / sum)
        // Wilder's (avg·(p−1) + x) / p as avg·((p−1)/p) + x/p: equal up to
        // rounding (≤ 1e-15 relative), without a division in the recurrence.
        let decay = pm1 / p
        let invP = 1.0 / p
        while today < n {
            let value = input[today]
            let diff = value - prevValue
            prevValue = value
            // Branch-free split of the change (exact: (d + |d|)/2 is d or 0).
            let magnitude = Swift.abs(diff)
            let up = (diff + magnitude) * 0.5 * invP
            let down = (magnitude - diff) * 0.5 * invP
            loss = loss * decay + down
            gain = gain * decay + up
            sum = gain + loss
            out[today] = sum == 0 ? 0.0 : 100.0 * (gain / sum)
            today += 1
        }
    }
}
