import Analysis
import Foundation
import Indicators
import MarketData
import SignalFusion
import Testing

/// Issue 13's acceptance: the evaluation tells random walks from a planted edge.
///
/// Data: `SyntheticMarket` 1h bars for two symbols (with and without
/// `edge`); forecast: a causal momentum estimate, the mean log return of the
/// last 24 bars times the 12-bar horizon; fusion and evaluation with their
/// defaults (1 bp spread), as the stages run them.
struct EvaluationAcceptanceTests {
    static let hour: Int64 = 3_600_000_000

    static func momentum(_ close: [Double], window: Int = 24, horizon: Double = 12, every: Int = 1) -> [Double] {
        var p = [Double](repeating: .nan, count: close.count)
        guard close.count > window else { return p }
        for t in window..<close.count where t % every == 0 {
            p[t] = log(close[t] / close[t - window]) / Double(window) * horizon
        }
        return p
    }

    static func run(
        seed: UInt64, edge: Double, bars: Int = 4000, threshold: Double = 0.65, every: Int = 1
    ) throws -> (EvaluationReport, [FusedSignal]) {
        let (evaluation, analysis, signals) = try inputs(seed: seed, edge: edge, bars: bars, threshold: threshold, every: every)
        return (Evaluation.evaluate(evaluation, config: analysis), signals)
    }

    static func inputs(
        seed: UInt64, edge: Double, bars: Int = 4000, threshold: Double = 0.65, every: Int = 1
    ) throws -> ([EvaluationSeries], AnalysisConfig, [FusedSignal]) {
        var market = SyntheticMarket(
            .init(
                symbols: ["EURUSD", "USDJPY"], timeframe: .h1, bars: bars, seed: seed, correlation: 0.3, edge: edge))
        let series = market.next(maxBars: bars)!
        var fusion = FusionConfig()
        fusion.qualityThreshold = threshold
        var analysis = AnalysisConfig()
        analysis.spread = 0
        let costs = TradingCosts(proportional: analysis.costs.defaultModel.proportionalRoundTrip)
        let inputs = series.map { s in
            FusionInput(
                symbol: s.symbol, timeframe: "1h", barDurationMicros: Self.hour, timestamps: s.timestamps,
                open: s.open, high: s.high, low: s.low, close: s.close, volume: s.volume,
                predictions: Self.momentum(s.close, every: every), costs: costs)
        }
        let signals = try SignalFusion.fuse(inputs, config: fusion)
        var evaluation: [EvaluationSeries] = []
        for s in series {
            let atr = ATR.compute(high: s.high, low: s.low, close: s.close, period: fusion.atrPeriod)
            let every = OutcomeLabeler.everyBar(
                open: s.open, high: s.high, low: s.low, close: s.close, atr: atr, stopMultiple: fusion.stopATRMultiplier,
                targetMultiple: fusion.targetATRMultiplier, horizon: fusion.horizonBars, costs: costs)
            evaluation.append(
                EvaluationSeries(
                    symbol: s.symbol, timeframe: "1h", periodsPerYear: 8766, close: s.close, longR: every.long, shortR: every.short,
                    signals: signals.filter { $0.symbol == s.symbol }.map {
                        EvaluationSignal(
                            direction: $0.direction == .long ? .long : .short, quality: $0.quality, accepted: $0.accepted,
                            calibrated: !$0.sources.contains("flag:calibration_warmup"), r: $0.outcome.r,
                            knownAt: $0.timestamp + Self.hour, resolvedAt: $0.outcome.resolvedAt)
                    }))
        }
        return (evaluation, analysis, signals)
    }

