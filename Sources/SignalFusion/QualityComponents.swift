/// The six quality components of one fused signal, each in [0, 1].
///
/// Their exact formulas are documented on ``SignalFusion`` and in
/// `docs/fusion.md`. In JSON the members are snake_case
/// (`pattern_strength`, `mtf_agreement`, …).
public struct QualityComponents: Sendable, Equatable, Codable {
    /// Pattern confidence, boosted ≥ 0.8, penalised < 0.5; 0.5 without a pattern.
    public var patternStrength: Double
    /// Share of the symbol's other timeframes whose closed-bar trend agrees.
    public var mtfAgreement: Double
    /// ADX strength and mid-range volatility percentile.
    public var regimeConfidence: Double
    /// Volume against its moving average.
    public var volumeConfirmation: Double
    /// The sentiment column against the direction; 0.5 when absent.
    public var sentimentAlignment: Double
    /// One minus the largest same-way correlation with other symbols' concurrent signals.
    public var correlationSafety: Double

    /// Creates a set of components.
    public init(
        patternStrength: Double, mtfAgreement: Double, regimeConfidence: Double,
        volumeConfirmation: Double, sentimentAlignment: Double, correlationSafety: Double
    ) {
        self.patternStrength = patternStrength
        self.mtfAgreement = mtfAgreement
        self.regimeConfidence = regimeConfidence
        self.volumeConfirmation = volumeConfirmation
        self.sentimentAlignment = sentimentAlignment
        self.correlationSafety = correlationSafety
    }

    /// One component by name.
    public subscript(component: QualityComponent) -> Double {
        switch component {
        case .patternStrength: patternStrength
        case .mtfAgreement: mtfAgreement
        case .regimeConfidence: regimeConfidence
        case .volumeConfirmation: volumeConfirmation
        case .sentimentAlignment: sentimentAlignment
        case .correlationSafety: correlationSafety
        }
    }

    enum CodingKeys: String, CodingKey {
        case patternStrength = "pattern_strength"
        case mtfAgreement = "mtf_agreement"
        case regimeConfidence = "regime_confidence"
        case volumeConfirmation = "volume_confirmation"
        case sentimentAlignment = "sentiment_alignment"
        case correlationSafety = "correlation_safety"
    }
}
