import Foundation

/// The confidence of a prediction, from the model's own past errors.
///
/// If the error of a prediction p is taken as normal with mean 0 and standard
/// deviation σ, the probability that the realized return has the sign of p is
/// Φ(|p|/σ). The confidence rescales it from [½, 1) to [0, 1):
/// `confidence = 2Φ(|p|/σ) − 1 = erf(|p| / (σ√2))` — 0 for a prediction of
/// 0, near 1 for a prediction many error-deviations away from 0.
///
/// σ at bar t is the exponentially weighted root mean square (span 250
/// errors, bias-corrected) of the model's errors `p[i] − y[i]` realized by t
/// (i + h ≤ t). Until 20 errors are known it is the random-walk prior
/// `√(h · mean(r²))` over the one-bar returns up to t: the error of a
/// forecast that knows nothing.
struct ConfidenceTracker {
    static let span = 250.0
    static let minErrors = 20

    private let horizon: Double
    private let alpha = 2 / (ConfidenceTracker.span + 1)
    private var squaredReturns = 0.0
    private var returns = 0
    private var errorNumerator = 0.0
    private var errorDenominator = 0.0
    private var errors = 0

    init(horizon: Int) { self.horizon = Double(horizon) }

    /// Counts the one-bar return of the current bar (ignored when not finite).
    @inline(__always)
    mutating func observe(return r: Double) {
        guard r.isFinite else { return }
        squaredReturns += r * r
        returns += 1
    }

    /// Counts the error of an earlier prediction realized at the current bar.
    @inline(__always)
    mutating func observe(prediction p: Double, realized y: Double) {
        guard p.isFinite, y.isFinite else { return }
        let e = p - y
        errorNumerator = (1 - alpha) * errorNumerator + alpha * e * e
        errorDenominator = (1 - alpha) * errorDenominator + alpha
        errors += 1
    }

    /// σ as above; NaN before any return is known.
    var sigma: Double {
        if errors >= Self.minErrors { return (errorNumerator / errorDenominator).squareRoot() }
        if returns > 0 { return (horizon * squaredReturns / Double(returns)).squareRoot() }
        return .nan
    }

    /// The confidence of prediction `p` (finite) in [0, 1].
    @inline(__always)
    func confidence(_ p: Double) -> Double {
        let s = sigma
        guard s.isFinite else { return 0 }
        if s == 0 { return p == 0 ? 0 : 1 }
        return min(1, max(0, erf(abs(p) / (s * 2.0.squareRoot()))))
    }
}
