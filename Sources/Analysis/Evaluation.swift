#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The report's honest evaluation of the signals: is there an edge, and does
/// a higher quality mean a better trade? Pure.
///
/// Per symbol × timeframe and overall (all series pooled):
/// - `calibration`: resolved signals scored by the calibrated model (not
///   `flag:calibration_warmup`) in ten equal bins of `quality`: `count`,
///   `predicted` (mean quality), `realized` (share with R > 0), `mean_r`;
///   `brier` = mean (quality − [R > 0])², and the Brier score of always
///   predicting the (in-sample) base rate.
/// - `accepted` / `rejected`: resolved signals' count, hit rate (R > 0), mean R.
/// - `strategy`: the resolved accepted signals taken one at a time per series
///   (the holding rule: a signal known before the previous taken one resolved
///   is skipped, so trades do not overlap): mean R and the per-trade Sharpe
///   ratio `mean R / sd R`.
/// - `baselines.buy_and_hold`: `close[last]/close[first] − 1` and the
///   annualised Sharpe of bar returns (overall: the series' mean).
/// - `baselines.random_entries`: `random_runs` seeded runs, each drawing, per
///   series, as many long and short entries as the strategy has there,
///   uniformly (with replacement) among the bars whose outcome with the same
///   stop, target, horizon and costs is decided; the mean and 95th
///   percentile of their per-trade Sharpe ratios, and the strategy's
///   `p_value = (1 + #{runs ≥ strategy}) / (1 + runs)`.
/// - `deflated_sharpe`: Bailey & López de Prado (2014): `Φ((SR − SR₀)·√(T−1) /
///   √(1 − γ₃·SR + (γ₄−1)/4·SR²))` on the per-trade R (T trades, skewness γ₃,
///   kurtosis γ₄); `SR₀ = 0` for one trial, else `√V·((1−γ)Φ⁻¹(1−1/N) +
///   γΦ⁻¹(1−1/(N·e)))` with `V` the variance of the SR estimate and γ Euler's constant.
/// - `verdict`: `insufficient_data` below `min_trades` resolved accepted
///   signals; `edge` when `p_value < alpha`; else `no_edge`, with a reason.
public enum Evaluation {
    /// Evaluates every series and all of them together.
    public static func evaluate(_ series: [EvaluationSeries], config: AnalysisConfig, costs: [String: CostModel] = [:]) -> EvaluationReport
    {
        evaluate(series, config: config, costs: costs) { () throws(Never) in }
    }

    /// Evaluates every series and all of them together, calling `checkpoint`
    /// between chunks of work (each random-entry run, each section) — every
    /// few microseconds to milliseconds — so the caller can pause or stop.
    /// - Throws: what `checkpoint` throws.
    public static func evaluate<E: Error>(
        _ series: [EvaluationSeries], config: AnalysisConfig, costs: [String: CostModel] = [:],
        checkpoint: () throws(E) -> Void
    ) throws(E) -> EvaluationReport {
        var sections: [EvaluationSection] = []
        for (i, s) in series.enumerated() {
            try checkpoint()
            sections.append(
                try section(
                    [s], symbol: s.symbol, timeframe: s.timeframe, config: config,
                    seed: UInt64(config.randomSeed) &+ UInt64(i + 1) &* 0x9e37_79b9_7f4a_7c15, checkpoint: checkpoint))
        }
        try checkpoint()
        let overall = try section(
            series, symbol: nil, timeframe: nil, config: config, seed: UInt64(config.randomSeed), checkpoint: checkpoint)
        return EvaluationReport(
            overall: overall, series: sections, costs: costs, alpha: config.alpha, minTrades: config.minTrades,
            randomRuns: config.randomRuns)
    }

