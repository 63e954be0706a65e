/// What one model produces: a prediction and a confidence for every bar.
public struct ForecastSeries: Sendable, Equatable {
    /// `predictions[t]`: the predicted log return from `close[t]` to
    /// `close[t + h]`, made with data at indices ≤ t only; NaN where the model
    /// makes none (not yet trained, missing inputs).
    public var predictions: [Double]
    /// `confidence[t]` in [0, 1]; NaN exactly where `predictions[t]` is NaN.
    ///
    /// For the built-in models: if a prediction's error is taken as normal
    /// with standard deviation σ, the chance that the realized return has the
    /// predicted sign is Φ(|p|/σ); the confidence rescales it from [½, 1) to
    /// [0, 1): `erf(|p| / (σ√2))`. σ is the exponentially weighted RMS (span
    /// 250) of the model's own errors realized by bar t; until 20 are known,
    /// the random-walk prior `√(h · mean(r²))` of the one-bar returns so far.
    public var confidence: [Double]

    /// Creates a series; both arrays must have one element per bar.
    public init(predictions: [Double], confidence: [Double]) {
        self.predictions = predictions
        self.confidence = confidence
    }

    /// `count` bars of NaN.
    public init(empty count: Int) {
        self.predictions = [Double](repeating: .nan, count: count)
        self.confidence = [Double](repeating: .nan, count: count)
    }
}
