/// The six dimensions of a fused signal's quality, by their stable names.
///
/// The declaration order is the order in which ``SignalFusion`` sums the
/// weighted components.
public enum QualityComponent: String, CaseIterable, Sendable, Codable {
    case patternStrength = "pattern_strength"
    case mtfAgreement = "mtf_agreement"
    case regimeConfidence = "regime_confidence"
    case volumeConfirmation = "volume_confirmation"
    case sentimentAlignment = "sentiment_alignment"
    case correlationSafety = "correlation_safety"
}
