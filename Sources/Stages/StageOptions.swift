public import Analysis
public import Forecasting
public import Foundation
import MarketData
public import SignalFusion

/// A stage's typed options: what one `config` section decodes into.
///
/// The options type is the one place that states its section's members,
/// their JSON types and ranges (``schema``): the request checker reads the
/// schema at `POST /v1/experiments`, so an unknown key, a wrong type or a
/// value out of range is refused with its path before anything is stored;
/// ``init(configSection:)`` then decodes the section and checks the rules the
/// schema cannot state (`window ≥ min_train`, fusion weights not all zero, …).
public protocol StageOptions: Sendable {
    /// The `config` section it is read from (`forecast`).
    static var section: String { get }
    /// The section's members, each with its JSON type and range.
    static var schema: ConfigSchema { get }
    /// The defaults (the section absent or `{}`).
    init()
    /// Decodes the section, a JSON object.
    /// - Throws: ``StageError`` whose description is `config.<section>.<member>: <reason>`.
    init(configSection json: Data) throws(StageError)
}

extension StageOptions {
    /// A section as a JSON object (not an object: empty).
    static func object(_ json: Data) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: json)) as? [String: Any] ?? [:]
    }
}

/// Member schemas shared by several sections.
extension ConfigSchema {
    static let period = ConfigSchema.integer(1...100_000)
    static let period2 = ConfigSchema.integer(2...100_000)
    static let positive = ConfigSchema.integer(1...Int.max)
}

/// `config.load`: no members yet.
public struct LoadOptions: StageOptions, Equatable {
    public static let section = "load"
    public static let schema = ConfigSchema.object([:])
    public init() {}
    public init(configSection json: Data) throws(StageError) {}
}

/// `config.resample`: no members yet.
public struct ResampleOptions: StageOptions, Equatable {
    public static let section = "resample"
    public static let schema = ConfigSchema.object([:])
    public init() {}
    public init(configSection json: Data) throws(StageError) {}
}

extension MergeOptions: StageOptions {
    public static let section = "merge"
    public static let schema = ConfigSchema.object([
        "join": .choice(JoinKind.allCases.map(\.rawValue)),
        "tolerance": .duration,
        "higher_timeframes": .boolean,
    ])
    public init(configSection json: Data) throws(StageError) { try self.init(Self.object(json)) }
}

extension FeaturesOptions: StageOptions {
    static let section = "features"
    static let schema = ConfigSchema.object([
        "sma": .oneOrList(.period), "ema": .oneOrList(.period),
        "rsi": .period2, "atr": .period, "adx": .period2,
        "macd": .object(["fast": .period2, "slow": .period2, "signal": .period]),
        "bollinger": .object([
            "period": .period2, "stddev": .number(ConfigSchema.NumberRange(lower: 0, lowerIncluded: false, upper: 10)),
        ]),
        "stochastic": .object(["fast_k": .period, "slow_k": .period, "slow_d": .period]),
    ])
    init(configSection json: Data) throws(StageError) { try self.init(Self.object(json)) }
}

extension PatternsOptions: StageOptions {
    static let section = "patterns"
    static let schema = ConfigSchema.object([
        "swing_window": .integer(1...50),
        "peak_tolerance": .number(ConfigSchema.NumberRange(lower: 0, lowerIncluded: false, upper: 1, upperIncluded: false)),
        "max_span": .integer(10...10_000),
    ])
    init(configSection json: Data) throws(StageError) { try self.init(Self.object(json)) }
}

extension ForecastConfig: StageOptions {
    public static let section = "forecast"
    public static let schema = ConfigSchema.object([
        "models": .list(.choice(ForecastConfig.modelNames)),
        "horizon_bars": .integer(1...10_000),
        "model_timeout_s": .number(.closed(0.001, 3600)),
        "total_timeout_s": .number(.closed(0.001, 86_400)),
        "refit_every": .positive,
        "window": .either(.choice(["expanding"]), .integer(2...Int.max)),
        "min_train": .integer(2...Int.max),
        "ar_order": .integer(1...50),
        "ridge_lambda": .number(.atLeast(0)),
        "drift_span": .positive,
    ])
    public init(configSection json: Data) throws(StageError) {
        do { self = try ForecastConfig.decode(json: json) } catch { throw StageError("config.\(error)") }
    }
}

extension FusionConfig: StageOptions {
    public static let section = "fusion"
    public static let schema = ConfigSchema.object([
        "quality_threshold": .number(.closed(0, 1)),
        "weights": .object(Dictionary(uniqueKeysWithValues: QualityComponent.allCases.map { ($0.rawValue, .number(.atLeast(0))) })),
        "stop_atr_multiplier": .number(.above(0)),
        "target_atr_multiplier": .number(.above(0)),
        "horizon_bars": .positive,
        "min_forecast_magnitude": .number(.atLeast(0)),
        "min_forecast_confidence": .number(.closed(0, 1)),
        "atr_period": .positive,
        "adx_period": .integer(2...Int.max),
        "trend_period": .positive,
        "volume_window": .positive,
        "volatility_lookback": .positive,
        "correlation_window": .integer(3...Int.max),
        "min_history": .positive,
        "refit_every": .positive,
        "calibration_l2": .number(.atLeast(0)),
        // Read by the fusion stage's storage step (``FusionStorage``), not by `FusionConfig`.
        FusionStorage.member: .choice(FusionStorage.allCases.map(\.rawValue)),
    ])
    public init(configSection json: Data) throws(StageError) {
        var json = json
        var object = Self.object(json)
        if let store = object.removeValue(forKey: FusionStorage.member) {
            _ = try FusionStorage(store)
            json = (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8)
        }
        do { self = try JSONDecoder().decode(FusionConfig.self, from: json) } catch let e as FusionError {
            throw StageError("config.\(e)")
        } catch {
            throw StageError("config.fusion: \(error)")
        }
    }
}

