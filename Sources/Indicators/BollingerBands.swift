/// Bollinger Bands over a simple moving average, as TA-Lib's `TA_BBANDS`
/// with `MAType_SMA` (TA-Lib 0.8's SMA fast path, `ta_codegen/input/bbands`).
///
/// `middle = SMA(period)`, the running sum divided by the period exactly as
/// `TA_SMA`. `σ` is the population standard deviation over the same window,
/// computed as TA-Lib computes it, without the cancellation of a plain
/// `Σx²/period − mean²`: from sums of `x − shift` and `(x − shift)²`, where
/// `shift` is the first input and, whenever those sums lose precision (the
/// variance falls under 1e-6 of the mean square, a leaving term exceeds 1e6
/// times the square sum) or every `32·period` bars, the mean of the current
/// window, the sums being recomputed around it ("reseed"; a reseeded variance
/// under 1e-12 of the mean square is 0, so a constant window gives three
/// equal bands). Same operations in the same order, so `middle` and `σ` are
/// bit-identical to TA-Lib's; `upper = middle + devUp·σ`,
/// `lower = middle − devDown·σ` (TA-Lib fuses the upper band's multiply-add:
/// at most one rounding apart).
public enum BollingerBands {
    /// The three bands, each as long as the input.
    public struct Output: Sendable, Equatable {
        /// `middle + devUp·σ`.
        public var upper: [Double]
        /// The simple moving average.
        public var middle: [Double]
        /// `middle − devDown·σ`.
        public var lower: [Double]
    }

    /// The number of leading NaN entries: `period - 1`.
    public static func lookback(period: Int = 20) -> Int { period - 1 }

    /// Computes the bands.
    ///
    /// - Parameters:
    ///   - values: the input series (closes).
    ///   - period: ≥ 2. Default 20.
    ///   - devUp: multiplier of σ for the upper band. Default 2.
    ///   - devDown: multiplier of σ for the lower band. Default 2.
    /// - Returns: three series of `values.count`, NaN for the first `period - 1`.
    public static func compute(
        _ values: [Double], period: Int = 20, devUp: Double = 2.0, devDown: Double = 2.0
    ) -> Output {
        precondition(period >= 2, "Bollinger period must be at least 2")
        let n = values.count
        var upper = [Double]()
        var lower = [Double]()
        let middle: [Double] = values.withUnsafeBufferPointer { input in
            makeSeries(count: n) { mid in
                upper = makeSeries(count: n) { up in
                    lower = makeSeries(count: n) { low in
                        kernel(
                            input, period: period, devUp: devUp, devDown: devDown,
                            upper: up, middle: mid, lower: low)
                    }
                }
            }
        }
        return Output(upper: upper, middle: middle, lower: lower)
    }

    /// The shifted variance's running sums (`shift`, `Σ(x − shift)`,
    /// `Σ(x − shift)²`).
    @usableFromInline
    struct Shifted {
        @usableFromInline var shift: Double
        @usableFromInline var total1: Double
        @usableFromInline var total2: Double

        @inlinable init(shift: Double, total1: Double, total2: Double) {
            self.shift = shift
            self.total1 = total1
            self.total2 = total2
        }
    }

    /// Adds bar `i` to the sums, returns the SMA's sum over the window
    /// ending at `i` and that window's variance, and removes bar
    /// `i − period + 1` — TA-Lib's statements in TA-Lib's order.
    @inlinable @inline(__always)
    static func step(
        _ x: UnsafePointer<Double>, _ i: Int, period: Int, invP: Double,
        maTotal: inout Double, sums v: inout Shifted, barsSinceReseed: inout Int
    ) -> (sum: Double, variance: Double) {
        let xi = x[i]
        maTotal += xi
        var t = xi - v.shift
        v.total1 += t
        v.total2 += t * t
        let mean1 = v.total1 * invP
        var variance = v.total2 * invP - mean1 * mean1
        let sum = maTotal
        let old = x[i &- (period &- 1)]
        maTotal -= old
        t = old - v.shift
        v.total1 -= t
        t = t * t
        v.total2 -= t
        barsSinceReseed &-= 1
        if variance < 0.000001 * (v.total2 * invP) || t > 1000000.0 * v.total2 || barsSinceReseed <= 0 {
            barsSinceReseed = 32 * period
            (v, variance) = reseed(x, i, period: period, invP: invP)
        }
        return (sum, variance)
    }

