import Foundation
import MarketData
import Patterns
public import Pipeline

/// The `config.patterns` section: `swing_window` (bars on each side of a
/// swing high/low, default 3), `peak_tolerance` (how close two tops or
/// bottoms must be, as a fraction, default 0.02), `max_span` (the most bars a
/// chart pattern spans, default 100).
struct PatternsOptions: Equatable, Sendable {
    var swingWindow = 3
    var peakTolerance = 0.02
    var maxSpan = 100

    init() {}

    /// Reads the section; the members' ranges are those of ``schema``.
    /// - Throws: ``StageError`` naming the member and what it must be.
    init(_ section: [String: Any]) throws(StageError) {
        try Self.refuseUnknownKeys(section)
        if let v = section["swing_window"] { swingWindow = try Self.integer(v, at: ["swing_window"]) }
        if let v = section["peak_tolerance"] { peakTolerance = try Self.number(v, at: ["peak_tolerance"]) }
        if let v = section["max_span"] { maxSpan = try Self.integer(v, at: ["max_span"]) }
    }

    var detector: ChartPatternDetector {
        ChartPatternDetector(swingWindow: swingWindow, peakTolerance: peakTolerance, maxSpan: maxSpan)
    }
}

/// `patterns`: candlestick patterns, swing highs/lows and chart patterns per
/// symbol on every timeframe's table.
///
/// Columns added per symbol, all known at their row (no look-ahead):
/// - `<symbol>_cdl_<name>` for the eight TA-Lib candlestick functions
///   (`cdl_hammer`, `cdl_engulfing`, `cdl_3whitesoldiers`, …): TA-Lib's
///   score (±100, ±80 for a weak engulfing, 0 when absent);
/// - `<symbol>_swing_high` / `_swing_low`: the price of a swing point on the
///   row where it is confirmed (`swing_window` bars after it), NaN elsewhere;
/// - `<symbol>_chart_pattern`: on the row where a double top/bottom or
///   (inverse) head and shoulders is confirmed, its direction (+1/−1) times
///   its confidence; 0 elsewhere.
///
/// The events themselves (``PatternEvent``: direction, confidence, bars
/// spanned) are what `fusion` uses; it detects them again from the bars,
/// which is deterministic and cheap.
public struct PatternsStage: Stage {
    public let name = "patterns"
    public init() {}

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        try TableChain.run(name, context, plan)
    }

    /// Every candlestick and chart pattern event of `bars`, in bar order
    /// (indices are into the symbol's bars).
    /// - Parameter checkpoint: called between the candlestick and the chart
    ///   pattern detection and before the sort.
    static func events(
        _ bars: SymbolBars, _ options: PatternsOptions, checkpoint: () throws -> Void
    ) rethrows -> [PatternEvent] {
        var all = CandlestickEvents.detect(open: bars.open, high: bars.high, low: bars.low, close: bars.close)
        try checkpoint()
        all += options.detector.detect(high: bars.high, low: bars.low, close: bars.close)
        try checkpoint()
        all.sort { $0.confirmedAt < $1.confirmedAt }
        return all
    }

    static func enrich(
        _ context: StageContext, _ plan: ExperimentPlan, _ tf: Timeframe, _ table: AlignedTable, _ step: String
    ) throws -> AlignedTable {
        let options = plan.options(PatternsOptions.self)
        var out = table
        let candles: [CandlestickPattern] = CandlestickPattern.allCases.filter { $0 != .bearishEngulfing }
        // Progress in rows: each symbol's share, half after the candlesticks.
        let perSymbol = Int64(table.count / max(plan.symbols.count, 1))
        for symbol in plan.symbols {
            try context.checkpoint()
            let bars = try SymbolBars(symbol, in: table)
            for pattern in candles {
                try context.checkpoint()
                let scores = Candlesticks.scores(pattern, open: bars.open, high: bars.high, low: bars.low, close: bars.close)
                out.columns.append(NamedColumn(name: bars.prefix + pattern.featureName, values: bars.scatter(scores.map(Double.init))))
            }
            context.progress.advance(step, by: perSymbol / 2)
            try context.checkpoint()
            var swingHigh = [Double](repeating: .nan, count: bars.count)
            var swingLow = [Double](repeating: .nan, count: bars.count)
            for p in SwingDetector.detect(high: bars.high, low: bars.low, window: options.swingWindow) where p.confirmedAt < bars.count {
                if p.kind == .high { swingHigh[p.confirmedAt] = p.price } else { swingLow[p.confirmedAt] = p.price }
            }
            var chart = [Double](repeating: 0, count: bars.count)
            for e in options.detector.detect(high: bars.high, low: bars.low, close: bars.close) where e.confirmedAt < bars.count {
                chart[e.confirmedAt] = (e.direction == .bullish ? 1 : -1) * e.confidence
            }
            out.columns.append(NamedColumn(name: bars.prefix + "swing_high", values: bars.scatter(swingHigh)))
            out.columns.append(NamedColumn(name: bars.prefix + "swing_low", values: bars.scatter(swingLow)))
            out.columns.append(NamedColumn(name: bars.prefix + "chart_pattern", values: bars.scatter(chart)))
            context.progress.advance(step, by: perSymbol - perSymbol / 2)
        }
        return out
    }
}
