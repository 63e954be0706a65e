/// Ridge regression of the h-bar log return on the feature columns,
/// standardized over each training window.
///
/// A training sample is bar i with its feature row and target
/// `y[i] = ln(close[i+h] / close[i])`, which is known only at bar i + h; a
/// refit at bar τ therefore trains on samples i ≤ τ − h (expanding) or
/// τ − h − W < i ≤ τ − h (rolling window W). Rows with any NaN or infinite
/// feature (an indicator's lookback) are skipped for training and get no
/// prediction. Features are standardized with the training samples' mean and
/// population standard deviation; the intercept (the mean target) is not
/// penalized; λ is on the sum-of-squares scale (scikit-learn's `alpha`). A
/// feature constant over the training window gets coefficient 0.
///
/// Sums are updated per sample (O(k²), no allocation); a refit is O(k³) with
/// an expanding window, O(W·k² + k³) with a rolling one.
public struct RidgeModel: ForecastModel {
    public var name: String { "ridge" }
    /// The penalty λ ≥ 0. Default 1.
    public var lambda: Double

    /// Creates the model.
    /// - Parameter lambda: the ridge penalty on standardized features, ≥ 0. Default 1.
    public init(lambda: Double = 1) { self.lambda = lambda }

    /// - Throws: ``ForecastError`` with code `.modelFailed` when `input` has no feature column.
    public func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries {
        let config = context.config
        let k = input.features.count, h = config.horizonBars, n = input.count
        guard k >= 1 else { throw ForecastError(.modelFailed, "ridge needs at least one feature column") }
        let returns = LogReturns.oneBar(input.close)
        let realized = LogReturns.forward(input.close, horizon: h)
        let rows = Self.rowMajor(input.features, count: n)
        let usable = Self.usableRows(rows, k: k, count: n)
        var series = ForecastSeries(empty: n)
        guard n > 0 else { return series }

        let ls = LeastSquares(k: k)
        let minTrain = max(config.minTrain, k + 2)
        var schedule = RefitSchedule(refitEvery: config.refitEvery, minTrain: minTrain)
        var tracker = ConfidenceTracker(horizon: h)
        var known = 0

        try rows.withUnsafeBufferPointer { rows in
            let base = rows.baseAddress!  // n·k > 0
            try returns.withUnsafeBufferPointer { r in
                try realized.withUnsafeBufferPointer { y in
                    try series.predictions.withUnsafeMutableBufferPointer { pred in
                        try series.confidence.withUnsafeMutableBufferPointer { conf in
                            for t in 0..<n {
                                if t & 255 == 0 { try context.checkpoint(completed: t) }
                                tracker.observe(return: r[t])
                                if t >= h {
                                    let i = t - h
                                    if usable[i] && y[i].isFinite {
                                        if case .expanding = config.window { ls.add(base + i * k, y[i]) }
                                        known += 1
                                    }
                                    tracker.observe(prediction: pred[i], realized: y[i])
                                }
                                if schedule.due(at: t, known: known) {
                                    if case .rolling(let w) = config.window {
                                        ls.reset()
                                        var i = max(0, t - h - w + 1)
                                        while i <= t - h {
                                            if usable[i] && y[i].isFinite { ls.add(base + i * k, y[i]) }
                                            i += 1
                                        }
                                    }
                                    if ls.count >= minTrain { _ = ls.solve(lambda: lambda) }
                                }
                                guard ls.hasFit, usable[t] else { continue }
                                let p = ls.predict(base + t * k)
                                guard p.isFinite else { continue }
                                pred[t] = p
                                conf[t] = tracker.confidence(p)
                            }
                        }
                    }
                }
            }
        }
        try context.checkpoint(completed: n)
        return series
    }

    /// Fits the ridge regression of `targets` on `features` over every usable
    /// row (no walk-forward): the estimator the model refits with.
    /// - Parameters:
    ///   - features: columns, each `targets.count` long.
    ///   - targets: one target per row; NaN rows are skipped.
    ///   - lambda: the penalty on standardized features, ≥ 0. Default 1.
    /// - Returns: the fit in raw feature units, or nil with fewer than k + 2 usable rows.
    public static func fit(features: [[Double]], targets: [Double], lambda: Double = 1) -> LinearFit? {
        let k = features.count, n = targets.count
        precondition(k >= 1 && features.allSatisfy { $0.count == n }, "features must be columns as long as targets")
        let rows = rowMajor(features, count: n)
        let usable = usableRows(rows, k: k, count: n)
        let ls = LeastSquares(k: k)
        rows.withUnsafeBufferPointer { rows in
            guard let base = rows.baseAddress else { return }
            for i in 0..<n where usable[i] && targets[i].isFinite { ls.add(base + i * k, targets[i]) }
        }
        guard ls.count >= k + 2, ls.solve(lambda: lambda) else { return nil }
        return ls.linearFit
    }

    /// The feature columns as one row-major n×k block (one allocation).
    static func rowMajor(_ columns: [[Double]], count n: Int) -> [Double] {
        let k = columns.count
        return [Double](unsafeUninitializedCapacity: n * k) { out, initialized in
            for (j, column) in columns.enumerated() {
                column.withUnsafeBufferPointer { c in
                    for i in 0..<n { out[i * k + j] = c[i] }
                }
            }
            initialized = n * k
        }
    }

    /// Whether each row's features are all finite.
    static func usableRows(_ rows: [Double], k: Int, count n: Int) -> [Bool] {
        rows.withUnsafeBufferPointer { m in
            (0..<n).map { i in
                for j in 0..<k where !m[i * k + j].isFinite { return false }
                return true
            }
        }
    }
}
