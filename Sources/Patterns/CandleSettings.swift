/// TA-Lib's default candle settings (`TA_RestoreCandleDefaultSettings`,
/// `ta_global.c`) and the per-bar range functions of `ta_utility.h`.
///
/// A setting's threshold at bar `i` is
/// `factor × (Σ range over the avgPeriod bars before i) / avgPeriod`
/// (`÷ 2` more for the Shadows range type), or `factor × range(i)` when
/// `avgPeriod` is 0. The kernels keep the running sums exactly as TA-Lib does
/// (add the newest, subtract the oldest, same start index), so thresholds are
/// bit-identical and borderline bars decide the same way.
@usableFromInline
struct Bars {
    @usableFromInline let o: UnsafePointer<Double>
    @usableFromInline let h: UnsafePointer<Double>
    @usableFromInline let l: UnsafePointer<Double>
    @usableFromInline let c: UnsafePointer<Double>

    @inlinable init(o: UnsafePointer<Double>, h: UnsafePointer<Double>, l: UnsafePointer<Double>, c: UnsafePointer<Double>) {
        self.o = o; self.h = h; self.l = l; self.c = c
    }

    /// `|close − open|` (TA_REALBODY).
    @inlinable @inline(__always) func body(_ i: Int) -> Double { Swift.abs(c[i] - o[i]) }
    /// `high − max(open, close)` (TA_UPPERSHADOW).
    @inlinable @inline(__always) func upper(_ i: Int) -> Double { h[i] - (c[i] >= o[i] ? c[i] : o[i]) }
    /// `min(open, close) − low` (TA_LOWERSHADOW).
    @inlinable @inline(__always) func lower(_ i: Int) -> Double { (c[i] >= o[i] ? o[i] : c[i]) - l[i] }
    /// `high − low` (TA_HIGHLOWRANGE).
    @inlinable @inline(__always) func range(_ i: Int) -> Double { h[i] - l[i] }
    /// White (close ≥ open) candle (TA_CANDLECOLOR == 1).
    @inlinable @inline(__always) func white(_ i: Int) -> Bool { c[i] >= o[i] }
}

/// The default settings used by the eight patterns (TA-Lib names).
@usableFromInline
enum CandleSetting {
    /// BodyDoji: HighLow, 10 bars, 0.1.
    @usableFromInline static let bodyDojiPeriod = 10
    @usableFromInline static let bodyDojiFactor = 0.1
    /// BodyShort: RealBody, 10 bars, 1.0.
    @usableFromInline static let bodyShortPeriod = 10
    @usableFromInline static let bodyShortFactor = 1.0
    /// ShadowLong: RealBody, 0 bars (the bar's own body), 1.0.
    @usableFromInline static let shadowLongFactor = 1.0
    /// ShadowVeryShort: HighLow, 10 bars, 0.1.
    @usableFromInline static let shadowVeryShortPeriod = 10
    @usableFromInline static let shadowVeryShortFactor = 0.1
    /// Near: HighLow, 5 bars, 0.2.
    @usableFromInline static let nearPeriod = 5
    @usableFromInline static let nearFactor = 0.2
    /// Far: HighLow, 5 bars, 0.6.
    @usableFromInline static let farPeriod = 5
    @usableFromInline static let farFactor = 0.6

    /// TA_CANDLEAVERAGE for a setting with a non-zero period and a non-Shadows range.
    @inlinable @inline(__always)
    static func average(_ factor: Double, _ sum: Double, _ period: Int) -> Double {
        factor * (sum / Double(period)) / 1.0
    }
}

/// Two bars at a time: the same quantities for bars `i` and `i + 1` in the
/// lanes of a `SIMD2`, so that a pattern's conditions become lane masks (and
/// compile to packed compares and `and`s) instead of `&&` chains of
/// unpredictable branches, and the averages' divisions become one `divpd`.
/// Every lane computes exactly what the scalar form computes.
extension Bars {
    @usableFromInline typealias Pair = SIMD2<Double>
    @usableFromInline typealias Mask = SIMDMask<SIMD2<Int64>>