    static func section<E: Error>(
        _ series: [EvaluationSeries], symbol: String?, timeframe: String?, config: AnalysisConfig, seed: UInt64,
        checkpoint: () throws(E) -> Void
    ) throws(E) -> EvaluationSection {
        var total = 0, resolved = 0
        var binCount = [Int](repeating: 0, count: 10)
        var binQ = [Double](repeating: 0, count: 10), binHit = [Double](repeating: 0, count: 10), binR = [Double](repeating: 0, count: 10)
        var brier = 0.0, calibrated = 0, hits = 0.0
        var acc = (n: 0, hit: 0.0, r: 0.0), rej = (n: 0, hit: 0.0, r: 0.0)
        var strategyR: [Double] = []
        var counts: [(long: Int, short: Int)] = []
        for s in series {
            var long = 0, short = 0
            var busyUntil = Int64.min
            for sig in s.signals {
                total += 1
                guard let r = sig.r, r.isFinite else { continue }
                resolved += 1
                let y: Double = r > 0 ? 1 : 0
                if sig.calibrated {
                    let b = Swift.min(9, Swift.max(0, Int(sig.quality * 10)))
                    binCount[b] += 1; binQ[b] += sig.quality; binHit[b] += y; binR[b] += r
                    brier += (sig.quality - y) * (sig.quality - y)
                    calibrated += 1
                    hits += y
                }
                if sig.accepted {
                    acc.n += 1; acc.hit += y; acc.r += r
                    if sig.knownAt >= busyUntil {
                        strategyR.append(r)
                        busyUntil = sig.resolvedAt ?? .max
                        if sig.direction == .long { long += 1 } else { short += 1 }
                    }
                } else {
                    rej.n += 1; rej.hit += y; rej.r += r
                }
            }
            counts.append((long, short))
        }
        var bins: [EvaluationSection.Bin] = []
        for b in 0..<10 where binCount[b] > 0 {
            let n = Double(binCount[b])
            bins.append(
                .init(
                    lower: Double(b) / 10, upper: Double(b + 1) / 10, count: binCount[b],
                    predicted: binQ[b] / n, realized: binHit[b] / n, meanR: binR[b] / n))
        }
        let baseRate = calibrated > 0 ? hits / Double(calibrated) : nil
        let calibration = EvaluationSection.Calibration(
            count: calibrated, bins: bins, brier: calibrated > 0 ? brier / Double(calibrated) : nil,
            baseRate: baseRate, baseRateBrier: baseRate.map { $0 * (1 - $0) })
        func outcomes(_ o: (n: Int, hit: Double, r: Double)) -> EvaluationSection.Outcomes {
            .init(count: o.n, hitRate: o.n > 0 ? o.hit / Double(o.n) : nil, meanR: o.n > 0 ? o.r / Double(o.n) : nil)
        }
        let strategySharpe = sharpe(strategyR)
        let strategy = EvaluationSection.Strategy(
            trades: strategyR.count, meanR: strategyR.isEmpty ? nil : strategyR.reduce(0, +) / Double(strategyR.count),
            sharpe: strategySharpe)

        // Buy and hold.
        var bhReturns: [Double] = [], bhSharpes: [Double] = []
        for s in series {
            let closes = s.close.filter { $0.isFinite && $0 > 0 }
            guard let first = closes.first, let last = closes.last, closes.count >= 2 else { continue }
            bhReturns.append(last / first - 1)
            var rets: [Double] = []
            rets.reserveCapacity(closes.count - 1)
            for k in 1..<closes.count { rets.append(closes[k] / closes[k - 1] - 1) }
            if let sr = sharpe(rets) { bhSharpes.append(sr * s.periodsPerYear.squareRoot()) }
        }
        let buyAndHold = EvaluationSection.BuyAndHold(
            return: bhReturns.isEmpty ? nil : bhReturns.reduce(0, +) / Double(bhReturns.count),
            sharpe: bhSharpes.isEmpty ? nil : bhSharpes.reduce(0, +) / Double(bhSharpes.count))

        try checkpoint()
        let random = try randomEntries(
            series, counts: counts, strategySharpe: strategySharpe, runs: config.randomRuns, seed: seed, checkpoint: checkpoint)
        let dsr = deflatedSharpe(strategyR, trials: config.trials)

        let verdict: EvaluationSection.Verdict
        let reason: String
        let n = strategyR.count
        if n < config.minTrades {
            verdict = .insufficientData
            reason = "\(n) resolved accepted signals, fewer than min_trades (\(config.minTrades))"
        } else if let p = random.pValue, p < config.alpha {
            verdict = .edge
            reason =
                "accepted signals' Sharpe per trade \(fmt(strategySharpe)) beats random entries' (95th percentile \(fmt(random.sharpeP95))): p = \(fmt(p)) < alpha \(config.alpha)"
        } else {
            verdict = .noEdge
            reason =
                "accepted signals' Sharpe per trade \(fmt(strategySharpe)) does not beat random entries' (95th percentile \(fmt(random.sharpeP95))): p = \(fmt(random.pValue)) ≥ alpha \(config.alpha)"
        }
        return EvaluationSection(
            symbol: symbol, timeframe: timeframe, signals: total, resolved: resolved, calibration: calibration,
            accepted: outcomes(acc), rejected: outcomes(rej), strategy: strategy,
            baselines: .init(buyAndHold: buyAndHold, randomEntries: random),
            deflatedSharpe: dsr, trials: config.trials, verdict: verdict, reason: reason)
    }

    static func fmt(_ x: Double?) -> String {
        guard let x, x.isFinite else { return "n/a" }
        return String(Double(Int((x * 1000).rounded())) / 1000)
    }

    /// `mean / sd` (sample sd); nil with fewer than 2 values or no spread.
    static func sharpe(_ x: [Double]) -> Double? {
        guard x.count >= 2 else { return nil }
        let mean = x.reduce(0, +) / Double(x.count)
        var ss = 0.0
        for v in x { ss += (v - mean) * (v - mean) }
        let sd = (ss / Double(x.count - 1)).squareRoot()
        return sd > 0 ? mean / sd : nil
    }