extension ExportOptions: StageOptions {
    public static let section = "export"
    public static let schema = ConfigSchema.object([
        "formats": .list(.choice(ExportOptions.Format.allCases.map(\.rawValue), ignoringCase: true)),
        "gzip": .boolean,
        "compression": .choice(["none", "zstd"]),
    ])
    public init(configSection json: Data) throws(StageError) { try self.init(Self.object(json)) }
}

extension AnalysisConfig: StageOptions {
    public static let section = "analysis"
    public static let schema = ConfigSchema.object([
        "spread": .number(.closed(0, 1)),
        "commission": .number(ConfigSchema.NumberRange(lower: 0, upper: 1, upperIncluded: false)),
        "max_holding_bars": .integer(1...100_000),
        "initial_equity": .number(.above(0)),
        "sizing": .choice(AnalysisConfig.Sizing.allCases.map(\.rawValue)),
        "risk_fraction": .number(ConfigSchema.NumberRange(lower: 0, lowerIncluded: false, upper: 1)),
        "units": .number(.above(0)),
        "costs": .map(
            .object([
                "spread_bps": .number(.closed(0, 10_000)),
                "commission_bps": .number(.closed(0, 10_000)),
                "slippage_atr": .number(.closed(0, 10_000)),
            ])),
        "alpha": .number(ConfigSchema.NumberRange(lower: 0, lowerIncluded: false, upper: 1, upperIncluded: false)),
        "min_trades": .positive,
        "random_runs": .integer(1_000...100_000),
        "random_seed": .integer(0...Int.max),
        "trials": .positive,
    ])
    public init(configSection json: Data) throws(StageError) {
        do { self = try JSONDecoder().decode(AnalysisConfig.self, from: json) } catch let e as AnalysisError {
            throw StageError("config.\(e)")
        } catch {
            throw StageError("config.analysis: \(error)")
        }
    }
}

extension ConfigSchema {
    /// The schema of the member at `path` (`["macd", "fast"]`) of an object schema, or nil.
    func member(_ path: [String]) -> ConfigSchema? {
        var schema = self
        for key in path {
            guard let next = schema.members[key] else { return nil }
            schema = next
        }
        return schema
    }

    /// The schema of one item of a list (itself for a single value).
    var item: ConfigSchema {
        switch self {
        case .list(let item), .oneOrList(let item): item
        default: self
        }
    }

    /// `value` (as `JSONSerialization` reads it) as an integer this schema allows, or nil.
    func integer(_ value: Any) -> Int? {
        guard case .integer(let range) = self, !(value is Bool), let n = value as? Int, range.contains(n) else { return nil }
        return n
    }

    /// `value` as a number this schema allows, or nil.
    func number(_ value: Any) -> Double? {
        guard case .number(let range) = self, !(value is Bool), let x = value as? Double, range.contains(x) else { return nil }
        return x
    }
}

extension StageOptions {
    /// Reads an integer member (`path` below the section; a list's items too)
    /// in the range its ``schema`` states: the one place ranges are written.
    /// - Throws: ``StageError`` `config.<section>.<path>: expected <what the schema says>`.
    static func integer(_ value: Any, at path: [String]) throws(StageError) -> Int {
        let schema = Self.schema.member(path)?.item
        guard let n = schema?.integer(value) else { throw fault(at: path, schema) }
        return n
    }

    /// Reads a number member in the range its ``schema`` states.
    /// - Throws: ``StageError`` `config.<section>.<path>: expected <what the schema says>`.
    static func number(_ value: Any, at path: [String]) throws(StageError) -> Double {
        let schema = Self.schema.member(path)
        guard let x = schema?.number(value) else { throw fault(at: path, schema) }
        return x
    }

    /// An unknown key of the section (or of a nested object at `path`), if any.
    /// - Throws: ``StageError`` `config.<section>.<key>: unknown key (known: …)`.
    static func refuseUnknownKeys(_ object: [String: Any], at path: [String] = []) throws(StageError) {
        let known = Self.schema.member(path)?.members ?? [:]
        if let unknown = object.keys.sorted().first(where: { known[$0] == nil }) {
            let list = known.isEmpty ? "none" : known.keys.sorted().joined(separator: ", ")
            throw StageError("config.\(([section] + path + [unknown]).joined(separator: ".")): unknown key (known: \(list))")
        }
    }

    private static func fault(at path: [String], _ schema: ConfigSchema?) -> StageError {
        StageError("config.\(([section] + path).joined(separator: ".")): expected \(schema?.expectation ?? "no such member")")
    }
}
