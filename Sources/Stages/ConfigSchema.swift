import Analysis
public import Foundation
import Pipeline
import Forecasting
import MarketData
import SignalFusion

/// What a `config` member may hold: its JSON type and range. Pure data, read
/// by the request checker at `POST /v1/experiments` so that an unknown key, a
/// value of the wrong type or one out of range is refused with its path
/// before any stage runs (the options types then decode the section and check
/// the rules that tie members together, such as `window ≥ min_train`).
public indirect enum ConfigSchema: Sendable, Equatable {
    /// An integer within `range` (a JSON number with no fractional part).
    case integer(ClosedRange<Int>)
    /// A finite number within `range`.
    case number(NumberRange)
    /// `true` or `false`.
    case boolean
    /// One of these strings (`ignoringCase`: compared lowercased).
    case choice([String], ignoringCase: Bool = false)
    /// A duration: a string such as `"30s"`, `"500ms"`, or a number of seconds, ≥ 0.
    case duration
    /// A non-empty array whose items match the schema.
    case list(ConfigSchema)
    /// A single value or a non-empty array of them.
    case oneOrList(ConfigSchema)
    /// Either of two forms (`"expanding"` or an integer).
    case either(ConfigSchema, ConfigSchema)
    /// An object with exactly these optional members.
    case object([String: ConfigSchema])
    /// An object with members of any name, each matching the schema (`analysis.costs`).
    case map(ConfigSchema)

    /// A range of finite numbers, each end open, closed or absent.
    public struct NumberRange: Sendable, Equatable, CustomStringConvertible {
        public var lower: Double?
        public var lowerIncluded: Bool
        public var upper: Double?
        public var upperIncluded: Bool

        public init(lower: Double?, lowerIncluded: Bool = true, upper: Double?, upperIncluded: Bool = true) {
            self.lower = lower
            self.lowerIncluded = lowerIncluded
            self.upper = upper
            self.upperIncluded = upperIncluded
        }

        /// `[a, b]`.
        public static func closed(_ a: Double, _ b: Double) -> NumberRange { NumberRange(lower: a, upper: b) }
        /// `≥ a`.
        public static func atLeast(_ a: Double) -> NumberRange { NumberRange(lower: a, upper: nil) }
        /// `> a`.
        public static func above(_ a: Double) -> NumberRange { NumberRange(lower: a, lowerIncluded: false, upper: nil) }

        public func contains(_ x: Double) -> Bool {
            guard x.isFinite else { return false }
            if let lower, lowerIncluded ? x < lower : x <= lower { return false }
            if let upper, upperIncluded ? x > upper : x >= upper { return false }
            return true
        }

        public var description: String {
            switch (lower, upper) {
            case (let a?, let b?) where lowerIncluded && upperIncluded: "in \(Self.text(a))...\(Self.text(b))"
            case (let a?, let b?): "in \(lowerIncluded ? "[" : "(")\(Self.text(a)), \(Self.text(b))\(upperIncluded ? "]" : ")")"
            case (let a?, nil): "\(lowerIncluded ? "≥" : ">") \(Self.text(a))"
            case (nil, let b?): "\(upperIncluded ? "≤" : "<") \(Self.text(b))"
            case (nil, nil): "finite"
            }
        }

        static func text(_ x: Double) -> String {
            x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
        }
    }

    /// The members of an object schema (empty for other kinds).
    public var members: [String: ConfigSchema] {
        if case .object(let m) = self { return m }
        return [:]
    }

    /// What the value must be, as said after "expected": `an integer in 1...50`.
    public var expectation: String {
        switch self {
        case .integer(let r):
            if r.upperBound == Int.max { return "an integer ≥ \(r.lowerBound)" }
            return "an integer in \(r.lowerBound)...\(r.upperBound)"
        case .number(let r): return "a number \(r)"
        case .boolean: return "true or false"
        case .choice(let values, _): return "one of \(values.joined(separator: ", "))"
        case .duration: return "a duration such as \"30s\", \"500ms\", \"1m\" or a number of seconds ≥ 0"
        case .list(let item): return "a non-empty array of \(item.expectation)"
        case .oneOrList(let item): return "\(item.expectation), or a non-empty array of them"
        case .either(let a, let b): return "\(a.expectation), or \(b.expectation)"
        case .object(let m): return "an object (members: \(m.keys.sorted().joined(separator: ", ")))"
        case .map(let item): return "an object whose members are each \(item.expectation)"
        }
    }
}

extension ConfigSchema {
    private static let period = ConfigSchema.integer(1...100_000)
    private static let period2 = ConfigSchema.integer(2...100_000)
    private static let positive = ConfigSchema.integer(1...Int.max)

