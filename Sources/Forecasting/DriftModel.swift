/// Drift: the exponentially smoothed one-bar log return, times h.
///
/// `μ[t]` is the exponentially weighted mean (α = 2 / (span + 1),
/// bias-corrected: weights normalized to sum to 1, so early values are not
/// pulled toward 0) of the finite one-bar log returns up to bar t; the
/// prediction is `h · μ[t]`, once `minTrain` returns have been seen. The mean
/// is updated every bar (the model has nothing else to fit), so `refit_every`
/// and `window` do not apply: the span plays the window's part.
public struct DriftModel: ForecastModel {
    public var name: String { "drift" }
    /// The smoothing span in bars. Default 100.
    public var span: Int

    /// Creates the model.
    /// - Parameter span: the span S ≥ 1 of the smoothing, α = 2 / (S + 1). Default 100.
    public init(span: Int = 100) { self.span = span }

    public func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries {
        let config = context.config
        guard span >= 1 else { throw ForecastError(.modelFailed, field: "forecast.drift_span", "must be ≥ 1") }
        let h = config.horizonBars, n = input.count
        let returns = LogReturns.oneBar(input.close)
        let realized = LogReturns.forward(input.close, horizon: h)
        var series = ForecastSeries(empty: n)
        let alpha = 2 / (Double(span) + 1)
        var numerator = 0.0, denominator = 0.0
        var seen = 0
        var tracker = ConfidenceTracker(horizon: h)

        try returns.withUnsafeBufferPointer { r in
            try realized.withUnsafeBufferPointer { y in
                try series.predictions.withUnsafeMutableBufferPointer { pred in
                    try series.confidence.withUnsafeMutableBufferPointer { conf in
                        for t in 0..<n {
                            if t & 255 == 0 { try context.checkpoint(completed: t) }
                            let rt = r[t]
                            tracker.observe(return: rt)
                            if rt.isFinite {
                                numerator = (1 - alpha) * numerator + alpha * rt
                                denominator = (1 - alpha) * denominator + alpha
                                seen += 1
                            }
                            if t >= h { tracker.observe(prediction: pred[t - h], realized: y[t - h]) }
                            guard seen >= config.minTrain else { continue }
                            let p = Double(h) * numerator / denominator
                            pred[t] = p
                            conf[t] = tracker.confidence(p)
                        }
                    }
                }
            }
        }
        try context.checkpoint(completed: n)
        return series
    }
}
