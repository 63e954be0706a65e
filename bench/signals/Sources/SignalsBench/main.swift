// Release benchmarks and checks of the signal path:
//   signals-bench random       the evaluation's random-entry baseline: runs per second
//   signals-bench calibration  issue 13's random-walk scenario over 20 seeds: every
//                              calibration bin, the verdicts, and the fusion time
//   signals-bench edge         the planted-edge scenario
//   signals-bench demo         SignalFusion.fuse on the default demo's shape: 3 symbols ×
//                              525,600 1m bars (seed 42, sentiment) resampled to 15m/1h/4h,
//                              a momentum forecast on every bar, the Patterns module's events
// The scenarios are those of Tests/StagesTests/EvaluationAcceptanceTests.swift.
import Analysis
import Foundation
import Indicators
import MarketData
import Patterns
import SignalFusion

let hour: Int64 = 3_600_000_000

func momentum(_ close: [Double], window: Int = 24, horizon: Double = 12, every: Int = 1) -> [Double] {
    var p = [Double](repeating: .nan, count: close.count)
    guard close.count > window else { return p }
    for t in window..<close.count where t % every == 0 {
        p[t] = log(close[t] / close[t - window]) / Double(window) * horizon
    }
    return p
}

/// CPU time of this process, s: on a machine shared with other builds, wall
/// time measures the scheduler more than the code.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

struct Scenario {
    var series: [EvaluationSeries]
    var signals: [FusedSignal]
    var fusionSeconds: Double
}

func scenario(seed: UInt64, edge: Double, bars: Int, threshold: Double, every: Int) throws -> Scenario {
    var market = SyntheticMarket(
        .init(symbols: ["EURUSD", "USDJPY"], timeframe: .h1, bars: bars, seed: seed, correlation: 0.3, edge: edge))
    let series = market.next(maxBars: bars)!
    var fusion = FusionConfig()
    fusion.qualityThreshold = threshold
    // Overrides for experiments with the calibration's settings.
    if let v = ProcessInfo.processInfo.environment["CALIBRATION_L2"] { fusion.calibrationL2 = Double(v)! }
    if let v = ProcessInfo.processInfo.environment["MIN_HISTORY"] { fusion.minHistory = Int(v)! }
    var analysis = AnalysisConfig()
    analysis.spread = 0
    let costs = TradingCosts(proportional: analysis.costs.defaultModel.proportionalRoundTrip)
    let inputs = series.map { s in
        FusionInput(
            symbol: s.symbol, timeframe: "1h", barDurationMicros: hour, timestamps: s.timestamps,
            open: s.open, high: s.high, low: s.low, close: s.close, volume: s.volume,
            predictions: momentum(s.close, every: every), costs: costs)
    }
    let start = now()
    let signals = try SignalFusion.fuse(inputs, config: fusion)
    let fusionSeconds = now() - start
    var evaluation: [EvaluationSeries] = []
    for s in series {
        let atr = ATR.compute(high: s.high, low: s.low, close: s.close, period: fusion.atrPeriod)
        let every = OutcomeLabeler.everyBar(
            open: s.open, high: s.high, low: s.low, close: s.close, atr: atr, stopMultiple: fusion.stopATRMultiplier,
            targetMultiple: fusion.targetATRMultiplier, horizon: fusion.horizonBars, costs: costs)
        evaluation.append(
            EvaluationSeries(
                symbol: s.symbol, timeframe: "1h", periodsPerYear: 8766, close: s.close, longR: every.long,
                shortR: every.short,
                signals: signals.filter { $0.symbol == s.symbol }.map {
                    EvaluationSignal(
                        direction: $0.direction == .long ? .long : .short, quality: $0.quality, accepted: $0.accepted,
                        calibrated: !$0.sources.contains("flag:calibration_warmup"), r: $0.outcome.r,
                        knownAt: $0.timestamp + hour, resolvedAt: $0.outcome.resolvedAt)
                }))
    }
    return Scenario(series: evaluation, signals: signals, fusionSeconds: fusionSeconds)
}

func f3(_ x: Double?) -> String { x.map { String(format: "%.3f", $0) } ?? "n/a" }

func calibration(seeds: ClosedRange<UInt64>) throws {
    var misses = 0, bigBins = 0, noEdge = 0
    var worst = 0.0
    var fusionTime = 0.0
    for seed in seeds {
        let s = try scenario(seed: seed, edge: 0, bars: 12_000, threshold: 0.4, every: 4)
        fusionTime += s.fusionSeconds
        let report = Evaluation.evaluate(
            s.series,
            config: {
                var c = AnalysisConfig(); c.spread = 0; return c
            }())
        let o = report.overall
        if o.verdict != .edge { noEdge += 1 }
        var line = "seed \(seed): \(o.verdict.rawValue) p=\(f3(o.baselines.randomEntries.pValue)) trades=\(o.strategy.trades)"
        line += " base=\(f3(o.calibration.baseRate)) brier=\(f3(o.calibration.brier)) vs \(f3(o.calibration.baseRateBrier))"
        print(line)
        for bin in o.calibration.bins {
            let gap = bin.realized - bin.predicted
            var mark = ""
            if bin.count >= 200 {
                bigBins += 1
                worst = max(worst, abs(gap))
                if abs(gap) > 0.05 {
                    misses += 1
                    // When the bin's signals were known (share of the run), to tell early fits from the rest.
                    let times = s.signals.filter {
                        !$0.sources.contains("flag:calibration_warmup") && $0.outcome.r != nil && $0.quality >= bin.lower
                            && $0.quality < bin.upper
                    }.map(\.timestamp).sorted()
                    let first = s.signals.map(\.timestamp).min()!, last = s.signals.map(\.timestamp).max()!
                    let q = [0.1, 0.5, 0.9].map { Double(times[Int($0 * Double(times.count - 1))] - first) / Double(last - first) }
                    mark = "  <-- MISS (known at \(q.map(f3)) of the run)"
                }
            }
            print(
                "   [\(f3(bin.lower)), \(f3(bin.upper))) n=\(bin.count) predicted=\(f3(bin.predicted)) realized=\(f3(bin.realized)) gap=\(f3(gap))\(mark)"
            )
        }
    }
    print("not edge: \(noEdge) of \(seeds.count); big bins: \(bigBins), misses: \(misses), worst gap: \(f3(worst))")
    print("fusion: \(f3(fusionTime / Double(seeds.count))) s CPU per seed (12,000 bars × 2 symbols)")
}