    @inlinable @inline(__always) static func load(_ p: UnsafePointer<Double>) -> Pair {
        UnsafeRawPointer(p).loadUnaligned(as: Pair.self)
    }
    @inlinable @inline(__always) func o2(_ i: Int) -> Pair { Bars.load(o + i) }
    @inlinable @inline(__always) func h2(_ i: Int) -> Pair { Bars.load(h + i) }
    @inlinable @inline(__always) func l2(_ i: Int) -> Pair { Bars.load(l + i) }
    @inlinable @inline(__always) func c2(_ i: Int) -> Pair { Bars.load(c + i) }
    /// `|close − open|`, lane-wise (clears the sign bit, as `fabs`).
    @inlinable @inline(__always) func body2(_ i: Int) -> Pair {
        let d = c2(i) - o2(i)
        return unsafeBitCast(
            unsafeBitCast(d, to: SIMD2<UInt64>.self) & SIMD2(repeating: 0x7fff_ffff_ffff_ffff),
            to: Pair.self)
    }
    /// `high − low`.
    @inlinable @inline(__always) func range2(_ i: Int) -> Pair { h2(i) - l2(i) }
    /// `high − (close ≥ open ? close : open)`.
    @inlinable @inline(__always) func upper2(_ i: Int) -> Pair {
        let cl = c2(i), op = o2(i)
        return h2(i) - op.replacing(with: cl, where: cl .>= op)
    }
    /// `(close ≥ open ? open : close) − low`.
    @inlinable @inline(__always) func lower2(_ i: Int) -> Pair {
        let cl = c2(i), op = o2(i)
        return cl.replacing(with: op, where: cl .>= op) - l2(i)
    }
    /// White (close ≥ open).
    @inlinable @inline(__always) func white2(_ i: Int) -> Mask { c2(i) .>= o2(i) }
}

extension CandleSetting {
    /// `average` for two bars' sums at once.
    @inlinable @inline(__always)
    static func average2(_ factor: Double, _ sums: SIMD2<Double>, _ period: Int) -> SIMD2<Double> {
        factor * (sums / Double(period)) / 1.0
    }
}

/// Writes `value` (or 0) for two bars, as the lanes of `hit` say.
@inlinable @inline(__always)
func storeScores(_ hit: SIMDMask<SIMD2<Int64>>, _ value: Int32, _ out: UnsafeMutablePointer<Int32>) {
    let lanes = unsafeBitCast(hit, to: SIMD2<Int64>.self) & Int64(value)
    UnsafeMutableRawPointer(out).storeBytes(of: SIMD2<Int32>(truncatingIfNeeded: lanes), as: SIMD2<Int32>.self)
}

/// One of TA-Lib's candle-setting running sums, advanced two bars at a time.
@usableFromInline
struct RunningSum {
    @usableFromInline var total = 0.0

    @inlinable init() {}

    /// The sums in effect at bars `i` and `i + 1` (the current total, and
    /// that plus bar `i`'s increment `d[0]`), then the total moves past both:
    /// `total += d[0]; total += d[1]`, as TA-Lib adds one increment per bar.
    @inlinable @inline(__always)
    mutating func pair(_ d: SIMD2<Double>) -> SIMD2<Double> {
        let sums = SIMD2(total, total + d[0])
        total = sums[1] + d[1]
        return sums
    }
}

/// TA-Lib's `min(a, b)` macro, `a < b ? a : b`.
@inlinable @inline(__always)
func lesser(_ a: Double, _ b: Double) -> Double { a < b ? a : b }

/// TA-Lib's `max(a, b)` macro, `a > b ? a : b`.
@inlinable @inline(__always)
func greater(_ a: Double, _ b: Double) -> Double { a > b ? a : b }

/// `lesser` lane-wise.
@inlinable @inline(__always)
func lesser2(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> SIMD2<Double> { b.replacing(with: a, where: a .< b) }

/// `greater` lane-wise.
@inlinable @inline(__always)
func greater2(_ a: SIMD2<Double>, _ b: SIMD2<Double>) -> SIMD2<Double> { b.replacing(with: a, where: a .> b) }
