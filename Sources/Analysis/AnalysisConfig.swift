/// The `config.analysis` section: costs, holding limit, capital and sizing.
///
/// `Codable` with snake_case keys; every key is optional and keeps the default
/// stated on its property. Decoding rejects unknown keys and values of the
/// wrong type, then runs ``validate()``.
///
/// ```json
/// {"spread": 0, "commission": 0.0, "max_holding_bars": 24,
///  "initial_equity": 10000, "sizing": "risk", "risk_fraction": 0.01, "units": 1,
///  "costs": {"default": {"spread_bps": 1, "commission_bps": 0, "slippage_atr": 0}},
///  "alpha": 0.05, "min_trades": 30, "random_runs": 1000, "random_seed": 42, "trials": 1}
/// ```
public struct AnalysisConfig: Sendable, Equatable, Codable {
    /// How many units a trade buys or sells.
    public enum Sizing: String, Sendable, Codable, CaseIterable {
        /// `units = equity · risk_fraction / |entry fill − stop|`: a stop-out
        /// loses `risk_fraction` of the equity at entry (before costs).
        case risk
        /// A fixed `units` per trade.
        case units
    }

    /// `spread`: an extra absolute bid–ask spread in price units, on top of
    /// ``costs``; ≥ 0. Default 0 (prefer `costs`, which scale with the price).
    /// Prices in the bars are mids: a buy fills at `mid + spread/2`, a sell at
    /// `mid − spread/2`, so a round trip costs one spread per unit.
    public var spread: Double = 0
    /// `commission`: fraction of the notional (`units × fill price`) charged on
    /// each side; in [0, 1). Default 0.
    public var commission: Double = 0
    /// `max_holding_bars`: a trade still open after this many bars (the entry
    /// bar counts as the first) exits at that bar's close; ≥ 1. Default 24.
    public var maxHoldingBars: Int = 24
    /// `initial_equity`: starting capital of each input; > 0. Default 10000.
    public var initialEquity: Double = 10_000
    /// `sizing`: `risk` or `units`. Default `risk`.
    public var sizing: Sizing = .risk
    /// `risk_fraction`: for `risk` sizing; in (0, 1]. Default 0.01.
    public var riskFraction: Double = 0.01
    /// `units`: for `units` sizing; > 0. Default 1.
    public var units: Double = 1
    /// `costs`: per-symbol costs in basis points and ATRs (``CostTable``);
    /// default 1 bp spread, no commission, no slippage.
    public var costs = CostTable()
    /// `alpha`: the evaluation's significance level for the `edge` verdict; in (0, 1). Default 0.05.
    public var alpha: Double = 0.05
    /// `min_trades`: resolved accepted signals below which the verdict is
    /// `insufficient_data`; ≥ 1. Default 30.
    public var minTrades: Int = 30
    /// `random_runs`: seeded random-entry runs of the baseline; in [1000, 100000]. Default 1000.
    public var randomRuns: Int = 1_000
    /// `random_seed`: the random entries' seed. Default 42.
    public var randomSeed: Int = 42
    /// `trials`: how many configurations were tried to find this one (for the
    /// deflated Sharpe ratio); ≥ 1. Default 1.
    public var trials: Int = 1

    /// The defaults.
    public init() {}

