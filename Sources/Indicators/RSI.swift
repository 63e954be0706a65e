/// Relative strength index with Wilder's smoothing, as TA-Lib's `TA_RSI`
/// (default compatibility, unstable period 0).
///
/// The first average gain/loss is the plain mean of the first `period`
/// changes; later ones are `(prev * (period-1) + change) / period` (computed
/// four bars per step, equal up to rounding; see `kernel`).
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
        // Wilder's (avg·(p−1) + x) / p as avg·((p−1)/p) + x/p, four bars per
        // step (see `Decay`): one multiply-add per four bars on each carried
        // chain. Equal to the step-by-step recurrence up to rounding (≤ 1e-15
        // relative; errors do not accumulate). The changes are split without
        // branches ((d + |d|)/2 is exactly d or 0) and the four ratios are
        // divided two at a time (`SIMD2`, the same correctly rounded quotient
        // per lane).
        let invP = 1.0 / p
        let half = 0.5 * invP
        let a = Decay(pm1 / p)
        let zero = SIMD2<Double>(repeating: 0), hundred = SIMD2<Double>(repeating: 100)
        let op = out.baseAddress!
        while today + 3 < n {
            let x0 = input[today], x1 = input[today + 1], x2 = input[today + 2], x3 = input[today + 3]
            let d0 = x0 - prevValue, d1 = x1 - x0, d2 = x2 - x1, d3 = x3 - x2
            prevValue = x3
            let m0 = Swift.abs(d0), m1 = Swift.abs(d1), m2 = Swift.abs(d2), m3 = Swift.abs(d3)
            let u0 = (d0 + m0) * half, u1 = (d1 + m1) * half, u2 = (d2 + m2) * half, u3 = (d3 + m3) * half
            let v0 = (m0 - d0) * half, v1 = (m1 - d1) * half, v2 = (m2 - d2) * half, v3 = (m3 - d3) * half
            let su1 = u0 * a.a1 + u1, su2 = su1 * a.a1 + u2, su3 = su2 * a.a1 + u3
            let sv1 = v0 * a.a1 + v1, sv2 = sv1 * a.a1 + v2, sv3 = sv2 * a.a1 + v3
            let g01 = SIMD2(gain * a.a1 + u0, gain * a.a2 + su1)
            let l01 = SIMD2(loss * a.a1 + v0, loss * a.a2 + sv1)
            let g23 = SIMD2(gain * a.a3 + su2, gain * a.a4 + su3)
            let l23 = SIMD2(loss * a.a3 + sv2, loss * a.a4 + sv3)
            gain = g23[1]
            loss = l23[1]
            let sum01 = g01 + l01, sum23 = g23 + l23
            let r01 = (hundred * (g01 / sum01)).replacing(with: zero, where: sum01 .== zero)
            let r23 = (hundred * (g23 / sum23)).replacing(with: zero, where: sum23 .== zero)
            store2(r01, op + today)
            store2(r23, op + (today &+ 2))
            today &+= 4
        }
        while today < n {
            let value = input[today]
            let diff = value - prevValue
            prevValue = value
            let magnitude = Swift.abs(diff)
            loss = loss * a.a1 + (magnitude - diff) * half
            gain = gain * a.a1 + (diff + magnitude) * half
            sum = gain + loss
            out[today] = sum == 0 ? 0.0 : 100.0 * (gain / sum)
            today += 1
        }
    }
}
