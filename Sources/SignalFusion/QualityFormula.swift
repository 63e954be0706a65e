/// The component formulas, one function each, as documented on
/// ``SignalFusion`` and in `docs/fusion.md`. Every result is in [0, 1].
enum QualityFormula {
    /// The value of a component that has nothing to measure.
    static let neutral = 0.5

    /// `s(c)`: `min(1, 1.2·c)` when `c ≥ 0.8`, `0.5·c` when `c < 0.5`, else
    /// `c`; `c` is first clamped to [0, 1] (NaN → 0).
    @inline(__always)
    static func boostedStrength(_ confidence: Double) -> Double {
        let c = clamp01(confidence)
        if c >= 0.8 { return Swift.min(1, 1.2 * c) }
        if c < 0.5 { return 0.5 * c }
        return c
    }

    /// Pattern strength: `s(best supporting confidence)` when a pattern agrees
    /// with the direction, else `0.5·(1 − s(best opposing confidence))` when
    /// one opposes it, else 0.5.
    @inline(__always)
    static func patternStrength(supporting: Double, opposing: Double) -> Double {
        if supporting >= 0 { return boostedStrength(supporting) }
        if opposing >= 0 { return 0.5 * (1 - boostedStrength(opposing)) }
        return neutral
    }

    /// ADX score: `clamp((adx − 15) / 20, 0, 1)`: 0 at ADX ≤ 15, 1 at ≥ 35.
    @inline(__always)
    static func adxScore(_ adx: Double) -> Double { clamp01((adx - 15) / 20) }

    /// Volatility score from the percentile `p`: `1 − |2p − 1|` (1 at the
    /// median, 0 at the extremes).
    @inline(__always)
    static func volatilityScore(percentile p: Double) -> Double { clamp01(1 - Swift.abs(2 * p - 1)) }

    /// Volume confirmation: `min(1, 0.5·volume / average)` (0.5 at the
    /// average, 1 at twice the average).
    @inline(__always)
    static func volumeConfirmation(volume: Double, average: Double) -> Double { clamp01(0.5 * volume / average) }

    /// Sentiment alignment: `0.5 + 0.5·d·clamp(s, −1, 1)` with `d = ±1`.
    @inline(__always)
    static func sentimentAlignment(_ s: Double, direction d: Double) -> Double {
        0.5 + 0.5 * d * Swift.min(1, Swift.max(-1, s))
    }

    /// `min(1, max(0, x))`, NaN → 0.
    @inline(__always)
    static func clamp01(_ x: Double) -> Double {
        x.isNaN ? 0 : Swift.min(1, Swift.max(0, x))
    }
}
