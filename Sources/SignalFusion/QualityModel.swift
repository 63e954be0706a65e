#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The meta-labeling model behind the calibrated `quality`: a logistic
/// regression with an L2 penalty, fitted by Newton's method (IRLS), of
/// `P(R > 0)` on ``featureCount`` features of a signal:
///
/// `x = (1, c₁ − 0.5, …, c₆ − 0.5, f)` where `cᵢ` are the six components
/// (an uninformative one — flagged, left out of the prior — counts as 0.5,
/// i.e. 0) and `f = clamp(d·prediction·close/ATR, −5, 5)`, the forecast's
/// expected move in ATRs in the signal's direction (0 without a forecast).
///
/// It minimises `−Σ [y log p + (1−y) log(1−p)] + λ/2·Σ_{j≥1} βⱼ²` (the
/// intercept is not penalised); ``CalibrationWalk`` passes
/// `λ = calibration_l2 / ū`, `ū` the training outcomes' mean sample
/// uniqueness. A refit starts from the previous
/// coefficients (warm start) and stops when no coefficient moves more than
/// 1e-9, or after 25 steps.
struct QualityModel: Sendable, Equatable {
    static let featureCount = 8
    var beta = [Double](repeating: 0, count: featureCount)

    /// `σ(β·x)`.
    @inline(__always)
    func predict(_ x: UnsafeBufferPointer<Double>) -> Double {
        var z = 0.0
        for j in 0..<Self.featureCount { z += beta[j] * x[j] }
        return Self.sigmoid(z)
    }

    @inline(__always)
    static func sigmoid(_ z: Double) -> Double {
        z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
    }

    /// Refits on the first `count` rows of `x` (row-major, ``featureCount``
    /// per row) with labels `y` (0 or 1), starting from the current `beta`.
    /// - Parameter checkpoint: called before every Newton step (one pass over
    ///   the rows: a few milliseconds for 100,000 of them); what it throws
    ///   ends the fit, as is (`beta` then holds the last step's). Default: nothing.
    mutating func fit(
        x: [Double], y: [Double], count: Int, lambda: Double, maxSteps: Int = 25,
        checkpoint: () throws(FusionError) -> Void = {}
    ) throws(FusionError) {
        let p = Self.featureCount
        var gradient = [Double](repeating: 0, count: p)
        var hessian = [Double](repeating: 0, count: p * p)
        var stopped: FusionError?
        x.withUnsafeBufferPointer { xs in
            y.withUnsafeBufferPointer { ys in
                for _ in 0..<maxSteps {
                    do throws(FusionError) { try checkpoint() } catch {
                        stopped = error
                        return
                    }
                    for j in 0..<p { gradient[j] = 0 }
                    for j in 0..<p * p { hessian[j] = 0 }
                    for i in 0..<count {
                        let row = UnsafeBufferPointer(rebasing: xs[i * p..<(i + 1) * p])
                        let mu = predict(row)
                        let w = Swift.max(mu * (1 - mu), 1e-12)
                        let residual = mu - ys[i]
                        for a in 0..<p {
                            let xa = row[a]
                            gradient[a] += residual * xa
                            let wa = w * xa
                            for b in 0...a { hessian[a * p + b] += wa * row[b] }
                        }
                    }
                    for a in 0..<p {
                        for b in 0..<a { hessian[b * p + a] = hessian[a * p + b] }
                    }
                    hessian[0] += 1e-9
                    for j in 1..<p {
                        gradient[j] += lambda * beta[j]
                        hessian[j * p + j] += lambda + 1e-9
                    }
                    guard let step = Self.solve(hessian, gradient, p) else { return }
                    var largest = 0.0
                    for j in 0..<p {
                        beta[j] -= step[j]
                        largest = Swift.max(largest, Swift.abs(step[j]))
                    }
                    if largest < 1e-9 { return }
                }
            }
        }
        if let stopped { throw stopped }
    }

    /// Solves `A·s = b` for a symmetric positive definite `A` (Cholesky); nil if it is not.
    static func solve(_ a: [Double], _ b: [Double], _ n: Int) -> [Double]? {
        var l = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var sum = a[i * n + j]
                for k in 0..<j { sum -= l[i * n + k] * l[j * n + k] }
                if i == j {
                    guard sum > 0, sum.isFinite else { return nil }
                    l[i * n + i] = sum.squareRoot()
                } else {
                    l[i * n + j] = sum / l[j * n + j]
                }
            }
        }
        var z = [Double](repeating: 0, count: n)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= l[i * n + k] * z[k] }
            z[i] = sum / l[i * n + i]
        }
        var s = [Double](repeating: 0, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = z[i]
            for k in i + 1..<n { sum -= l[k * n + i] * s[k] }
            s[i] = sum / l[i * n + i]
        }
        return s
    }
}
