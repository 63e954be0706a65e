import Foundation
import Indicators
import MarketData
public import Pipeline

/// The `config.features` section: which indicators, with which periods.
///
/// Members (all optional): `sma` (list of periods, default `[20]`), `ema`
/// (default `[50]`), `rsi` (14), `macd` (`{"fast":12,"slow":26,"signal":9}`),
/// `bollinger` (`{"period":20,"stddev":2}`), `atr` (14), `stochastic`
/// (`{"fast_k":14,"slow_k":3,"slow_d":3}`), `adx` (14).
struct FeaturesOptions: Equatable, Sendable {
    var sma = [20]
    var ema = [50]
    var rsi = 14
    var macd = (fast: 12, slow: 26, signal: 9)
    var bollingerPeriod = 20
    var bollingerStddev = 2.0
    var atr = 14
    var stochastic = (fastK: 14, slowK: 3, slowD: 3)
    var adx = 14

    static func == (a: FeaturesOptions, b: FeaturesOptions) -> Bool {
        a.sma == b.sma && a.ema == b.ema && a.rsi == b.rsi && a.macd == b.macd && a.bollingerPeriod == b.bollingerPeriod
            && a.bollingerStddev == b.bollingerStddev && a.atr == b.atr && a.stochastic == b.stochastic && a.adx == b.adx
    }

    init() {}

    /// Reads the section; the members' ranges are those of ``schema``.
    /// - Throws: ``StageError`` naming the member and the reason.
    init(_ section: [String: Any]) throws(StageError) {
        func periods(_ key: String) throws(StageError) -> [Int]? {
            guard let v = section[key] else { return nil }
            let list = (v as? [Any]) ?? [v]
            guard !list.isEmpty else { throw StageError("config.features.\(key): give at least one period") }
            var out: [Int] = []
            for x in list { out.append(try Self.integer(x, at: [key])) }
            guard Set(out).count == out.count else { throw StageError("config.features.\(key): a period appears twice") }
            return out
        }
        func object(_ key: String) throws(StageError) -> [String: Any]? {
            guard let v = section[key] else { return nil }
            guard let o = v as? [String: Any] else { throw StageError("config.features.\(key): must be an object") }
            try Self.refuseUnknownKeys(o, at: [key])
            return o
        }
        try Self.refuseUnknownKeys(section)
        if let p = try periods("sma") { sma = p }
        if let p = try periods("ema") { ema = p }
        if let v = section["rsi"] { rsi = try Self.integer(v, at: ["rsi"]) }
        if let v = section["atr"] { atr = try Self.integer(v, at: ["atr"]) }
        if let v = section["adx"] { adx = try Self.integer(v, at: ["adx"]) }
        if let o = try object("macd") {
            if let v = o["fast"] { macd.fast = try Self.integer(v, at: ["macd", "fast"]) }
            if let v = o["slow"] { macd.slow = try Self.integer(v, at: ["macd", "slow"]) }
            if let v = o["signal"] { macd.signal = try Self.integer(v, at: ["macd", "signal"]) }
        }
        if let o = try object("bollinger") {
            if let v = o["period"] { bollingerPeriod = try Self.integer(v, at: ["bollinger", "period"]) }
            if let v = o["stddev"] { bollingerStddev = try Self.number(v, at: ["bollinger", "stddev"]) }
        }
        if let o = try object("stochastic") {
            if let v = o["fast_k"] { stochastic.fastK = try Self.integer(v, at: ["stochastic", "fast_k"]) }
            if let v = o["slow_k"] { stochastic.slowK = try Self.integer(v, at: ["stochastic", "slow_k"]) }
            if let v = o["slow_d"] { stochastic.slowD = try Self.integer(v, at: ["stochastic", "slow_d"]) }
        }
    }
}

/// `features`: technical indicators per symbol on every timeframe's table.
///
/// Each symbol's bars (the rows where it has one, see ``SymbolBars``) get
/// SMA, EMA, RSI (Wilder), MACD, Bollinger Bands, ATR (Wilder), Stochastic
/// and ADX with TA-Lib's definitions (NaN before each lookback), as columns
/// `<symbol>_<feature>` (`eurusd_sma_20`, `eurusd_macd_hist`,
/// `eurusd_bb_upper_20`, …), named by ``FeatureName``; two columns of the
/// table that standardize alike (``FeatureName/standardize(_:)``) fail the
/// stage. Progress is in rows.
public struct FeaturesStage: Stage {
    public let name = "features"
    public init() {}

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        try TableChain.run(name, context, plan)
    }

    static func enrich(
        _ context: StageContext, _ plan: ExperimentPlan, _ tf: Timeframe, _ table: AlignedTable, _ step: String
    ) throws -> AlignedTable {
        let o = plan.options(FeaturesOptions.self)
        var out = table
        // Progress in rows: each symbol's share, a quarter after each group of indicators.
        let perSymbol = Int64(table.count / max(plan.symbols.count, 1))
        var reported: Int64 = 0
        func report(_ k: Int, _ quarter: Int64) {
            let done = Int64(k) * perSymbol + perSymbol * quarter / 4
            context.progress.advance(step, by: done - reported)
            reported = done
        }
        for (k, symbol) in plan.symbols.enumerated() {
            try context.checkpoint()
            let bars = try SymbolBars(symbol, in: table)
            var add: [(String, [Double])] = []
            for p in o.sma { add.append((FeatureName.sma(p), SMA.compute(bars.close, period: p))) }
            for p in o.ema { add.append((FeatureName.ema(p), EMA.compute(bars.close, period: p))) }
            add.append((FeatureName.rsi(o.rsi), RSI.compute(bars.close, period: o.rsi)))
            report(k, 1)
            try context.checkpoint()
            let macd = MACD.compute(bars.close, fast: o.macd.fast, slow: o.macd.slow, signal: o.macd.signal)
            add += [
                (FeatureName.macd.macd, macd.macd), (FeatureName.macd.signal, macd.signal), (FeatureName.macd.histogram, macd.histogram),
            ]
            let bb = BollingerBands.compute(bars.close, period: o.bollingerPeriod, devUp: o.bollingerStddev, devDown: o.bollingerStddev)
            let bbNames = FeatureName.bollinger(o.bollingerPeriod)
            add += [(bbNames.upper, bb.upper), (bbNames.middle, bb.middle), (bbNames.lower, bb.lower)]
            report(k, 2)
            try context.checkpoint()
            add.append((FeatureName.atr(o.atr), ATR.compute(high: bars.high, low: bars.low, close: bars.close, period: o.atr)))
            let st = Stochastic.compute(
                high: bars.high, low: bars.low, close: bars.close,
                fastK: o.stochastic.fastK, slowK: o.stochastic.slowK, slowD: o.stochastic.slowD)
            add += [(FeatureName.stochastic.k, st.k), (FeatureName.stochastic.d, st.d)]
            add.append((FeatureName.adx(o.adx), ADX.compute(high: bars.high, low: bars.low, close: bars.close, period: o.adx)))
            for (name, values) in add {
                out.columns.append(NamedColumn(name: bars.prefix + name, values: bars.scatter(values)))
            }
            report(k, 4)
        }
        // Feature names are standard already; two columns that standardize
        // alike (`SMA_20` from a dataset next to `sma_20`) would be ambiguous.
        do { _ = try FeatureName.standardize(out.columns.map(\.name)) } catch {
            throw StageError("features: \(error)")
        }
        return out
    }
}
