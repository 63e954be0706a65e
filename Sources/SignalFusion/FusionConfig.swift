/// The `config.fusion` section: threshold, weights, risk levels and windows.
///
/// `Codable` with snake_case keys; every key is optional and keeps the default
/// stated on its property. Decoding rejects unknown keys and values of the
/// wrong type, then runs ``validate()``, so a decoded config is always valid.
///
/// ```json
/// {"quality_threshold": 0.65,
///  "weights": {"pattern_strength": 0.2, "mtf_agreement": 0.2, "regime_confidence": 0.2,
///              "volume_confirmation": 0.15, "sentiment_alignment": 0.1, "correlation_safety": 0.15},
///  "stop_atr_multiplier": 1.5, "target_atr_multiplier": 3.0, "horizon_bars": 12,
///  "min_forecast_magnitude": 0.0001, "min_forecast_confidence": 0,
///  "atr_period": 14, "adx_period": 14, "trend_period": 50, "volume_window": 20,
///  "volatility_lookback": 100, "correlation_window": 50,
///  "min_history": 200, "refit_every": 50, "calibration_l2": 150}
/// ```
public struct FusionConfig: Sendable, Equatable, Codable {
    /// `quality_threshold`: a signal is accepted when `quality ≥` this; in [0, 1]. Default 0.65.
    public var qualityThreshold: Double = 0.65
    /// `weights`: the component weights (see ``QualityWeights``).
    public var weights = QualityWeights()
    /// `stop_atr_multiplier`: stop = entry ∓ this·ATR; > 0. Default 1.5.
    public var stopATRMultiplier: Double = 1.5
    /// `target_atr_multiplier`: target = entry ± this·ATR; > 0. Default 3.0.
    public var targetATRMultiplier: Double = 3.0
    /// `horizon_bars`: the horizon each signal carries; ≥ 1. Default 12.
    public var horizonBars: Int = 12
    /// `min_forecast_magnitude`: a forecast makes a candidate only when
    /// `|prediction| >` this (a return, e.g. 0.0001 = 1 bp); ≥ 0. Default 0.0001.
    public var minForecastMagnitude: Double = 0.0001
    /// `min_forecast_confidence`: and only when its confidence is ≥ this
    /// (a NaN confidence passes only when this is 0); in [0, 1]. Default 0.
    public var minForecastConfidence: Double = 0
    /// `atr_period`: ATR period for stops, targets and volatility; ≥ 1. Default 14.
    public var atrPeriod: Int = 14
    /// `adx_period`: ADX period for the regime; ≥ 2. Default 14.
    public var adxPeriod: Int = 14
    /// `trend_period`: EMA period of the trend used for multi-timeframe
    /// agreement (trend = sign(close − EMA)); ≥ 1. Default 50.
    public var trendPeriod: Int = 50
    /// `volume_window`: SMA period of the volume average; ≥ 1. Default 20.
    public var volumeWindow: Int = 20
    /// `volatility_lookback`: bars (including the current one) over which the
    /// volatility percentile is ranked; ≥ 1. Default 100.
    public var volatilityLookback: Int = 100
    /// `correlation_window`: bars of returns (ending at the signal bar) for the
    /// rolling correlation; ≥ 3. Default 50.
    public var correlationWindow: Int = 50
    /// `min_history`: resolved signals needed before `quality` is the
    /// calibrated probability (before that: the prior and
    /// `flag:calibration_warmup`), counted by their sample uniqueness (the
    /// effective number of independent outcomes, see ``SampleUniqueness``);
    /// ≥ 1. Default 200.
    public var minHistory: Int = 200
    /// `refit_every`: the model is refitted when at least this many (and 10 %)
    /// more signals have resolved since the last fit; ≥ 1. Default 50.
    public var refitEvery: Int = 50
    /// `calibration_l2`: the L2 penalty λ of the logistic model, per unit of
    /// effective sample (the fit uses `λ / ū`, `ū` the training outcomes'
    /// mean sample uniqueness: overlapping outcomes are worth fewer
    /// independent ones than their count); ≥ 0. Default 150.
    public var calibrationL2: Double = 150

    /// The defaults.
    public init() {}

