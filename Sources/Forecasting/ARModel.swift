/// AR(p) on one-bar log returns, fitted by least squares, forecasting the
/// h-bar return by iterating the recursion h steps and summing.
///
/// Model: `r[s] = c + φ₁ r[s−1] + … + φ_p r[s−p] + ε`. A training sample is
/// the bar s with its p lags; its target `r[s]` is known at bar s, so a refit
/// at bar τ trains on samples s ≤ τ (expanding) or τ − W < s ≤ τ (rolling
/// window W). Samples with any NaN return are skipped. The prediction at bar t
/// feeds `r[t], …, r[t−p+1]` into the fitted recursion for h steps and sums the
/// h predicted one-bar returns (log returns add up), so it uses data ≤ t only.
/// Bars without a fit or with a NaN among the p latest returns get NaN.
///
/// Solved through standardized normal equations by Cholesky (see
/// ``LinearFit``); each bar costs O(p² + h·p) and allocates nothing.
/// Confidence: `erf(|p| / (σ√2))`, σ the model's recent realized error (see
/// ``ForecastSeries/confidence``).
public struct ARModel: ForecastModel {
    public var name: String { "ar" }
    /// p, the number of lags. Default 5.
    public var order: Int

    /// Creates the model.
    /// - Parameter order: p ≥ 1. Default 5.
    public init(order: Int = 5) { self.order = order }

    public func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries {
        let config = context.config
        let p = order, h = config.horizonBars, n = input.count
        guard p >= 1 else { throw ForecastError(.modelFailed, field: "forecast.ar_order", "must be ≥ 1") }
        let returns = LogReturns.oneBar(input.close)
        let realized = LogReturns.forward(input.close, horizon: h)
        var series = ForecastSeries(empty: n)

        let ls = LeastSquares(k: p)
        let x = UnsafeMutablePointer<Double>.allocate(capacity: p)
        let lags = UnsafeMutablePointer<Double>.allocate(capacity: p)
        defer { x.deallocate(); lags.deallocate() }
        let minTrain = max(config.minTrain, p + 2)
        var schedule = RefitSchedule(refitEvery: config.refitEvery, minTrain: minTrain)
        var tracker = ConfidenceTracker(horizon: h)
        var known = 0
        var intercept = 0.0

        try returns.withUnsafeBufferPointer { r in
            try realized.withUnsafeBufferPointer { y in
                try series.predictions.withUnsafeMutableBufferPointer { pred in
                    try series.confidence.withUnsafeMutableBufferPointer { conf in
                        /// Loads sample s (target r[s], lags r[s−1…s−p]) into x; false when incomplete.
                        func sample(_ s: Int) -> Bool {
                            guard s > p, r[s].isFinite else { return false }
                            for j in 0..<p {
                                let v = r[s - 1 - j]
                                guard v.isFinite else { return false }
                                x[j] = v
                            }
                            return true
                        }
                        for t in 0..<n {
                            if t & 255 == 0 { try context.checkpoint(completed: t) }
                            tracker.observe(return: r[t])
                            if sample(t) {
                                if case .expanding = config.window { ls.add(x, r[t]) }
                                known += 1
                            }
                            if t >= h { tracker.observe(prediction: pred[t - h], realized: y[t - h]) }
                            if schedule.due(at: t, known: known) {
                                if case .rolling(let w) = config.window {
                                    ls.reset()
                                    var s = max(p + 1, t - w + 1)
                                    while s <= t {
                                        if sample(s) { ls.add(x, r[s]) }
                                        s += 1
                                    }
                                }
                                if ls.count >= minTrain && ls.solve(lambda: 0) { intercept = ls.intercept }
                            }
                            guard ls.hasFit, t >= p else { continue }
                            var complete = true
                            for j in 0..<p {
                                let v = r[t - j]
                                if !v.isFinite { complete = false; break }
                                lags[j] = v
                            }
                            guard complete else { continue }
                            let phi = ls.weights
                            var total = 0.0
                            for _ in 0..<h {
                                var next = intercept
                                for j in 0..<p { next += phi[j] * lags[j] }
                                var j = p - 1
                                while j > 0 { lags[j] = lags[j - 1]; j -= 1 }
                                lags[0] = next
                                total += next
                            }
                            guard total.isFinite else { continue }
                            pred[t] = total
                            conf[t] = tracker.confidence(total)
                        }
                    }
                }
            }
        }
        try context.checkpoint(completed: n)
        return series
    }

    /// Fits AR(`order`) with intercept by least squares on every complete
    /// sample of `returns` (no walk-forward): the estimator the model refits with.
    /// - Parameters:
    ///   - returns: one-bar returns, e.g. ``LogReturns/oneBar(_:)``; NaN entries are skipped.
    ///   - order: p ≥ 1.
    /// - Returns: c and φ₁…φ_p, or nil with fewer than p + 2 complete samples.
    public static func estimate(returns: [Double], order: Int) -> LinearFit? {
        precondition(order >= 1, "AR order must be at least 1")
        let ls = LeastSquares(k: order)
        let x = UnsafeMutablePointer<Double>.allocate(capacity: order)
        defer { x.deallocate() }
        var s = order
        while s < returns.count {
            var complete = returns[s].isFinite
            for j in 0..<order where complete {
                x[j] = returns[s - 1 - j]
                complete = x[j].isFinite
            }
            if complete { ls.add(x, returns[s]) }
            s += 1
        }
        guard ls.count >= order + 2, ls.solve(lambda: 0) else { return nil }
        return ls.linearFit
    }
}
