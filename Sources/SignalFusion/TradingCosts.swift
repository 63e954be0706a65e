/// What a round trip costs, for the outcome labels' R multiples.
///
/// The `analysis.costs` of the signal's symbol, reduced to three terms that
/// add up: `fixed` (price units, e.g. an absolute spread), `proportional`
/// (a fraction of the entry price: spread and both commissions in basis
/// points / 10⁴) and `atrMultiple` (slippage on both sides, in ATR).
public struct TradingCosts: Sendable, Equatable {
    /// Price units per round trip. Default 0.
    public var fixed: Double
    /// Fraction of the entry price per round trip. Default 0.
    public var proportional: Double
    /// ATR multiples per round trip. Default 0.
    public var atrMultiple: Double

    /// Creates a cost model; every term ≥ 0.
    public init(fixed: Double = 0, proportional: Double = 0, atrMultiple: Double = 0) {
        self.fixed = fixed
        self.proportional = proportional
        self.atrMultiple = atrMultiple
    }

    /// `fixed + proportional·price + atrMultiple·atr`.
    @inline(__always)
    public func roundTrip(price: Double, atr: Double) -> Double {
        fixed + proportional * price + atrMultiple * atr
    }
}
