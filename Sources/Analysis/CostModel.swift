/// The trading costs of one symbol, relative to price so one setting fits
/// EURUSD at 1.08 and USDJPY at 150 alike.
///
/// JSON: `{"spread_bps": 1.0, "commission_bps": 0, "slippage_atr": 0}`.
/// - `spread_bps`: the full bid–ask spread in basis points of the price; a
///   round trip pays it once (half on each side). ≥ 0. Default 1.
/// - `commission_bps`: charged on each side, in basis points of the notional. ≥ 0. Default 0.
/// - `slippage_atr`: extra adverse fill on each side, in ATRs of the signal bar. ≥ 0. Default 0.
public struct CostModel: Sendable, Equatable, Codable {
    public var spreadBps: Double = 1
    public var commissionBps: Double = 0
    public var slippageATR: Double = 0

    /// Creates a cost model.
    public init(spreadBps: Double = 1, commissionBps: Double = 0, slippageATR: Double = 0) {
        self.spreadBps = spreadBps
        self.commissionBps = commissionBps
        self.slippageATR = slippageATR
    }

    /// A round trip's cost as a fraction of the price: `(spread_bps + 2·commission_bps) / 10⁴`.
    public var proportionalRoundTrip: Double { (spreadBps + 2 * commissionBps) / 10_000 }

    /// A round trip's slippage in ATRs: `2·slippage_atr`.
    public var atrRoundTrip: Double { 2 * slippageATR }

    func validate(_ field: String) throws(AnalysisError) {
        for (key, v) in [("spread_bps", spreadBps), ("commission_bps", commissionBps), ("slippage_atr", slippageATR)] {
            guard v.isFinite, v >= 0, v <= 10_000 else {
                throw AnalysisError(.invalidConfiguration, field: "\(field).\(key)", reason: "must be in [0, 10000]")
            }
        }
    }

    /// Decodes `{"spread_bps", "commission_bps", "slippage_atr"}`, each
    /// optional (a missing one keeps `base`'s value).
    init(decoding c: KeyedDecodingContainer<JSONKey>, field: String, base: CostModel) throws {
        self = base
        for key in c.allKeys {
            let v: Double
            do { v = try c.decode(Double.self, forKey: key) } catch {
                throw AnalysisError(.invalidConfiguration, field: "\(field).\(key.stringValue)", reason: "must be a number")
            }
            switch key.stringValue {
            case "spread_bps": spreadBps = v
            case "commission_bps": commissionBps = v
            case "slippage_atr": slippageATR = v
            default:
                throw AnalysisError(
                    .invalidConfiguration, field: "\(field).\(key.stringValue)",
                    reason: "unknown member (allowed: spread_bps, commission_bps, slippage_atr)")
            }
        }
        try validate(field)
    }

    enum CodingKeys: String, CodingKey {
        case spreadBps = "spread_bps"
        case commissionBps = "commission_bps"
        case slippageATR = "slippage_atr"
    }
}

/// `analysis.costs`: a `default` cost model and optional per-symbol ones.
///
/// JSON: `{"default": {"spread_bps": 1}, "USDJPY": {"spread_bps": 0.7}}`; a
/// symbol's missing members take the default's values.
public struct CostTable: Sendable, Equatable, Codable {
    public var defaultModel = CostModel()
    public var symbols: [String: CostModel] = [:]

    public init(defaultModel: CostModel = CostModel(), symbols: [String: CostModel] = [:]) {
        self.defaultModel = defaultModel
        self.symbols = symbols
    }

    /// The costs of `symbol` (its own entry, else the default).
    public func model(for symbol: String) -> CostModel { symbols[symbol] ?? defaultModel }

    public init(from decoder: any Decoder) throws {
        let c: KeyedDecodingContainer<JSONKey>
        do { c = try decoder.container(keyedBy: JSONKey.self) } catch {
            throw AnalysisError(.invalidConfiguration, field: "analysis.costs", reason: "must be an object keyed by `default` or a symbol")
        }
        func nested(_ key: JSONKey) throws -> KeyedDecodingContainer<JSONKey> {
            do { return try c.nestedContainer(keyedBy: JSONKey.self, forKey: key) } catch {
                throw AnalysisError(.invalidConfiguration, field: "analysis.costs.\(key.stringValue)", reason: "must be an object")
            }
        }
        if c.contains(JSONKey("default")) {
            defaultModel = try CostModel(decoding: try nested(JSONKey("default")), field: "analysis.costs.default", base: CostModel())
        }
        for key in c.allKeys where key.stringValue != "default" {
            symbols[key.stringValue] = try CostModel(
                decoding: try nested(key), field: "analysis.costs.\(key.stringValue)", base: defaultModel)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(defaultModel, forKey: JSONKey("default"))
        for (symbol, model) in symbols.sorted(by: { $0.key < $1.key }) { try c.encode(model, forKey: JSONKey(symbol)) }
    }
}