    /// Checks every member.
    ///
    /// - Throws: ``FusionError`` (`.invalidConfiguration`) naming the first bad
    ///   member, e.g. `fusion.quality_threshold: must be in [0, 1]`.
    public func validate() throws(FusionError) {
        func fail(_ key: String, _ reason: String) -> FusionError {
            FusionError(.invalidConfiguration, field: "fusion.\(key)", reason: reason)
        }
        guard qualityThreshold.isFinite, (0...1).contains(qualityThreshold) else {
            throw fail("quality_threshold", "must be in [0, 1]")
        }
        try weights.validate()
        guard stopATRMultiplier.isFinite, stopATRMultiplier > 0 else { throw fail("stop_atr_multiplier", "must be > 0") }
        guard targetATRMultiplier.isFinite, targetATRMultiplier > 0 else { throw fail("target_atr_multiplier", "must be > 0") }
        guard horizonBars >= 1 else { throw fail("horizon_bars", "must be ≥ 1") }
        guard minForecastMagnitude.isFinite, minForecastMagnitude >= 0 else { throw fail("min_forecast_magnitude", "must be ≥ 0") }
        guard minForecastConfidence.isFinite, (0...1).contains(minForecastConfidence) else {
            throw fail("min_forecast_confidence", "must be in [0, 1]")
        }
        guard atrPeriod >= 1 else { throw fail("atr_period", "must be ≥ 1") }
        guard adxPeriod >= 2 else { throw fail("adx_period", "must be ≥ 2") }
        guard trendPeriod >= 1 else { throw fail("trend_period", "must be ≥ 1") }
        guard volumeWindow >= 1 else { throw fail("volume_window", "must be ≥ 1") }
        guard volatilityLookback >= 1 else { throw fail("volatility_lookback", "must be ≥ 1") }
        guard correlationWindow >= 3 else { throw fail("correlation_window", "must be ≥ 3") }
        guard minHistory >= 1 else { throw fail("min_history", "must be ≥ 1") }
        guard refitEvery >= 1 else { throw fail("refit_every", "must be ≥ 1") }
        guard calibrationL2.isFinite, calibrationL2 >= 0 else { throw fail("calibration_l2", "must be ≥ 0") }
    }

    static var doubleKeys: [(String, WritableKeyPath<FusionConfig, Double>)] {
        [
            ("quality_threshold", \.qualityThreshold),
            ("stop_atr_multiplier", \.stopATRMultiplier),
            ("target_atr_multiplier", \.targetATRMultiplier),
            ("min_forecast_magnitude", \.minForecastMagnitude),
            ("min_forecast_confidence", \.minForecastConfidence),
            ("calibration_l2", \.calibrationL2),
        ]
    }
    static var intKeys: [(String, WritableKeyPath<FusionConfig, Int>)] {
        [
            ("horizon_bars", \.horizonBars),
            ("atr_period", \.atrPeriod),
            ("adx_period", \.adxPeriod),
            ("trend_period", \.trendPeriod),
            ("volume_window", \.volumeWindow),
            ("volatility_lookback", \.volatilityLookback),
            ("correlation_window", \.correlationWindow),
            ("min_history", \.minHistory),
            ("refit_every", \.refitEvery),
        ]
    }

    /// Decodes the section and validates it.
    /// - Throws: ``FusionError`` naming the member: unknown key, wrong type, or
    ///   anything ``validate()`` refuses.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        for key in c.allKeys {
            let name = key.stringValue
            if let (_, path) = Self.doubleKeys.first(where: { $0.0 == name }) {
                self[keyPath: path] = try c.fusionNumber(key, field: "fusion.\(name)")
            } else if let (_, path) = Self.intKeys.first(where: { $0.0 == name }) {
                self[keyPath: path] = try c.fusionInteger(key, field: "fusion.\(name)")
            } else if name == "weights" {
                do {
                    weights = try c.decode(QualityWeights.self, forKey: key)
                } catch let error as FusionError {
                    throw error
                } catch {
                    throw FusionError(
                        .invalidConfiguration, field: "fusion.weights", reason: "must be an object of numbers keyed by component name")
                }
            } else {
                throw FusionError(.invalidConfiguration, field: "fusion.\(name)", reason: "unknown member")
            }
        }
        try validate()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        for (name, path) in Self.doubleKeys { try c.encode(self[keyPath: path], forKey: JSONKey(name)) }
        for (name, path) in Self.intKeys { try c.encode(self[keyPath: path], forKey: JSONKey(name)) }
        try c.encode(weights, forKey: JSONKey("weights"))
    }
}
