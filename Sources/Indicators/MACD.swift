/// Moving average convergence/divergence, as TA-Lib's `TA_MACD`.
///
/// Both EMAs are seeded so that they line up on the same first bar, like
/// TA-Lib: the slow EMA is seeded with the SMA of the first `slow` inputs and
/// the fast one with the SMA of the `fast` inputs that end on that same bar
/// (it starts later). The signal line is an EMA of the MACD line seeded with
/// the SMA of its first `signal` values; the histogram is MACD − signal.
public enum MACD {
    /// The three output series, each as long as the input.
    public struct Output: Sendable, Equatable {
        /// Fast EMA − slow EMA.
        public var macd: [Double]
        /// EMA of `macd` over the signal period.
        public var signal: [Double]
        /// `macd − signal`.
        public var histogram: [Double]
    }

    /// The number of leading NaN entries of every output:
    /// `(max(fast, slow) - 1) + (signal - 1)` — 33 for (12, 26, 9).
    public static func lookback(fast: Int = 12, slow: Int = 26, signal: Int = 9) -> Int {
        Swift.max(fast, slow) - 1 + signal - 1
    }

    /// Computes MACD, its signal line and histogram.
    ///
    /// - Parameters:
    ///   - values: the input series (closes).
    ///   - fast: fast EMA period, ≥ 2. Default 12.
    ///   - slow: slow EMA period, ≥ 2. Default 26. Swapped with `fast` when
    ///     smaller, as TA-Lib does.
    ///   - signal: signal EMA period, ≥ 1. Default 9.
    /// - Returns: three series of `values.count` elements, NaN for the first
    ///   `lookback(fast:slow:signal:)` (all three start on the same bar).
    public static func compute(
        _ values: [Double], fast: Int = 12, slow: Int = 26, signal: Int = 9
    ) -> Output {
        precondition(fast >= 2 && slow >= 2 && signal >= 1, "MACD periods out of range")
        var fastPeriod = fast
        var slowPeriod = slow
        if slowPeriod < fastPeriod { swap(&fastPeriod, &slowPeriod) }
        let n = values.count
        let kFast = 2.0 / Double(fastPeriod + 1)
        let kSlow = 2.0 / Double(slowPeriod + 1)
        let kSignal = 2.0 / Double(signal + 1)
        var signalOut = [Double]()
        var histOut = [Double]()
        let macdOut: [Double] = values.withUnsafeBufferPointer { input in
            makeSeries(count: n) { line in
                signalOut = makeSeries(count: n) { sig in
                    histOut = makeSeries(count: n) { hist in
                        kernel(
                            input, fast: fastPeriod, slow: slowPeriod, signal: signal,
                            kFast: kFast, kSlow: kSlow, kSignal: kSignal,
                            macd: line, signal: sig, histogram: hist)
                    }
                }
            }
        }
        return Output(macd: macdOut, signal: signalOut, histogram: histOut)
    }

    /// One pass: both EMAs, the MACD line, the signal's seed (the SMA of the
    /// first `signal` MACD values), then the signal and histogram, written
    /// straight into the three outputs.
    @inlinable
    static func kernel(
        _ input: UnsafeBufferPointer<Double>,
        fast fastPeriod: Int, slow slowPeriod: Int, signal: Int,
        kFast: Double, kSlow: Double, kSignal: Double,
        macd line: UnsafeMutableBufferPointer<Double>,
        signal sig: UnsafeMutableBufferPointer<Double>,
        histogram hist: UnsafeMutableBufferPointer<Double>
    ) {
        let n = input.count
        let total = lookback(fast: fastPeriod, slow: slowPeriod, signal: signal)
        let first = slowPeriod - 1  // first bar where both EMAs exist
        fillNaN(line, upTo: total)
        fillNaN(sig, upTo: total)
        fillNaN(hist, upTo: total)
        guard n > total else { return }
        // Seeds: slow = SMA(input[0...first]); fast = SMA of the last
        // `fastPeriod` inputs ending at `first`.
        var slowTotal = 0.0
        var i = 0
        while i <= first { slowTotal += input[i]; i += 1 }
        var slowEMA = slowTotal / Double(slowPeriod)
        var fastTotal = 0.0
        i = first - fastPeriod + 1
        while i <= first { fastTotal += input[i]; i += 1 }
        var fastEMA = fastTotal / Double(fastPeriod)
        // Up to the signal's first value, step by step as TA-Lib writes it.
        var m = fastEMA - slowEMA
        var seed = m
        var j = first + 1
        while j <= total {
            let x = input[j]
            fastEMA = (x - fastEMA) * kFast + fastEMA
            slowEMA = (x - slowEMA) * kSlow + slowEMA
            m = fastEMA - slowEMA
            seed += m
            j += 1
        }
        var prev = seed / Double(signal)
        line[total] = m
        sig[total] = prev
        hist[total] = m - prev
        j = total + 1
        // Then four bars per step (see `Decay` and `EMA.kernel`): both EMAs
        // as deviations F, S from the block's first input r, so the line is
        // F − S (exactly 0 on a constant series), and the signal as the
        // plain four-step recurrence over the line. Three carried chains of
        // one multiply-add per four bars each; values equal TA-Lib's
        // step-by-step ones up to rounding.
        let af = Decay(1.0 - kFast), asl = Decay(1.0 - kSlow), ag = Decay(1.0 - kSignal)
        let x = input.baseAddress!
        let lineP = line.baseAddress!, sigP = sig.baseAddress!, histP = hist.baseAddress!
        while j &+ 3 < n {
            let r = x[j]
            let u1 = x[j &+ 1] - r, u2 = x[j &+ 2] - r, u3 = x[j &+ 3] - r
            let df = fastEMA - r, ds = slowEMA - r
            let f1 = u1 * kFast, f2 = f1 * af.a1 + u2 * kFast, f3 = f2 * af.a1 + u3 * kFast
            let s1 = u1 * kSlow, s2 = s1 * asl.a1 + u2 * kSlow, s3 = s2 * asl.a1 + u3 * kSlow
            let fd3 = df * af.a4 + f3, sd3 = ds * asl.a4 + s3
            fastEMA = r + fd3
            slowEMA = r + sd3
            let m0 = df * af.a1 - ds * asl.a1
            let m1 = (df * af.a2 + f1) - (ds * asl.a2 + s1)
            let m2 = (df * af.a3 + f2) - (ds * asl.a3 + s2)
            let m3 = fd3 - sd3
            let t0 = m0 * kSignal, t1 = t0 * ag.a1 + m1 * kSignal
            let t2 = t1 * ag.a1 + m2 * kSignal, t3 = t2 * ag.a1 + m3 * kSignal
            let g0 = prev * ag.a1 + t0, g1 = prev * ag.a2 + t1, g2 = prev * ag.a3 + t2
            prev = prev * ag.a4 + t3
            store2(SIMD2(m0, m1), lineP + j)
            store2(SIMD2(m2, m3), lineP + (j &+ 2))
            store2(SIMD2(g0, g1), sigP + j)
            store2(SIMD2(g2, prev), sigP + (j &+ 2))
            store2(SIMD2(m0 - g0, m1 - g1), histP + j)
            store2(SIMD2(m2 - g2, m3 - prev), histP + (j &+ 2))
            j &+= 4
        }
        while j < n {
            let x = input[j]
            fastEMA = (x - fastEMA) * kFast + fastEMA
            slowEMA = (x - slowEMA) * kSlow + slowEMA
            m = fastEMA - slowEMA
            prev = (m - prev) * kSignal + prev
            line[j] = m
            sig[j] = prev
            hist[j] = m - prev
            j += 1
        }
    }
}