    /// The `config` object: one member per stage, in pipeline order, each the
    /// schema of the section its options type reads (`MergeOptions`,
    /// `FeaturesOptions`, `PatternsOptions`, `ForecastConfig`, `FusionConfig`,
    /// `ExportOptions`, `AnalysisConfig`; `load` and `resample` take none).
    public static let config: ConfigSchema = .object([
        "load": .object([:]),
        "resample": .object([:]),
        "merge": .object([
            "join": .choice(JoinKind.allCases.map(\.rawValue)),
            "tolerance": .duration,
            "higher_timeframes": .boolean,
        ]),
        "features": .object([
            "sma": .oneOrList(period), "ema": .oneOrList(period),
            "rsi": period2, "atr": period, "adx": period2,
            "macd": .object(["fast": period2, "slow": period2, "signal": period]),
            "bollinger": .object(["period": period2, "stddev": .number(NumberRange(lower: 0, lowerIncluded: false, upper: 10))]),
            "stochastic": .object(["fast_k": period, "slow_k": period, "slow_d": period]),
        ]),
        "patterns": .object([
            "swing_window": .integer(1...50),
            "peak_tolerance": .number(NumberRange(lower: 0, lowerIncluded: false, upper: 1, upperIncluded: false)),
            "max_span": .integer(10...10_000),
        ]),
        "forecast": .object([
            "models": .list(.choice(ForecastConfig.modelNames)),
            "horizon_bars": .integer(1...10_000),
            "model_timeout_s": .number(.closed(0.001, 3600)),
            "total_timeout_s": .number(.closed(0.001, 86_400)),
            "refit_every": positive,
            "window": .either(.choice(["expanding"]), .integer(2...Int.max)),
            "min_train": .integer(2...Int.max),
            "ar_order": .integer(1...50),
            "ridge_lambda": .number(.atLeast(0)),
            "drift_span": positive,
        ]),
        "fusion": .object([
            "quality_threshold": .number(.closed(0, 1)),
            "weights": .object(Dictionary(uniqueKeysWithValues: QualityComponent.allCases.map { ($0.rawValue, .number(.atLeast(0))) })),
            "stop_atr_multiplier": .number(.above(0)),
            "target_atr_multiplier": .number(.above(0)),
            "horizon_bars": positive,
            "min_forecast_magnitude": .number(.atLeast(0)),
            "min_forecast_confidence": .number(.closed(0, 1)),
            "atr_period": positive,
            "adx_period": .integer(2...Int.max),
            "trend_period": positive,
            "volume_window": positive,
            "volatility_lookback": positive,
            "correlation_window": .integer(3...Int.max),
            "min_history": positive,
            "refit_every": positive,
            "calibration_l2": .number(.atLeast(0)),
        ]),
        "export": .object([
            "formats": .list(.choice(ExportOptions.Format.allCases.map(\.rawValue), ignoringCase: true)),
            "gzip": .boolean,
            "compression": .choice(["none", "zstd"]),
        ]),
        "analysis": .object([
            "spread": .number(.closed(0, 1)),
            "commission": .number(NumberRange(lower: 0, upper: 1, upperIncluded: false)),
            "max_holding_bars": .integer(1...100_000),
            "initial_equity": .number(.above(0)),
            "sizing": .choice(AnalysisConfig.Sizing.allCases.map(\.rawValue)),
            "risk_fraction": .number(NumberRange(lower: 0, lowerIncluded: false, upper: 1)),
            "units": .number(.above(0)),
            "costs": .map(.object([
                "spread_bps": .number(.closed(0, 10_000)),
                "commission_bps": .number(.closed(0, 10_000)),
                "slippage_atr": .number(.closed(0, 10_000)),
            ])),
            "alpha": .number(NumberRange(lower: 0, lowerIncluded: false, upper: 1, upperIncluded: false)),
            "min_trades": positive,
            "random_runs": .integer(1_000...100_000),
            "random_seed": .integer(0...Int.max),
            "trials": positive,
        ]),
    ])
}

extension ConfigSchema {
    /// The built-in stages whose options types read a `config` section.
    private static let readers: [String: any Stage] = [
        "merge": MergeStage(), "features": FeaturesStage(), "patterns": PatternsStage(), "forecast": ForecastStage(),
        "fusion": FusionStage(), "export": ExportStage(), "analysis": AnalysisStage(),
    ]

    /// Decodes one `config` section into its stage's options type
    /// (``MergeOptions``, `ForecastConfig`, …), whether or not the experiment
    /// runs that stage, so the rules the schema cannot state (`window ≥
    /// min_train`, fusion weights not all zero, …) are checked at `POST` time.
    /// - Parameters:
    ///   - section: the section's name (`forecast`); a section no built-in stage reads is accepted.
    ///   - json: the section, a JSON object.
    /// - Throws: the options type's error, its description `config.<section>.<member>: <reason>`.
    public static func decodeSection(_ section: String, json: Data) throws {
        try readers[section]?.validateConfig(json)
    }
}
