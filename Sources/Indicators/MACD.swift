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
        let total = lookback(fast: fastPeriod, slow: slowPeriod, signal: signal)
        let first = slowPeriod - 1          // first bar where both EMAs exist
        let kFast = 2.0 / Double(fastPeriod + 1)
        let kSlow = 2.0 / Double(slowPeriod + 1)
        let kSignal = 2.0 / Double(signal + 1)
        var signalOut = [Double]()
        var histOut = [Double]()
        let macdOut: [Double] = values.withUnsafeBufferPointer { input in
            makeSeries(count: n) { line in
                fillNaN(line, upTo: total)
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
                // One pass: both EMAs, the MACD line, the signal's seed (the
                // SMA of the first `signal` MACD values) and then the signal
                // and histogram. EMA steps are written prev·(1−k) + x·k, equal
                // to TA-Lib's (x−prev)·k + prev up to rounding.
                let keepFast = 1.0 - kFast, keepSlow = 1.0 - kSlow, keepSignal = 1.0 - kSignal
                signalOut = makeSeries(count: n) { sig in
                    histOut = makeSeries(count: n) { hist in
                        fillNaN(sig, upTo: total)
                        fillNaN(hist, upTo: total)
                        var m = fastEMA - slowEMA
                        var seed = m
                        var j = first + 1
                        while j <= total {
                            let x = input[j]
                            fastEMA = fastEMA * keepFast + x * kFast
                            slowEMA = slowEMA * keepSlow + x * kSlow
                            m = fastEMA - slowEMA
                            seed += m
                            j += 1
                        }
                        var prev = seed / Double(signal)
                        line[total] = m
                        sig[total] = prev
                        hist[total] = m - prev
                        j = total + 1
                        while j < n {
                            let x = input[j]
                            fastEMA = fastEMA * keepFast + x * kFast
                            slowEMA = slowEMA * keepSlow + x * kSlow
                            m = fastEMA - slowEMA
                            prev = prev * keepSignal + m * kSignal
                            line[j] = m
                            sig[j] = prev
                            hist[j] = m - prev
                            j += 1
                        }
                    }
                }
            }
        }
        if n <= total {
            return Output(
                macd: macdOut,
                signal: [Double](repeating: .nan, count: n),
                histogram: [Double](repeating: .nan, count: n))
        }
        return Output(macd: macdOut, signal: signalOut, histogram: histOut)
    }
}
