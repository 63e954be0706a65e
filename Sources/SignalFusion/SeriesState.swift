import Indicators
import Patterns

/// One candidate signal bar of a series, before its cross-series components.
struct Candidate {
    /// The signal bar.
    var bar: Int
    /// `+1` long, `−1` short.
    var direction: Double
    /// Whether the forecast took part (its sign is the direction).
    var forecast: Bool
    /// Whether a pattern at the bar points the other way.
    var patternConflict: Bool
    var patternStrength: Double
    /// The supporting events: `SeriesState.supporting[supportStart ..< supportEnd]`.
    var supportStart: Int32
    var supportEnd: Int32
    /// The largest `d·d'·ρ` over other symbols' concurrent candidates (−∞ when none).
    var worstCorrelation: Double = -.infinity
}

/// The per-series indicators and candidates; computed once per input.
struct SeriesState {
    var atr: [Double]
    var adx: [Double]
    /// `sign(close − EMA_trend_period(close))`: +1, −1, 0, or NaN while the EMA is undefined.
    var trend: [Double]
    var volumeMA: [Double]
    /// `close[t]/close[t−1] − 1`; NaN at 0.
    var returns: [Double]
    var candidates: [Candidate] = []
    /// Indices into the input's `patterns`, grouped per candidate.
    var supporting: [Int32] = []

    /// Bars of the candidate search between two checkpoints (a millisecond or so).
    static let checkpointBars = 1 << 14

    /// Computes the indicators and finds the candidates of `input`.
    /// - Parameter checkpoint: called before each indicator and every
    ///   ``checkpointBars`` bars of the candidate search; what it throws ends
    ///   the work, as is. Default: nothing.
    init(
        _ input: FusionInput, config: FusionConfig, checkpoint: () throws(FusionError) -> Void = {}
    ) throws(FusionError) {
        atr = ATR.compute(high: input.high, low: input.low, close: input.close, period: config.atrPeriod)
        try checkpoint()
        adx = ADX.compute(high: input.high, low: input.low, close: input.close, period: config.adxPeriod)
        try checkpoint()
        volumeMA = SMA.compute(input.volume, period: config.volumeWindow)
        let n = input.close.count
        try checkpoint()
        let ema = EMA.compute(input.close, period: config.trendPeriod)
        trend = input.close.withUnsafeBufferPointer { c in
            Array(unsafeUninitializedCapacity: n) { out, initialized in
                for i in 0..<n {
                    let diff = c[i] - ema[i]
                    out[i] = diff.isNaN ? .nan : (diff > 0 ? 1 : (diff < 0 ? -1 : 0))
                }
                initialized = n
            }
        }
        returns = input.close.withUnsafeBufferPointer { c in
            Array(unsafeUninitializedCapacity: n) { out, initialized in
                if n > 0 { out[0] = .nan }
                var i = 1
                while i < n { out[i] = c[i] / c[i - 1] - 1; i += 1 }
                initialized = n
            }
        }
        try checkpoint()
        try findCandidates(input, config: config, checkpoint: checkpoint)
    }

    /// The bar at which an event becomes known.
    @inline(__always)
    static func knownBar(_ e: PatternEvent) -> Int { Swift.max(e.endIndex, e.confirmedAt) }

    /// A candidate at every bar with a defined, positive ATR where the forecast
    /// qualifies or a pattern became known; see ``SignalFusion`` for the rules.
    mutating func findCandidates(
        _ input: FusionInput, config: FusionConfig, checkpoint: () throws(FusionError) -> Void = {}
    ) throws(FusionError) {
        let n = input.close.count
        let events = input.patterns
        let order = events.indices.sorted { a, b in
            let ka = Self.knownBar(events[a]), kb = Self.knownBar(events[b])
            return ka != kb ? ka < kb : a < b
        }
        try checkpoint()
        let hasForecast = !input.predictions.isEmpty
        let hasConfidence = !input.confidence.isEmpty
        let minMagnitude = config.minForecastMagnitude
        let minConfidence = config.minForecastConfidence
        var e = 0
        for t in 0..<n {
            if t & (Self.checkpointBars - 1) == Self.checkpointBars - 1 { try checkpoint() }
            let eventStart = e
            var bestBull = -1.0, bestBear = -1.0
            while e < order.count && Self.knownBar(events[order[e]]) <= t {
                let c = QualityFormula.clamp01(events[order[e]].confidence)
                if events[order[e]].direction == .bullish { bestBull = Swift.max(bestBull, c) } else { bestBear = Swift.max(bestBear, c) }
                e += 1
            }
            let a = atr[t]
            guard a.isFinite, a > 0 else { continue }
            var forecastOK = false
            var direction = 0.0
            if hasForecast {
                let f = input.predictions[t]
                if f.isFinite && Swift.abs(f) > minMagnitude {
                    let conf = hasConfidence ? input.confidence[t] : .nan
                    if minConfidence == 0 || (conf.isFinite && conf >= minConfidence) {
                        forecastOK = true
                        direction = f > 0 ? 1 : -1
                    }
                }
            }
            if !forecastOK {
                if bestBull > bestBear { direction = 1 } else if bestBear > bestBull { direction = -1 } else { continue }
            }
            let supportingBest = direction > 0 ? bestBull : bestBear
            let opposingBest = direction > 0 ? bestBear : bestBull
            let start = Int32(supporting.count)
            var k = eventStart
            while k < e {
                let event = events[order[k]]
                if (event.direction == .bullish) == (direction > 0) { supporting.append(Int32(order[k])) }
                k += 1
            }
            candidates.append(
                Candidate(
                    bar: t, direction: direction, forecast: forecastOK,
                    patternConflict: opposingBest >= 0,
                    patternStrength: QualityFormula.patternStrength(supporting: supportingBest, opposing: opposingBest),
                    supportStart: start, supportEnd: Int32(supporting.count)))
        }
    }
}
