/// Slow stochastic oscillator, as TA-Lib's `TA_STOCH` with simple moving
/// averages for slow-K and slow-D (TA-Lib's default `MAType_SMA`).
///
/// `fastK[t] = (close[t] − LL) / ((HH − LL) / 100)` over the last `fastK`
/// bars (0 when `HH == LL`); `slowK = SMA(fastK, slowK)`;
/// `slowD = SMA(slowK, slowD)`, TA-Lib's running sums in TA-Lib's order.
/// The window's lowest low and highest high are exact whatever the method;
/// they are found with van Herk and Gil-Werman's block scheme (the window is
/// a suffix of one `fastK`-bar block and a prefix of the next, and both are
/// kept as running extremes: three comparisons per bar and series, no
/// data-dependent branch) instead of TA-Lib's rescans, so the values are
/// TA-Lib's. (A NaN low or high is passed over by the comparisons, as it
/// mostly is by TA-Lib's.)
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
                            withUnsafeTemporaryAllocation(of: Double.self, capacity: slowK + slowD + 2 * fastK) { ring in
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

    /// `b < a ? b : a` (`minsd`).
    @inlinable @inline(__always)
    static func lesser(_ a: Double, _ b: Double) -> Double { b < a ? b : a }

    /// `b > a ? b : a` (`maxsd`).
    @inlinable @inline(__always)
    static func greater(_ a: Double, _ b: Double) -> Double { b > a ? b : a }

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
        let w = fastK
        // Ring buffers: the last `slowK` fast-K values and the last `slowD`
        // slow-K values (TA-Lib's SMA reads its trailing value back), and the
        // previous block's suffix extremes.
        let fastRing = ring.baseAddress!
        let slowRing = fastRing + slowK
        let suffixLow = slowRing + slowD
        let suffixHigh = suffixLow + w
        let hp = h.baseAddress!, lp = l.baseAddress!, cp = c.baseAddress!
        let kp = kOut.baseAddress!, dp = dOut.baseAddress!
        let pK = Double(slowK)
        let pD = Double(slowD)
        var blockStart = 0  // first bar of the current block
        var prefixLow = Double.infinity  // extremes of blockStart … i
        var prefixHigh = -Double.infinity
        var fastIdx = 0, fastCount = 0  // fast-K ring position, values so far
        var slowIdx = 0, slowCount = 0
        var kTotal = 0.0
        var dTotal = 0.0
        var i = 0
        while i < n {
            if i == blockStart &+ w {
                // The block just completed: its suffix extremes, backwards.
                var lo = Double.infinity, hi = -Double.infinity
                var j = w &- 1
                while j >= 0 {
                    lo = lesser(lo, lp[blockStart &+ j])
                    hi = greater(hi, hp[blockStart &+ j])
                    suffixLow[j] = lo
                    suffixHigh[j] = hi
                    j &-= 1
                }
                blockStart = i
                prefixLow = .infinity
                prefixHigh = -.infinity
            }
            prefixLow = lesser(prefixLow, lp[i])
            prefixHigh = greater(prefixHigh, hp[i])
            if i >= w &- 1 {
                // The window i−w+1 … i: a suffix of the previous block (from
                // offset i+1−blockStart) and blockStart … i; all of the
                // current block when i ends it.
                var lowest = prefixLow, highest = prefixHigh
                let from = i &+ 1 &- blockStart
                if from < w {
                    lowest = lesser(lowest, suffixLow[from])
                    highest = greater(highest, suffixHigh[from])
                }
                let diff = (highest - lowest) / 100.0
                let fast = diff != 0.0 ? (cp[i] - lowest) / diff : 0.0
                // Slow-K: TA-Lib's SMA over the fast-K series. After the
                // write, the ring's next slot holds the window's first value,
                // the one TA-Lib subtracts once the sum has been read.
                fastRing[fastIdx] = fast
                fastIdx &+= 1
                if fastIdx == slowK { fastIdx = 0 }
                fastCount &+= 1
                kTotal += fast
                if fastCount >= slowK {
                    let kSum = kTotal
                    kTotal -= fastRing[fastIdx]
                    let slow = kSum / pK
                    // Slow-D: SMA over slow-K.
                    slowRing[slowIdx] = slow
                    slowIdx &+= 1
                    if slowIdx == slowD { slowIdx = 0 }
                    slowCount &+= 1
                    dTotal += slow
                    if slowCount >= slowD {
                        let dSum = dTotal
                        dTotal -= slowRing[slowIdx]
                        kp[i] = slow
                        dp[i] = dSum / pD
                    }
                }
            }
            i &+= 1
        }
    }
}