    /// Checks every member.
    /// - Throws: ``AnalysisError`` (`.invalidConfiguration`) naming the first bad
    ///   member, e.g. `analysis.max_holding_bars: must be ≥ 1`.
    public func validate() throws(AnalysisError) {
        func fail(_ key: String, _ reason: String) -> AnalysisError {
            AnalysisError(.invalidConfiguration, field: "analysis.\(key)", reason: reason)
        }
        guard spread.isFinite, spread >= 0 else { throw fail("spread", "must be ≥ 0") }
        guard commission.isFinite, commission >= 0, commission < 1 else { throw fail("commission", "must be in [0, 1)") }
        guard maxHoldingBars >= 1 else { throw fail("max_holding_bars", "must be ≥ 1") }
        guard initialEquity.isFinite, initialEquity > 0 else { throw fail("initial_equity", "must be > 0") }
        guard riskFraction.isFinite, riskFraction > 0, riskFraction <= 1 else { throw fail("risk_fraction", "must be in (0, 1]") }
        guard units.isFinite, units > 0 else { throw fail("units", "must be > 0") }
        try costs.defaultModel.validate("analysis.costs.default")
        for (symbol, model) in costs.symbols { try model.validate("analysis.costs.\(symbol)") }
        guard alpha.isFinite, alpha > 0, alpha < 1 else { throw fail("alpha", "must be in (0, 1)") }
        guard minTrades >= 1 else { throw fail("min_trades", "must be ≥ 1") }
        guard (1_000...100_000).contains(randomRuns) else { throw fail("random_runs", "must be in [1000, 100000]") }
        guard randomSeed >= 0 else { throw fail("random_seed", "must be ≥ 0") }
        guard trials >= 1 else { throw fail("trials", "must be ≥ 1") }
    }

    /// Decodes the section and validates it.
    /// - Throws: ``AnalysisError`` naming the member: unknown key, wrong type,
    ///   or anything ``validate()`` refuses.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: JSONKey.self)
        func number(_ key: JSONKey) throws(AnalysisError) -> Double {
            do { return try c.decode(Double.self, forKey: key) } catch {
                throw AnalysisError(.invalidConfiguration, field: "analysis.\(key.stringValue)", reason: "must be a number")
            }
        }
        func integer(_ key: JSONKey) throws(AnalysisError) -> Int {
            do { return try c.decode(Int.self, forKey: key) } catch {
                throw AnalysisError(.invalidConfiguration, field: "analysis.\(key.stringValue)", reason: "must be an integer")
            }
        }
        for key in c.allKeys {
            switch key.stringValue {
            case "spread": spread = try number(key)
            case "commission": commission = try number(key)
            case "initial_equity": initialEquity = try number(key)
            case "risk_fraction": riskFraction = try number(key)
            case "units": units = try number(key)
            case "alpha": alpha = try number(key)
            case "max_holding_bars": maxHoldingBars = try integer(key)
            case "min_trades": minTrades = try integer(key)
            case "random_runs": randomRuns = try integer(key)
            case "random_seed": randomSeed = try integer(key)
            case "trials": trials = try integer(key)
            case "costs":
                do { costs = try c.decode(CostTable.self, forKey: key) } catch let e as AnalysisError { throw e } catch {
                    throw AnalysisError(
                        .invalidConfiguration, field: "analysis.costs", reason: "must be an object keyed by `default` or a symbol")
                }
            case "sizing":
                guard let raw = try? c.decode(String.self, forKey: key), let s = Sizing(rawValue: raw) else {
                    throw AnalysisError(.invalidConfiguration, field: "analysis.sizing", reason: "must be one of risk, units")
                }
                sizing = s
            default:
                throw AnalysisError(.invalidConfiguration, field: "analysis.\(key.stringValue)", reason: "unknown member")
            }
        }
        try validate()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: JSONKey.self)
        try c.encode(spread, forKey: JSONKey("spread"))
        try c.encode(commission, forKey: JSONKey("commission"))
        try c.encode(maxHoldingBars, forKey: JSONKey("max_holding_bars"))
        try c.encode(initialEquity, forKey: JSONKey("initial_equity"))
        try c.encode(sizing, forKey: JSONKey("sizing"))
        try c.encode(riskFraction, forKey: JSONKey("risk_fraction"))
        try c.encode(units, forKey: JSONKey("units"))
        try c.encode(costs, forKey: JSONKey("costs"))
        try c.encode(alpha, forKey: JSONKey("alpha"))
        try c.encode(minTrades, forKey: JSONKey("min_trades"))
        try c.encode(randomRuns, forKey: JSONKey("random_runs"))
        try c.encode(randomSeed, forKey: JSONKey("random_seed"))
        try c.encode(trials, forKey: JSONKey("trials"))
    }
}
