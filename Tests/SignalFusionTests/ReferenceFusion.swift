import Foundation
import Indicators
import Patterns
import SignalFusion

/// A slow, direct transcription of the formulas in `docs/fusion.md`, written
/// independently of the module's code, to check every fused signal against.
enum ReferenceFusion {
    /// The indicator columns of one input, computed once.
    struct Columns {
        var atr: [Double], adx: [Double], ema: [Double], volumeMA: [Double]
        /// Bar index by timestamp.
        var index: [Int64: Int]
    }

    nonisolated(unsafe) static var cache: [String: Columns] = [:]
    static let lock = NSLock()

    static func columns(_ input: FusionInput, _ config: FusionConfig) -> Columns {
        let key =
            "\(input.symbol) \(input.timeframe) \(input.timestamps.count) \(input.close.last ?? 0) \(config.atrPeriod) \(config.adxPeriod) \(config.trendPeriod) \(config.volumeWindow)"
        lock.lock()
        defer { lock.unlock() }
        if let c = cache[key] { return c }
        let c = Columns(
            atr: ATR.compute(high: input.high, low: input.low, close: input.close, period: config.atrPeriod),
            adx: ADX.compute(high: input.high, low: input.low, close: input.close, period: config.adxPeriod),
            ema: EMA.compute(input.close, period: config.trendPeriod),
            volumeMA: SMA.compute(input.volume, period: config.volumeWindow),
            index: Dictionary(uniqueKeysWithValues: input.timestamps.enumerated().map { ($1, $0) }))
        cache[key] = c
        return c
    }

    static func s(_ c: Double) -> Double {
        let c = c.isNaN ? 0 : Swift.min(1, Swift.max(0, c))
        return c >= 0.8 ? Swift.min(1, 1.2 * c) : (c < 0.5 ? 0.5 * c : c)
    }

    static func known(_ e: PatternEvent) -> Int { Swift.max(e.endIndex, e.confirmedAt) }

    /// The candidate bars with their direction, by the documented rules.
    static func candidates(_ input: FusionInput, config: FusionConfig) -> [(bar: Int, direction: Double, forecast: Bool)] {
        let atr = ATR.compute(high: input.high, low: input.low, close: input.close, period: config.atrPeriod)
        var out: [(Int, Double, Bool)] = []
        for t in input.timestamps.indices where atr[t].isFinite && atr[t] > 0 {
            if !input.predictions.isEmpty {
                let f = input.predictions[t]
                let conf = input.confidence.isEmpty ? Double.nan : input.confidence[t]
                if f.isFinite && abs(f) > config.minForecastMagnitude
                    && (config.minForecastConfidence == 0 || conf >= config.minForecastConfidence)
                {
                    out.append((t, f > 0 ? 1 : -1, true))
                    continue
                }
            }
            let here = input.patterns.filter { known($0) == t }
            let bull = here.filter { $0.direction == .bullish }.map(\.confidence).max() ?? -1
            let bear = here.filter { $0.direction == .bearish }.map(\.confidence).max() ?? -1
            if bull > bear { out.append((t, 1, false)) } else if bear > bull { out.append((t, -1, false)) }
        }
        return out
    }

