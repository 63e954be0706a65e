/// Out-of-sample scores of one model's predictions against realized returns.
///
/// Every prediction of a walk-forward model is out of sample: the prediction
/// at bar t is made by a fit on targets known at t, and its own target is
/// realized only at t + h.
public struct ForecastEvaluation: Sendable, Equatable {
    /// Bars where both the prediction and the realized return exist (finite).
    public var evaluated: Int
    /// Mean |prediction − realized| over the `evaluated` bars; NaN when none.
    public var meanAbsoluteError: Double
    /// Evaluated bars where both the prediction and the realized return are
    /// non-zero (a zero has no direction, so it is neither hit nor miss).
    public var directionalBars: Int
    /// Directional bars where sign(prediction) == sign(realized).
    public var hits: Int

    /// `hits / directionalBars`; NaN when there are no directional bars.
    public var directionalAccuracy: Double {
        directionalBars == 0 ? .nan : Double(hits) / Double(directionalBars)
    }

    /// Creates a record.
    public init(evaluated: Int, meanAbsoluteError: Double, directionalBars: Int, hits: Int) {
        self.evaluated = evaluated
        self.meanAbsoluteError = meanAbsoluteError
        self.directionalBars = directionalBars
        self.hits = hits
    }

    /// Scores `predictions` against `realized` (bar by bar, same length).
    /// - Parameters:
    ///   - predictions: the model's predictions (NaN where none).
    ///   - realized: the realized targets, e.g. ``LogReturns/forward(_:horizon:)``.
    /// - Returns: the scores over bars where both are finite.
    public static func evaluate(predictions: [Double], realized: [Double]) -> ForecastEvaluation {
        precondition(predictions.count == realized.count, "predictions and realized differ in length")
        var evaluated = 0, directional = 0, hits = 0
        var absSum = 0.0
        for t in 0..<predictions.count {
            let p = predictions[t], y = realized[t]
            guard p.isFinite, y.isFinite else { continue }
            evaluated += 1
            absSum += abs(p - y)
            if p != 0 && y != 0 {
                directional += 1
                if (p > 0) == (y > 0) { hits += 1 }
            }
        }
        return ForecastEvaluation(
            evaluated: evaluated,
            meanAbsoluteError: evaluated == 0 ? .nan : absSum / Double(evaluated),
            directionalBars: directional,
            hits: hits)
    }
}
