/// Slow stochastic oscillator, as TA-Lib's `TA_STOCH` with simple moving
/// averages for slow-K and slow-D (TA-Lib's default `MAType_SMA`).
///
/// `fastK[t] = (close[t] − LL) / ((HH − LL) / 100)` over the last `fastK`
/// bars (0 when `HH == LL`); `slowK = SMA(fastK, slowK)`;
/// `slowD = SMA(slowK, slowD)`. The highest/lowest are tracked like TA-Lib:
/// the extreme is kept until it leaves the window, then the window is
/// rescanned (amortised O(1), O(fastK) worst case per bar).
public enum Stochastic {
    /// `%K` (slow) and `%D` (slow), each as long as the input.
    public struct Output: Sendable, Equatable {
        /// Slow %K.
        public var k: [Double]
        /// Slow %D.
        public var d: [Double]
    }

    /// The number of leading NaN entries: `fastK − 1 + slowK − 1 + slowD − 1`
    /// (17 for 14, 3, 3).
    public static func lookback(fastK: Int = 14, slowK: Int = 3, slowD: Int = 3) -> Int {
        fastK - 1 + slowK - 1 + slowD - 1
    }

    /// Computes the slow stochastic.
    ///
    /// - Parameters:
    ///   - high, low, close: the bars' columns, all of the same length.
    ///   - fastK: the high/low window, ≥ 1. Default 14.
    ///   - slowK: SMA period smoothing fast-K, ≥ 1. Default 3.
    ///   - slowD: SMA period smoothing slow-K, ≥ 1. Default 3.
    /// - Returns: `k` and `d`, NaN for the first `lookback(...)` entries.
    public static func compute(
        high: [Double], low: [Double], close: [Double],
        fastK: Int = 14, slowK: Int = 3, slowD: Int = 3
    ) -> Output {
        precondition(fastK >= 1 && slowK >= 1 && slowD >= 1, "stochastic periods must be at least 1")
        precondition(high.count == close.count && low.count == close.count, "column lengths differ")
        let n = close.count
        let total = lookback(fastK: fastK, slowK: slowK, slowD: slowD)
        var dOut = [Double]()
        let kOut: [Double] = high.withUnsafeBufferPointer { h in
            low.withUnsafeBufferPointer { l in
                close.withUnsafeBufferPointer { c in
                    makeSeries(count: n) { kBuf in
                        dOut = makeSeries(count: n) { dBuf in
                            fillNaN(kBuf, upTo: total)
                            fillNaN(dBuf, upTo: total)
                            guard n > total else { return }
                            withUnsafeTemporaryAllocation(of: Double.self, capacity: slowK + slowD) { ring in
                                kernel(
                                    high: h, low: l, close: c,
                                    fastK: fastK, slowK: slowK, slowD: slowD,
                                    ring: ring, k: kBuf, d: dBuf)
                            }
                        }
                    }
                }
            }
        }
        return Output(k: kOut, d: dOut)
    }

    @inlinable
    static func kernel(
        high h: UnsafeBufferPointer<Double>,
        low l: UnsafeBufferPointer<Double>,
        close c: UnsafeBufferPointer<Double>,
        fastK: Int, slowK: Int, slowD: Int,
        ring: UnsafeMutableBufferPointer<Double>,
        k kOut: UnsafeMutableBufferPointer<Double>,
        d dOut: UnsafeMutableBufferPointer<Double>
    ) {
        let n = c.count
        // Ring buffers: the last `slowK` fast-K values and the last `slowD`
        // slow-K values (TA-Lib's SMA reads its trailing value back).
        let fastRing = UnsafeMutableBufferPointer(rebasing: ring[0 ..< slowK])
        let slowRing = UnsafeMutableBufferPointer(rebasing: ring[slowK ..< slowK + slowD])
        let pK = Double(slowK)
        let pD = Double(slowD)
        var lowest = 0.0, highest = 0.0, diff = 0.0
        var lowestIdx = -1, highestIdx = -1
        var trailing = 0
        var today = fastK - 1
        var fastCount = 0      // fast-K values produced so far
        var slowCount = 0      // slow-K values produced so far
        var kTotal = 0.0
        var dTotal = 0.0
        while today < n {
            var tmp = l[today]
            if lowestIdx < trailing {
                lowestIdx = trailing
                lowest = l[lowestIdx]
                var i = lowestIdx + 1
                while i <= today {
                    tmp = l[i]
                    if tmp < lowest { lowestIdx = i; lowest = tmp }
                    i += 1
                }
                diff = (highest - lowest) / 100.0
            } else if tmp <= lowest {
                lowestIdx = today
                lowest = tmp
                diff = (highest - lowest) / 100.0
            }
            tmp = h[today]
            if highestIdx < trailing {
                highestIdx = trailing
                highest = h[highestIdx]
                var i = highestIdx + 1
                while i <= today {
                    tmp = h[i]
                    if tmp > highest { highestIdx = i; highest = tmp }
                    i += 1
                }
                diff = (highest - lowest) / 100.0
            } else if tmp >= highest {
                highestIdx = today
                highest = tmp
                diff = (highest - lowest) / 100.0
            }
            let fast = diff != 0.0 ? (c[today] - lowest) / diff : 0.0
            // Slow-K: TA-Lib's SMA over the fast-K series.
            fastRing[fastCount % slowK] = fast
            fastCount += 1
            if fastCount < slowK {
                kTotal += fast
            } else {
                kTotal += fast
                let kSum = kTotal
                let oldest = fastRing[fastCount % slowK]   // fast[count - slowK]
                let slow = kSum / pK
                kTotal -= oldest
                // Slow-D: SMA over slow-K.
                slowRing[slowCount % slowD] = slow
                slowCount += 1
                if slowCount < slowD {
                    dTotal += slow
                } else {
                    dTotal += slow
                    let dSum = dTotal
                    dTotal -= slowRing[slowCount % slowD]
                    kOut[today] = slow
                    dOut[today] = dSum / pD
                }
            }
            trailing += 1
            today += 1
        }
    }
}