    /// Random walks, 20 seeds: the verdict is `no_edge` or `insufficient_data`
    /// in at least 18, and the calibration's `realized` is within 0.05 of
    /// `predicted` in every bin with ≥ 200 signals. The threshold is lowered
    /// to 0.4 so that signals are accepted and the p-value is exercised; the
    /// forecast speaks every 4th bar so that fewer outcomes overlap. 48,000
    /// bars a symbol: with 12,000, overlapping outcomes make a bin's realized
    /// rate noisy enough (sd ≈ 0.05 at 400 signals) that 1–2 of 20 fresh seeds
    /// missed the 0.05 bound (seeds 21–40, 41–60, 101–120); at 48,000 none of
    /// 60 fresh seeds did.
    /// `SIGNALFORGE_TEST_SEED_OFFSET=K` runs seeds K+1…K+20 instead (to check
    /// the property on seeds the defaults were not chosen on).
    @Test func randomWalksShowNoEdge() throws {
        var noEdge = 0, bigBins = 0, withTrades = 0
        var misses: [String] = []
        var worst = 0.0
        let offset = UInt64(ProcessInfo.processInfo.environment["SIGNALFORGE_TEST_SEED_OFFSET"] ?? "") ?? 0
        for seed in (offset + 1)...(offset + 20) {
            let (report, _) = try Self.run(seed: seed, edge: 0, bars: 48_000, threshold: 0.4, every: 4)
            let overall = report.overall
            if overall.verdict != .edge { noEdge += 1 }
            if overall.verdict == .edge {
                print("random walk seed \(seed): edge, p \(overall.baselines.randomEntries.pValue ?? .nan)")
            }
            if overall.strategy.trades >= 30 { withTrades += 1 }
            for bin in overall.calibration.bins where bin.count >= 200 {
                bigBins += 1
                worst = max(worst, abs(bin.realized - bin.predicted))
                if abs(bin.realized - bin.predicted) > 0.05 {
                    misses.append("seed \(seed) bin \(bin.lower): predicted \(bin.predicted) realized \(bin.realized) (\(bin.count))")
                }
            }
        }
        #expect(noEdge >= 18)
        #expect(withTrades >= 15)
        #expect(bigBins >= 20)
        // Every bin with ≥ 200 signals is within 0.05 of its prediction.
        #expect(misses.isEmpty, "\(misses) of \(bigBins) bins with ≥ 200 signals (worst gap \(worst))")
    }

    /// The checkpoint runs before every random-entry run of every section
    /// (the long loop), changes nothing in the report, and stops it when it throws.
    @Test func theCheckpointRunsInsideTheRandomEntriesAndCanStopThem() throws {
        let (series, config, _) = try Self.inputs(seed: 7, edge: 0.35, bars: 6000)
        var calls = 0
        let checked = Evaluation.evaluate(series, config: config) { () throws(Never) in calls += 1 }
        let plain = Evaluation.evaluate(series, config: config)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(try encoder.encode(checked) == encoder.encode(plain))
        // Three sections (two series, overall), each with trades: a call per run at least.
        #expect(plain.overall.baselines.randomEntries.runs == config.randomRuns)
        #expect(calls >= 3 * config.randomRuns)

        struct Stop: Error, Equatable {}
        var left = config.randomRuns / 2
        #expect(throws: Stop()) {
            _ = try Evaluation.evaluate(series, config: config) { () throws(Stop) in
                left -= 1
                if left == 0 { throw Stop() }
            }
        }
    }

    /// A planted edge: `edge` with p < 0.01, accepted signals' mean R above the
    /// rejected ones', and `realized` rising with the quality bins.
    @Test func plantedEdgeIsFound() throws {
        let (report, signals) = try Self.run(seed: 7, edge: 0.35, bars: 6000)
        let overall = report.overall
        #expect(overall.verdict == .edge, "\(overall.reason)")
        #expect((overall.baselines.randomEntries.pValue ?? 1) < 0.01)
        #expect((overall.accepted.meanR ?? -.infinity) > (overall.rejected.meanR ?? .infinity))
        let bins = overall.calibration.bins.filter { $0.count >= 50 }
        #expect(bins.count >= 3)
        for (a, b) in zip(bins, bins.dropFirst()) { #expect(b.realized > a.realized, "\(bins)") }
        #expect(signals.contains { $0.accepted })
        #expect((overall.deflatedSharpe ?? 0) > 0.95)
    }
}
