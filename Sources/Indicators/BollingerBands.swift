/// Bollinger Bands over a simple moving average, as TA-Lib's `TA_BBANDS`
/// with `MAType_SMA`.
///
/// `middle = SMA(period)`; `σ` is the population standard deviation over the
/// same window, computed as TA-Lib does from a running sum of squares:
/// `σ² = Σx²/period − middle²`, taken as 0 when it is negative or within
/// TA-Lib 0.8's scaled epsilon of `middle²` (`|σ²| ≤ 1e-14·middle²`), which
/// makes a constant window give three equal bands;
/// `upper = middle + devUp·σ`, `lower = middle − devDown·σ`.
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
        let lookback = period - 1
        var upper = [Double]()
        var lower = [Double]()
        let middle: [Double] = values.withUnsafeBufferPointer { input in
            makeSeries(count: n) { mid in
                upper = makeSeries(count: n) { up in
                    lower = makeSeries(count: n) { low in
                        fillNaN(mid, upTo: lookback)
                        fillNaN(up, upTo: lookback)
                        fillNaN(low, upTo: lookback)
                        guard n > lookback else { return }
                        let p = Double(period)
                        var total = 0.0
                        var total2 = 0.0
                        var i = 0
                        while i < lookback {
                            let x = input[i]
                            total += x
                            total2 += x * x
                            i += 1
                        }
                        var trailing = 0
                        while i < n {
                            let x = input[i]
                            total += x
                            let sum = total
                            total -= input[trailing]
                            let mean = sum / p
                            total2 += x * x
                            var meanSquare = total2 / p
                            let old = input[trailing]
                            total2 -= old * old
                            meanSquare -= mean * mean
                            let sigma = isVarianceZero(meanSquare, mean) ? 0.0 : meanSquare.squareRoot()
                            mid[i] = mean
                            up[i] = mean + sigma * devUp
                            low[i] = mean - sigma * devDown
                            trailing += 1
                            i += 1
                        }
                    }
                }
            }
        }
        return Output(upper: upper, middle: middle, lower: lower)
    }

    /// The variance is rounding residue: not positive, or within 1e-14 of the
    /// squared mean (TA-Lib's scale-aware zero test).
    @inlinable @inline(__always)
    static func isVarianceZero(_ variance: Double, _ mean: Double) -> Bool {
        variance <= 0 || variance <= taEpsilon * (mean * mean)
    }
}