    /// The six components of `signal`, recomputed from the raw inputs.
    static func components(
        of signal: FusedSignal, inputs: [FusionInput], concurrent: [FusedSignal], config: FusionConfig
    ) -> (QualityComponents, flags: Set<String>) {
        let input = inputs.first { $0.symbol == signal.symbol && $0.timeframe == signal.timeframe }!
        let t = columns(input, config).index[signal.timestamp]!
        let d: Double = signal.direction == .long ? 1 : -1
        var flags: Set<String> = []

        // Pattern strength.
        let here = input.patterns.filter { known($0) == t }
        let support = here.filter { ($0.direction == .bullish) == (d > 0) }.map(\.confidence).max()
        let oppose = here.filter { ($0.direction == .bullish) != (d > 0) }.map(\.confidence).max()
        let pattern = support.map(s) ?? oppose.map { 0.5 * (1 - s($0)) } ?? 0.5
        if oppose != nil { flags.insert("flag:pattern_conflict") }

        // Multi-timeframe agreement, from bars closed by this bar's close.
        let closeTime = signal.timestamp + input.barDurationMicros
        var m = 0.0, agree = 0.0
        for other in inputs where other.symbol == input.symbol && other.timeframe != input.timeframe {
            guard let j = other.timestamps.lastIndex(where: { $0 + other.barDurationMicros <= closeTime }) else { continue }
            let ema = columns(other, config).ema
            guard ema[j].isFinite else { continue }
            m += 1
            if other.close[j] > ema[j] {
                agree += d > 0 ? 1 : 0
            } else if other.close[j] < ema[j] {
                agree += d < 0 ? 1 : 0
            } else {
                agree += 0.5
            }
        }
        let mtf = m > 0 ? agree / m : 0.5
        if m == 0 { flags.insert("flag:mtf_unavailable") }

        // Regime.
        let adx = columns(input, config).adx[t]
        let a = adx.isFinite ? Swift.min(1, Swift.max(0, (adx - 15) / 20)) : 0.5
        if !adx.isFinite { flags.insert("flag:regime_warmup") }
        let atr = columns(input, config).atr
        let window = (Swift.max(0, t - config.volatilityLookback + 1)...t).map { atr[$0] / input.close[$0] }.filter(\.isFinite)
        let now = atr[t] / input.close[t]
        let p = (Double(window.filter { $0 < now }.count) + 0.5 * Double(window.filter { $0 == now }.count)) / Double(window.count)
        let regime = 0.5 * a + 0.5 * (1 - abs(2 * p - 1))

        // Volume.
        let average = columns(input, config).volumeMA[t]
        let volume: Double
        if average.isFinite && average > 0 {
            volume = Swift.min(1, 0.5 * input.volume[t] / average)
        } else {
            volume = 0.5
            flags.insert("flag:volume_unavailable")
        }

        // Sentiment.
        let sentiment: Double
        if let column = input.sentiment, column[t].isFinite {
            sentiment = 0.5 + 0.5 * d * Swift.min(1, Swift.max(-1, column[t]))
        } else {
            sentiment = 0.5
            flags.insert("flag:sentiment_missing")
        }

        // Correlation safety against concurrent signals of other symbols.
        var worst = 0.0
        var anyConcurrent = false
        for other in concurrent
        where other.timeframe == signal.timeframe && other.symbol != signal.symbol
            && other.timestamp == signal.timestamp
        {
            let y = inputs.first { $0.symbol == other.symbol && $0.timeframe == other.timeframe }!
            var xs: [Double] = [], ys: [Double] = []
            for k in Swift.max(1, t - config.correlationWindow + 1)...t {
                guard let j = columns(y, config).index[input.timestamps[k]], j >= 1 else { continue }
                let rx = input.close[k] / input.close[k - 1] - 1
                let ry = y.close[j] / y.close[j - 1] - 1
                if rx.isFinite && ry.isFinite { xs.append(rx); ys.append(ry) }
            }
            guard xs.count >= Swift.max(3, (config.correlationWindow + 1) / 2) else { continue }
            let mx = xs.reduce(0, +) / Double(xs.count), my = ys.reduce(0, +) / Double(ys.count)
            let cov = zip(xs, ys).map { ($0 - mx) * ($1 - my) }.reduce(0, +)
            let vx = xs.map { ($0 - mx) * ($0 - mx) }.reduce(0, +)
            let vy = ys.map { ($0 - my) * ($0 - my) }.reduce(0, +)
            guard vx > 0, vy > 0 else { continue }
            let rho = cov / (vx * vy).squareRoot()
            let dOther: Double = other.direction == .long ? 1 : -1
            worst = Swift.max(worst, d * dOther * rho)
            anyConcurrent = true
        }
        if !anyConcurrent { flags.insert("flag:correlation_unavailable") }
        let correlation = Swift.min(1, Swift.max(0, 1 - worst))

        return (
            QualityComponents(
                patternStrength: pattern, mtfAgreement: mtf, regimeConfidence: regime,
                volumeConfirmation: volume, sentimentAlignment: sentiment, correlationSafety: correlation), flags
        )
    }

    /// `Σ wᵢ·cᵢ / Σ wᵢ` over the informative components (those not flagged as unavailable).
    static func quality(_ c: QualityComponents, _ w: QualityWeights, flags: Set<String> = []) -> Double {
        var pairs: [(Double, Double)] = [(w.patternStrength, c.patternStrength), (w.regimeConfidence, c.regimeConfidence)]
        if !flags.contains("flag:mtf_unavailable") { pairs.append((w.mtfAgreement, c.mtfAgreement)) }
        if !flags.contains("flag:volume_unavailable") { pairs.append((w.volumeConfirmation, c.volumeConfirmation)) }
        if !flags.contains("flag:sentiment_missing") { pairs.append((w.sentimentAlignment, c.sentimentAlignment)) }
        if !flags.contains("flag:correlation_unavailable") { pairs.append((w.correlationSafety, c.correlationSafety)) }
        let den = pairs.map(\.0).reduce(0, +)
        return den > 0 ? pairs.map { $0.0 * $0.1 }.reduce(0, +) / den : 0.5
    }
}