    /// The random-entry baseline: `runs` runs over precomputed per-bar R.
    static func randomEntries<E: Error>(
        _ series: [EvaluationSeries], counts: [(long: Int, short: Int)], strategySharpe: Double?, runs: Int, seed: UInt64,
        checkpoint: () throws(E) -> Void
    ) throws(E) -> EvaluationSection.RandomEntries {
        let trades = counts.reduce(0) { $0 + $1.long + $1.short }
        var pools: [(long: [Double], short: [Double])] = []
        for s in series { pools.append((s.longR.filter(\.isFinite), s.shortR.filter(\.isFinite))) }
        for (i, c) in counts.enumerated() where (c.long > 0 && pools[i].long.isEmpty) || (c.short > 0 && pools[i].short.isEmpty) {
            _ = i
            return .init(runs: 0, trades: trades, sharpeMean: nil, sharpeP95: nil, pValue: nil)
        }
        guard trades >= 2 else { return .init(runs: 0, trades: trades, sharpeMean: nil, sharpeP95: nil, pValue: nil) }
        var rng = SplitMix64(seed)
        var sharpes: [Double] = []
        sharpes.reserveCapacity(runs)
        for _ in 0..<runs {
            try checkpoint()
            var sum = 0.0, sumSq = 0.0
            for (i, c) in counts.enumerated() {
                pools[i].long.withUnsafeBufferPointer { p in
                    for _ in 0..<c.long { let v = p[rng.below(p.count)]; sum += v; sumSq += v * v }
                }
                pools[i].short.withUnsafeBufferPointer { p in
                    for _ in 0..<c.short { let v = p[rng.below(p.count)]; sum += v; sumSq += v * v }
                }
            }
            let n = Double(trades)
            let mean = sum / n
            let variance = Swift.max(0, (sumSq - n * mean * mean) / (n - 1))
            sharpes.append(variance > 0 ? mean / variance.squareRoot() : 0)
        }
        let sorted = sharpes.sorted()
        let p95 = sorted[Swift.min(sorted.count - 1, Int((0.95 * Double(sorted.count)).rounded(.up)) - 1)]
        var p: Double?
        if let strategySharpe {
            let beating = sharpes.reduce(0) { $0 + ($1 >= strategySharpe ? 1 : 0) }
            p = Double(1 + beating) / Double(1 + runs)
        }
        return .init(
            runs: runs, trades: trades, sharpeMean: sharpes.reduce(0, +) / Double(runs), sharpeP95: p95, pValue: p)
    }

    /// The deflated Sharpe ratio of per-trade returns `x` after `trials` trials; nil with < 3 values.
    public static func deflatedSharpe(_ x: [Double], trials: Int) -> Double? {
        let t = Double(x.count)
        guard x.count >= 3, let sr = sharpe(x) else { return nil }
        let mean = x.reduce(0, +) / t
        var m2 = 0.0, m3 = 0.0, m4 = 0.0
        for v in x { let d = v - mean; m2 += d * d; m3 += d * d * d; m4 += d * d * d * d }
        m2 /= t; m3 /= t; m4 /= t
        let skew = m3 / pow(m2, 1.5), kurt = m4 / (m2 * m2)
        let spread = 1 - skew * sr + (kurt - 1) / 4 * sr * sr
        guard spread > 0 else { return nil }
        var sr0 = 0.0
        if trials > 1 {
            let n = Double(trials)
            let gamma = 0.577_215_664_901_532_9
            let v = spread / (t - 1)
            sr0 = v.squareRoot() * ((1 - gamma) * inverseNormal(1 - 1 / n) + gamma * inverseNormal(1 - 1 / (n * M_E)))
        }
        return normalCDF((sr - sr0) * (t - 1).squareRoot() / spread.squareRoot())
    }

    /// Φ(x).
    public static func normalCDF(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Φ⁻¹(p), Acklam's rational approximation refined by one Newton step.
    public static func inverseNormal(_ p: Double) -> Double {
        guard p > 0 && p < 1 else { return p <= 0 ? -.infinity : .infinity }
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01,
            2.506628277459239e+00,
        ]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00,
            2.938163982698783e+00,
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        var x: Double
        if p < 0.02425 {
            let q = (-2 * log(p)).squareRoot()
            x =
                (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p > 1 - 0.02425 {
            let q = (-2 * log(1 - p)).squareRoot()
            x =
                -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else {
            let q = p - 0.5, r = q * q
            x =
                (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        let e = normalCDF(x) - p
        let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        return x - u / (1 + x * u / 2)
    }
}

/// SplitMix64: a small, fast, seeded generator for the random entries.
struct SplitMix64 {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    @inline(__always)
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
    /// Uniform in `0 ..< n` (Lemire's multiply-shift; n > 0).
    @inline(__always)
    mutating func below(_ n: Int) -> Int { Int(next().multipliedFullWidth(by: UInt64(n)).high) }
}
