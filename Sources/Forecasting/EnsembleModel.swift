/// Combines the predictions of models that succeeded, weighting each by the
/// inverse of its recent realized mean squared error (Bates–Granger).
///
/// At bar t, each member's error `p_m[i] − y[i]` enters its exponentially
/// weighted mean squared error (span 500, bias-corrected) once realized,
/// i.e. at bar i + h ≤ t. The prediction at t is the weighted mean of the
/// members that have a prediction at t, with weights `1 / MSE_m` once each of
/// them has at least 20 realized errors, equal weights before that. NaN when
/// no member predicts at t. Confidence follows the same rule as the members,
/// from the ensemble's own realized errors. So the ensemble at bar t uses
/// data ≤ t only, like its members.
public struct EnsembleModel: Sendable {
    /// The name in reports: `ensemble`.
    public static let name = "ensemble"
    static let span = 500.0
    static let minErrors = 20

    /// Creates the combiner.
    public init() {}

    /// Combines `members` (each one prediction per bar of `input`).
    /// - Parameters:
    ///   - members: the members' forecasts (confidences are not used).
    ///   - input: the input they were made from (for the realized returns).
    ///   - context: the configuration (`horizonBars`) and checkpoint.
    /// - Returns: the combined series.
    /// - Throws: ``ForecastError``: `.invalidInput` when a member's length
    ///   differs from `input.count`; `.cancelled` from the checkpoint.
    public func combine(
        _ members: [ForecastSeries], input: ForecastInput, context: ForecastContext
    ) throws(ForecastError) -> ForecastSeries {
        let n = input.count, m = members.count, h = context.config.horizonBars
        for (index, member) in members.enumerated() where member.predictions.count != n {
            throw ForecastError(
                .invalidInput, "ensemble member \(index) has \(member.predictions.count) predictions for \(n) bars")
        }
        var series = ForecastSeries(empty: n)
        guard m > 0 else { return series }
        // Row-major n×m, one allocation; per-member error state in small arrays.
        let table = [Double](unsafeUninitializedCapacity: n * m) { out, initialized in
            for (j, member) in members.enumerated() {
                for t in 0..<n { out[t * m + j] = member.predictions[t] }
            }
            initialized = n * m
        }
        let returns = LogReturns.oneBar(input.close)
        let realized = LogReturns.forward(input.close, horizon: h)
        let alpha = 2 / (Self.span + 1)
        var numerator = [Double](repeating: 0, count: m)
        var denominator = [Double](repeating: 0, count: m)
        var errors = [Int](repeating: 0, count: m)
        var tracker = ConfidenceTracker(horizon: h)

        var failure: ForecastError?
        series.predictions.withUnsafeMutableBufferPointer { pred in
            series.confidence.withUnsafeMutableBufferPointer { conf in
                for t in 0..<n {
                    if t & 255 == 0 {
                        do throws(ForecastError) { try context.checkpoint(completed: t) } catch { failure = error; return }
                    }
                    tracker.observe(return: returns[t])
                    if t >= h {
                        let i = t - h, y = realized[i]
                        if y.isFinite {
                            for j in 0..<m {
                                let p = table[i * m + j]
                                guard p.isFinite else { continue }
                                let e = p - y
                                numerator[j] = (1 - alpha) * numerator[j] + alpha * e * e
                                denominator[j] = (1 - alpha) * denominator[j] + alpha
                                errors[j] += 1
                            }
                        }
                        tracker.observe(prediction: pred[i], realized: y)
                    }
                    var seasoned = true, any = false
                    for j in 0..<m where table[t * m + j].isFinite {
                        any = true
                        if errors[j] < Self.minErrors || numerator[j] <= 0 { seasoned = false }
                    }
                    guard any else { continue }
                    var weighted = 0.0, weights = 0.0
                    for j in 0..<m {
                        let p = table[t * m + j]
                        guard p.isFinite else { continue }
                        let w = seasoned ? denominator[j] / numerator[j] : 1
                        weighted += w * p
                        weights += w
                    }
                    let p = weighted / weights
                    guard p.isFinite else { continue }
                    pred[t] = p
                    conf[t] = tracker.confidence(p)
                }
            }
        }
        if let failure { throw failure }
        return series
    }
}
