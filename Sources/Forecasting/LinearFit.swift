/// A fitted linear model in raw units: `ŷ = intercept + Σ coefficients[j] · x_j`.
public struct LinearFit: Sendable, Equatable {
    /// The constant term.
    public var intercept: Double
    /// One coefficient per regressor (AR: φ₁…φ_p, lag 1 first; ridge: per feature column).
    public var coefficients: [Double]
    /// The number of training samples.
    public var samples: Int

    /// Creates a fit.
    public init(intercept: Double, coefficients: [Double], samples: Int) {
        self.intercept = intercept
        self.coefficients = coefficients
        self.samples = samples
    }
}

extension LeastSquares {
    /// The committed fit as a value, nil before any successful solve.
    var linearFit: LinearFit? {
        guard hasFit else { return nil }
        return LinearFit(
            intercept: intercept, coefficients: Array(UnsafeBufferPointer(start: weights, count: k)), samples: count)
    }
}