func edge() throws {
    let s = try scenario(seed: 7, edge: 0.35, bars: 6000, threshold: 0.65, every: 1)
    let report = Evaluation.evaluate(
        s.series,
        config: {
            var c = AnalysisConfig(); c.spread = 0; return c
        }())
    let o = report.overall
    print("edge: \(o.verdict.rawValue) p=\(f3(o.baselines.randomEntries.pValue)) trades=\(o.strategy.trades) dsr=\(f3(o.deflatedSharpe))")
    print("accepted mean R \(f3(o.accepted.meanR)) (\(o.accepted.count)), rejected \(f3(o.rejected.meanR)) (\(o.rejected.count))")
    for bin in o.calibration.bins {
        print("   [\(f3(bin.lower)), \(f3(bin.upper))) n=\(bin.count) predicted=\(f3(bin.predicted)) realized=\(f3(bin.realized))")
    }
}

/// Runs per second of the random-entry baseline: `Evaluation.evaluate` on the
/// same input with `random_runs` 1,000 and 100,000, the difference in time over
/// the difference in runs (the rest of the evaluation cancels out).
func randomEntries() throws {
    let s = try scenario(seed: 7, edge: 0.35, bars: 6000, threshold: 0.65, every: 1)
    var small = AnalysisConfig()
    small.spread = 0
    small.randomRuns = 1_000
    var large = small
    large.randomRuns = 100_000
    func time(_ c: AnalysisConfig) -> (Double, EvaluationReport) {
        var best = Double.infinity
        var last: EvaluationReport?
        for _ in 0..<3 {
            let t0 = now()
            last = Evaluation.evaluate(s.series, config: c)
            best = min(best, now() - t0)
        }
        return (best, last!)
    }
    for runs in [1_000, 10_000, 100_000] {
        var c = small
        c.randomRuns = runs
        let (t, _) = time(c)
        print("  \(runs) runs: \(f3(t)) s")
    }
    let (t1, r1) = time(small)
    let (t2, _) = time(large)
    let sections = 1 + s.series.count  // overall + one per series, each with its own runs
    let trades = r1.overall.baselines.randomEntries.trades
    let runs = Double(large.randomRuns - small.randomRuns) * Double(sections)
    print(
        "evaluate (CPU time): \(f3(t1)) s with 1,000 runs, \(f3(t2)) s with 100,000 runs (\(sections) sections, \(trades) trades overall)")
    print(
        String(
            format: "random entries: %.0f runs/s (%.0f trades drawn/s)", runs / (t2 - t1),
            runs * Double(trades) / Double(sections) / (t2 - t1)))
}

/// The fusion stage's work on the default demo's data, CPU time.
func demo() throws {
    var market = SyntheticMarket(
        .init(symbols: ["EURUSD", "GBPUSD", "USDJPY"], timeframe: .m1, bars: 525_600, seed: 42, sentiment: true))
    var minute: [OHLCVSeries] = []
    while let chunk = market.next(maxBars: 1 << 20) { minute = chunk }
    var inputs: [FusionInput] = []
    let t0 = now()
    for s in minute {
        for tf in [Timeframe.m15, .h1, .h4] {
            let b = try Resampler.resample(s, to: tf)
            let patterns =
                CandlestickEvents.detect(open: b.open, high: b.high, low: b.low, close: b.close)
                + ChartPatternDetector().detect(high: b.high, low: b.low, close: b.close)
            inputs.append(
                FusionInput(
                    symbol: s.symbol, timeframe: tf.rawValue, barDurationMicros: tf.nominalDurationMicros,
                    timestamps: b.timestamps, open: b.open, high: b.high, low: b.low, close: b.close, volume: b.volume,
                    sentiment: b.extras.first { $0.name == "sentiment" }?.values,
                    predictions: momentum(b.close), patterns: patterns,
                    costs: TradingCosts(proportional: 1e-4)))
        }
    }
    let t1 = now()
    var best = Double.infinity
    var signals: [FusedSignal] = []
    for _ in 0..<3 {
        let start = now()
        signals = try SignalFusion.fuse(inputs)
        best = min(best, now() - start)
    }
    let bars = inputs.reduce(0) { $0 + $1.close.count }
    print("inputs (resample + patterns): \(f3(t1 - t0)) s CPU; \(inputs.count) series, \(bars) bars")
    print(
        "fuse: \(f3(best)) s CPU (best of 3), \(signals.count) signals, \(signals.filter(\.accepted).count) accepted, \(signals.filter { !$0.sources.contains("flag:calibration_warmup") }.count) calibrated"
    )
}

let command = CommandLine.arguments.dropFirst().first ?? "random"
switch command {
case "calibration":
    let seeds = CommandLine.arguments.count > 2 ? UInt64(CommandLine.arguments[2])!...UInt64(CommandLine.arguments[3])! : 1...20
    try calibration(seeds: seeds)
case "edge": try edge()
case "demo": try demo()
case "random": try randomEntries()
default:
    print("usage: signals-bench [random|calibration [FROM TO]|edge|demo]")
}