    /// Shift to the mean of the window ending at `i`: the sums recomputed
    /// around it (with the trailing bar already removed) and the window's
    /// variance, 0 under 1e-12 of its mean square.
    @inline(never) @usableFromInline
    static func reseed(
        _ x: UnsafePointer<Double>, _ i: Int, period: Int, invP: Double
    ) -> (Shifted, Double) {
        let windowStart = i - (period - 1)
        var t = 0.0
        var j = windowStart
        while j <= i { t += x[j]; j += 1 }
        let shift = t * invP
        var total1 = 0.0
        var total2 = 0.0
        j = windowStart
        while j <= i {
            t = x[j] - shift
            total1 += t
            t *= t
            total2 += t
            j += 1
        }
        let mean1 = total1 * invP
        var variance = total2 * invP - mean1 * mean1
        if variance < 0.000000000001 * (total2 * invP) { variance = 0.0 }
        t = x[windowStart] - shift
        total1 -= t
        t *= t
        total2 -= t
        return (Shifted(shift: shift, total1: total1, total2: total2), variance)
    }

    /// One pass writing the three bands; the divisions and square roots two
    /// bars at a time (`SIMD2`: the same correctly rounded result per lane).
    @inlinable
    static func kernel(
        _ input: UnsafeBufferPointer<Double>, period: Int, devUp: Double, devDown: Double,
        upper up: UnsafeMutableBufferPointer<Double>,
        middle mid: UnsafeMutableBufferPointer<Double>,
        lower low: UnsafeMutableBufferPointer<Double>
    ) {
        let n = input.count
        let lookback = period - 1
        fillNaN(mid, upTo: lookback)
        fillNaN(up, upTo: lookback)
        fillNaN(low, upTo: lookback)
        guard n > lookback else { return }
        let x = input.baseAddress!
        let invP = 1.0 / Double(period)
        var maTotal = 0.0
        var sums = Shifted(shift: x[0], total1: 0, total2: 0)
        var barsSinceReseed = 32 * period
        var j = 0
        while j < lookback {
            maTotal += x[j]
            let t = x[j] - sums.shift
            sums.total1 += t
            sums.total2 += t * t
            j += 1
        }
        let p2 = SIMD2<Double>(repeating: Double(period))
        let up2 = SIMD2<Double>(repeating: devUp), down2 = SIMD2<Double>(repeating: devDown)
        let upP = up.baseAddress!, midP = mid.baseAddress!, lowP = low.baseAddress!
        var i = lookback
        while i &+ 1 < n {
            let a = step(x, i, period: period, invP: invP, maTotal: &maTotal, sums: &sums, barsSinceReseed: &barsSinceReseed)
            let b = step(x, i &+ 1, period: period, invP: invP, maTotal: &maTotal, sums: &sums, barsSinceReseed: &barsSinceReseed)
            let mean = SIMD2(a.sum, b.sum) / p2
            // The variance is ≥ 0 or NaN here (anything below 1e-6 of the
            // mean square reseeds, and a reseeded one is floored at 0), so
            // √|v| is TA-Lib's value; the |·| lets the compiler drop libm's
            // negative-input path and emit one `sqrtpd` for both bars.
            // (TA-Lib skips the root of an exact 0: √0 is 0 all the same.)
            let sigma = SIMD2(Swift.abs(a.variance).squareRoot(), Swift.abs(b.variance).squareRoot())
            store2(mean, midP + i)
            store2(mean + sigma * up2, upP + i)
            store2(mean - sigma * down2, lowP + i)
            i &+= 2
        }
        if i < n {
            let a = step(x, i, period: period, invP: invP, maTotal: &maTotal, sums: &sums, barsSinceReseed: &barsSinceReseed)
            let mean = a.sum / Double(period)
            let sigma = a.variance != 0 ? a.variance.squareRoot() : 0.0
            mid[i] = mean
            up[i] = mean + sigma * devUp
            low[i] = mean - sigma * devDown
        }
    }
}
