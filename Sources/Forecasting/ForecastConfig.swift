public import Foundation

/// The `config.forecast` section: which models run, the horizon, the
/// walk-forward schedule, the timeouts and the model parameters.
///
/// JSON keys (snake_case) and defaults:
///
/// | key | default | meaning |
/// |---|---|---|
/// | `models` | `["ar", "ridge", "drift"]` | built-in models to run; `"ensemble"` may be listed but is implied |
/// | `horizon_bars` | 12 | h: the forecast is the log return from `close[t]` to `close[t+h]` |
/// | `model_timeout_s` | 30 | per-model time limit, seconds |
/// | `total_timeout_s` | 60 | time limit of the whole run, seconds |
/// | `refit_every` | 500 | bars between walk-forward refits |
/// | `window` | `"expanding"` | `"expanding"` or a rolling window length in bars (≥ `min_train`) |
/// | `min_train` | 100 | training samples a model needs before its first fit |
/// | `ar_order` | 5 | p of the AR(p) model, 1…50 |
/// | `ridge_lambda` | 1.0 | ridge penalty on standardized features, ≥ 0 |
/// | `drift_span` | 100 | span (bars) of the drift model's exponential smoothing |
///
/// The ensemble is added whenever at least two models succeed, whether or not
/// `"ensemble"` is listed.
public struct ForecastConfig: Sendable, Equatable, Codable {
    /// The names of the built-in models, as accepted in `models`.
    public static let modelNames = ["ar", "ridge", "drift", "ensemble"]

    /// Built-in models to run, in order. Default `["ar", "ridge", "drift"]`.
    public var models: [String] = ["ar", "ridge", "drift"]
    /// The forecast horizon h in bars. Default 12.
    public var horizonBars: Int = 12
    /// Per-model timeout in seconds. Default 30.
    public var modelTimeoutSeconds: Double = 30
    /// Timeout of the whole run in seconds. Default 60.
    public var totalTimeoutSeconds: Double = 60
    /// Refit a model every this many bars. Default 500.
    public var refitEvery: Int = 500
    /// The training window of each refit. Default `.expanding`.
    public var window: TrainingWindow = .expanding
    /// Training samples needed before a model's first fit. Default 100.
    public var minTrain: Int = 100
    /// The order p of the AR model. Default 5.
    public var arOrder: Int = 5
    /// The ridge penalty λ on standardized features. Default 1.0.
    public var ridgeLambda: Double = 1.0
    /// The span S of the drift model's smoothing (α = 2 / (S + 1)). Default 100.
    public var driftSpan: Int = 100

    /// The defaults.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case models
        case horizonBars = "horizon_bars"
        case modelTimeoutSeconds = "model_timeout_s"
        case totalTimeoutSeconds = "total_timeout_s"
        case refitEvery = "refit_every"
        case window
        case minTrain = "min_train"
        case arOrder = "ar_order"
        case ridgeLambda = "ridge_lambda"
        case driftSpan = "drift_span"
    }

    /// Decodes the section; an absent key keeps its default. Does not validate.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent([String].self, forKey: .models) {
            var unique: [String] = []
            for name in v where !unique.contains(name) { unique.append(name) }
            models = unique
        }
        if let v = try c.decodeIfPresent(Int.self, forKey: .horizonBars) { horizonBars = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .modelTimeoutSeconds) { modelTimeoutSeconds = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .totalTimeoutSeconds) { totalTimeoutSeconds = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .refitEvery) { refitEvery = v }
        if let v = try c.decodeIfPresent(TrainingWindow.self, forKey: .window) { window = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .minTrain) { minTrain = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .arOrder) { arOrder = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .ridgeLambda) { ridgeLambda = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .driftSpan) { driftSpan = v }
    }

    /// Decodes the section from JSON (`{}` gives the defaults) and validates it.
    /// - Parameter json: the `forecast` object.
    /// - Returns: the validated configuration.
    /// - Throws: ``ForecastError`` with code `.invalidConfig` naming the field,
    ///   e.g. `forecast.window: must be "expanding" or a positive integer`.
    public static func decode(json: Data) throws(ForecastError) -> ForecastConfig {
        let config: ForecastConfig
        do {
            config = try JSONDecoder().decode(ForecastConfig.self, from: json)
        } catch let error as DecodingError {
            throw Self.describe(error)
        } catch {
            throw ForecastError(.invalidConfig, field: "forecast", "\(error)")
        }
        try config.validate()
        return config
    }

    /// Checks every value.
    /// - Throws: ``ForecastError`` with code `.invalidConfig`, its `field` the
    ///   JSON path (`forecast.horizon_bars`) and its `reason` the rule broken.
    public func validate() throws(ForecastError) {
        func fail(_ key: CodingKeys, _ reason: String) -> ForecastError {
            ForecastError(.invalidConfig, field: "forecast.\(key.rawValue)", reason)
        }
        let allowed = Self.modelNames.joined(separator: ", ")
        if models.isEmpty { throw fail(.models, "must list at least one of \(allowed)") }
        for name in models where !Self.modelNames.contains(name) {
            throw fail(.models, "'\(name)' is not one of \(allowed)")
        }
        if !models.contains(where: { $0 != "ensemble" }) {
            throw fail(.models, "the ensemble needs at least two other models")
        }
        if horizonBars < 1 { throw fail(.horizonBars, "must be ≥ 1") }
        if !(modelTimeoutSeconds.isFinite && modelTimeoutSeconds > 0) {
            throw fail(.modelTimeoutSeconds, "must be a number of seconds > 0")
        }
        if !(totalTimeoutSeconds.isFinite && totalTimeoutSeconds > 0) {
            throw fail(.totalTimeoutSeconds, "must be a number of seconds > 0")
        }
        if refitEvery < 1 { throw fail(.refitEvery, "must be ≥ 1") }
        if minTrain < 2 { throw fail(.minTrain, "must be ≥ 2") }
        if case .rolling(let bars) = window, bars < minTrain {
            throw fail(.window, "must be \"expanding\" or an integer ≥ min_train (\(minTrain)), not \(bars)")
        }
        if !(1...50).contains(arOrder) { throw fail(.arOrder, "must be between 1 and 50") }
        if !(ridgeLambda.isFinite && ridgeLambda >= 0) { throw fail(.ridgeLambda, "must be a finite number ≥ 0") }
        if driftSpan < 1 { throw fail(.driftSpan, "must be ≥ 1") }
    }

    private static func describe(_ error: DecodingError) -> ForecastError {
        let context: DecodingError.Context
        var reason: String
        switch error {
        case .typeMismatch(let type, let c):
            context = c
            reason = "expected \(type == Int.self ? "an integer" : type == Double.self ? "a number" : "\(type)")"
        case .valueNotFound(_, let c):
            context = c
            reason = "must not be null"
        case .keyNotFound(let key, let c):
            context = c
            reason = "missing \(key.stringValue)"
        case .dataCorrupted(let c):
            context = c
            reason = c.debugDescription
        @unknown default:
            return ForecastError(.invalidConfig, field: "forecast", "\(error)")
        }
        var field = "forecast"
        for key in context.codingPath {
            if let index = key.intValue { field += "[\(index)]" } else { field += ".\(key.stringValue)" }
        }
        if context.codingPath.isEmpty, case .dataCorrupted = error { reason = "is not a JSON object" }
        return ForecastError(.invalidConfig, field: field, reason)
    }
}
