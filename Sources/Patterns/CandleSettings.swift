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
