/// The weights of the six quality components.
///
/// `quality = Σ wᵢ·cᵢ / Σ wᵢ`. Defaults: `pattern_strength` 0.20,
/// `mtf_agreement` 0.20, `regime_confidence` 0.20, `volume_confirmation` 0.15,
/// `sentiment_alignment` 0.10, `correlation_safety` 0.15 (they sum to 1, but
/// only their ratios matter). Valid weights are finite, ≥ 0 and not all zero.
///
/// In JSON an object keyed by the component names; a missing name keeps its
/// default weight, an unknown name is an error.
public struct QualityWeights: Sendable, Equatable, Codable {
    public var patternStrength: Double = 0.20
    public var mtfAgreement: Double = 0.20
    public var regimeConfidence: Double = 0.20
    public var volumeConfirmation: Double = 0.15
    public var sentimentAlignment: Double = 0.10
    public var correlationSafety: Double = 0.15

    /// The default weights.
    public init() {}

    /// Weights given by component; every component not named keeps its default.
    public init(_ weights: [QualityComponent: Double]) {
        for (component, weight) in weights { self[component] = weight }
    }

    /// One weight by component.
    public subscript(component: QualityComponent) -> Double {
        get {
            switch component {
            case .patternStrength: patternStrength
            case .mtfAgreement: mtfAgreement
            case .regimeConfidence: regimeConfidence
            case .volumeConfirmation: volumeConfirmation
            case .sentimentAlignment: sentimentAlignment
            case .correlationSafety: correlationSafety
            }
        }
        set {
            switch component {
            case .patternStrength: patternStrength = newValue
            case .mtfAgreement: mtfAgreement = newValue
            case .regimeConfidence: regimeConfidence = newValue
            case .volumeConfirmation: volumeConfirmation = newValue
            case .sentimentAlignment: sentimentAlignment = newValue
            case .correlationSafety: correlationSafety = newValue
            }
        }
    }

    /// Checks every weight.
    ///
    /// - Parameter prefix: the field path of the weights object. Default `fusion.weights`.
    /// - Throws: ``FusionError`` naming the first bad weight
    ///   (`fusion.weights.volume_confirmation: must be ≥ 0`), or
    ///   `fusion.weights: must not all be zero`.
    public func validate(prefix: String = "fusion.weights") throws(FusionError) {
        var total = 0.0
        for component in QualityComponent.allCases {
            let w = self[component]
            let field = "\(prefix).\(component.rawValue)"
            guard w.isFinite else { throw FusionError(.invalidConfiguration, field: field, reason: "must be a finite number") }
            guard w >= 0 else { throw FusionError(.invalidConfiguration, field: field, reason: "must be ≥ 0") }
            total += w
        }
        guard total > 0 else { throw FusionError(.invalidConfiguration, field: prefix, reason: "must not all be zero") }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        for key in c.allKeys {
            guard let component = QualityComponent(rawValue: key.stringValue) else {
                let allowed = QualityComponent.allCases.map(\.rawValue).joined(separator: ", ")
                throw FusionError(
                    .invalidConfiguration, field: "fusion.weights.\(key.stringValue)",
                    reason: "unknown component (allowed: \(allowed))")
            }
            self[component] = try c.fusionNumber(key, field: "fusion.weights.\(key.stringValue)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        for component in QualityComponent.allCases {
            try c.encode(self[component], forKey: JSONKey(component.rawValue))
        }
    }
}
