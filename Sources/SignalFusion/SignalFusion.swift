import Patterns

/// Turns forecasts and pattern events into fused, scored signals
/// (stage 7, **fusion**). Pure: columns in, signals out, no I/O.
///
/// ## Candidates
/// A bar `t` of a series is a candidate when `ATR[t]` (period `atr_period`)
/// is defined and > 0, and
/// - the forecast qualifies: `predictions[t]` finite, `|predictions[t]| >
///   min_forecast_magnitude`, and `confidence[t] ≥ min_forecast_confidence`
///   (any confidence, even NaN, passes when that minimum is 0); or
/// - a pattern event became known at `t` (`max(endIndex, confirmedAt) == t`).
///
/// Direction: the forecast's sign when it qualifies (the forecast wins a
/// conflict with a pattern); otherwise the side (bullish → long, bearish →
/// short) whose best event confidence at `t` is higher — a tie between the
/// sides makes no candidate. A pattern at `t` on the other side sets
/// `flag:pattern_conflict`.
///
/// Levels: `entry = close[t]` (a backtest enters at the next bar's open),
/// `stop = entry − d·stop_atr_multiplier·ATR[t]`,
/// `target = entry + d·target_atr_multiplier·ATR[t]`, with `d = +1` long,
/// `−1` short; `horizon_bars` from the config.
///
/// ## Components (each in [0, 1])
/// - `pattern_strength`: with `s(c) = min(1, 1.2c)` for `c ≥ 0.8`, `0.5c` for
///   `c < 0.5`, `c` otherwise: `s(best supporting confidence)` when an event
///   at `t` agrees with `d`; else `0.5·(1 − s(best opposing confidence))` when
///   one opposes it; else 0.5.
/// - `mtf_agreement`: for every other timeframe of the same symbol, its last
///   bar that has **closed** at or before this bar's close
///   (`open' + duration' ≤ open + duration`) gives the trend
///   `sign(close' − EMA_trend_period(close'))` (undefined while the EMA is).
///   With `m` defined trends, `a` of them equal to `d` and `z` of them zero:
///   `(a + 0.5·z) / m`; 0.5 and `flag:mtf_unavailable` when `m = 0`.
/// - `regime_confidence`: `0.5·A + 0.5·V`, where
///   `A = clamp((ADX[t] − 15) / 20, 0, 1)` (0.5 and `flag:regime_warmup` while
///   the ADX is undefined) and `V = 1 − |2p − 1|` with `p` the mid-rank
///   percentile of `ATR[t]/close[t]` among the finite values of
///   `ATR[k]/close[k]`, `k ∈ [t − volatility_lookback + 1, t]`:
///   `p = (#below + 0.5·#equal) / #values` (the current value counts as equal).
/// - `volume_confirmation`: `min(1, 0.5·volume[t] / SMA_volume_window(volume)[t])`;
///   0.5 and `flag:volume_unavailable` when the average is undefined or ≤ 0
///   or the volume not finite.
/// - `sentiment_alignment`: `0.5 + 0.5·d·clamp(sentiment[t], −1, 1)`; 0.5 and
///   `flag:sentiment_missing` when there is no sentiment column or the value
///   is not finite.
/// - `correlation_safety`: the other candidates with the same timeframe name
///   and timestamp but another symbol are the concurrent signals. For each,
///   `ρ` is Pearson's correlation of the two symbols' one-bar simple returns
///   over this series' last `correlation_window` bars up to `t`, paired by
///   timestamp (needs ≥ max(3, ⌈window/2⌉) pairs and non-zero variances, else
///   that signal is ignored). `1 − max(0, max d·d'·ρ)`; 1 with no concurrent
///   signals. Concurrency is judged among all candidates, accepted or not
///   (acceptance itself depends on this component).
///
/// A component with nothing to measure (no other timeframe, no volume, no
/// sentiment, no concurrent signal on another symbol:
/// `flag:correlation_unavailable`) keeps its neutral value for display but is
/// left out of the prior.
///
/// ## Quality
/// `quality_prior = Σ wᵢ·cᵢ / Σ wᵢ` over the informative components, summed
/// in ``QualityComponent`` order (0.5 when none is informative).
/// Every signal gets its triple-barrier ``SignalOutcome`` (``OutcomeLabeler``).
/// `quality` is the walk-forward calibrated `P(R > 0)` of ``QualityModel``
/// fitted on signals resolved by the candidate's close (``CalibrationWalk``),
/// or the prior with `flag:calibration_warmup` until `min_history` have resolved;
/// `accepted = quality ≥ quality_threshold`.
///
/// ## No look-ahead
/// Everything at bar `t` reads bars `≤ t` of its own series, bars of other
/// timeframes that closed by `t`'s close, and bars of other symbols with the
/// same timestamp or earlier. So fusing data cut at any time `C` (bars that
/// closed by `C`, forecasts and events cut the same way) gives exactly the
/// same signals for every bar that closed by `C`.
public enum SignalFusion {
    /// Fuses every symbol × timeframe at once.
    ///
    /// - Parameters:
    ///   - inputs: one per symbol × timeframe; each (symbol, timeframe) once.
    ///   - config: the settings; validated first. Default ``FusionConfig/init()``.
    /// - Returns: every candidate as a signal, accepted or not, in input order
    ///   and, within an input, in bar order.
    ///   - checkpoint: called between chunks of work (every series' check,
    ///     every indicator and every 16,384 bars of a series' candidate
    ///     search, every few hundred candidates, every few thousand signals of
    ///     the calibration walk and every step of its fits), so a caller can
    ///     pause or stop the fusion; what it throws ends `fuse`, as is.
    ///     Default: nothing.
    /// - Throws: ``FusionError`` for an invalid config or input, naming the field.
    public static func fuse(
        _ inputs: [FusionInput], config: FusionConfig = FusionConfig(),
        checkpoint: () throws(FusionError) -> Void = {}
    ) throws(FusionError) -> [FusedSignal] {
        try config.validate()
        for (i, input) in inputs.enumerated() {
            try checkpoint()
            try input.validate()
            for other in inputs[..<i] where other.symbol == input.symbol && other.timeframe == input.timeframe {
                throw FusionError(.invalidInput, field: input.field, reason: "appears more than once")
            }
        }
        var states: [SeriesState] = []
        states.reserveCapacity(inputs.count)
        for input in inputs {
            try checkpoint()
            states.append(try SeriesState(input, config: config, checkpoint: checkpoint))
        }
        try markCorrelations(inputs, &states, window: config.correlationWindow, checkpoint: checkpoint)

        let total = states.reduce(0) { $0 + $1.candidates.count }
        var signals: [FusedSignal] = []
        signals.reserveCapacity(total)
        var walk = CalibrationWalk(capacity: total)
        for i in inputs.indices {
            try appendSignals(of: i, inputs, states, config: config, to: &signals, &walk, checkpoint: checkpoint)
        }
        try walk.run(&signals, config: config, checkpoint: checkpoint)
        return signals
    }

    /// Fills `worstCorrelation` of every candidate from the concurrent
    /// candidates of other symbols on the same timeframe.
    static func markCorrelations(
        _ inputs: [FusionInput], _ states: inout [SeriesState], window: Int,
        checkpoint: () throws(FusionError) -> Void = {}
    ) throws(FusionError) {
        for a in inputs.indices {
            var candidates = states[a].candidates
            let returnsA = states[a].returns
            let tsA = inputs[a].timestamps
            for b in inputs.indices
            where b != a
                && inputs[b].timeframe == inputs[a].timeframe && inputs[b].symbol != inputs[a].symbol
            {
                try checkpoint()
                let map = RollingCorrelation.matchIndex(tsA, inputs[b].timestamps)
                var stopped: FusionError?
                let others = states[b].candidates
                let tsB = inputs[b].timestamps
                returnsA.withUnsafeBufferPointer { ra in
                    states[b].returns.withUnsafeBufferPointer { rb in
                        map.withUnsafeBufferPointer { m in
                            var j = 0
                            for c in candidates.indices {
                                if c & 255 == 255 {
                                    do throws(FusionError) { try checkpoint() } catch {
                                        stopped = error
                                        return
                                    }
                                }
                                let t = candidates[c].bar
                                while j < others.count && tsB[others[j].bar] < tsA[t] { j += 1 }
                                guard j < others.count, tsB[others[j].bar] == tsA[t] else { continue }
                                let rho = RollingCorrelation.correlation(ra, rb, map: m, at: t, window: window)
                                guard rho.isFinite else { continue }
                                let exposure = candidates[c].direction * others[j].direction * rho
                                if exposure > candidates[c].worstCorrelation { candidates[c].worstCorrelation = exposure }
                            }
                        }
                    }
                }
                if let stopped { throw stopped }
            }
            states[a].candidates = candidates
        }
    }

    /// Computes the per-bar components of series `i`'s candidates and appends
    /// their signals.
    static func appendSignals(
        of i: Int, _ inputs: [FusionInput], _ states: [SeriesState],
        config: FusionConfig, to signals: inout [FusedSignal], _ walk: inout CalibrationWalk,
        checkpoint: () throws(FusionError) -> Void = {}
    ) throws(FusionError) {
        let input = inputs[i]
        let state = states[i]
        // The symbol's other timeframes, with a pointer to their last closed bar.
        let others = inputs.indices.filter { inputs[$0].symbol == input.symbol && inputs[$0].timeframe != input.timeframe }
        let otherTrends = others.map { states[$0].trend }
        var lastClosed = [Int](repeating: -1, count: others.count)
        let weights = config.weights
        let lookback = config.volatilityLookback
        let forecastSource = "forecast:" + input.forecastName
        let symbolIndex = inputs.firstIndex { $0.symbol == input.symbol } ?? i

        for (n, candidate) in state.candidates.enumerated() {
            if n & 255 == 255 { try checkpoint() }
            let t = candidate.bar
            let d = candidate.direction
            var sources: [String] = []
            if candidate.forecast { sources.append(forecastSource) }
            var k = Int(candidate.supportStart)
            while k < Int(candidate.supportEnd) {
                sources.append("pattern:" + patternName(input.patterns[Int(state.supporting[k])].kind))
                k += 1
            }
            if candidate.patternConflict { sources.append("flag:pattern_conflict") }

            // Multi-timeframe agreement.
            let closeTime = input.closeTime(t)
            var defined = 0, agree = 0, flat = 0
            for (o, other) in others.enumerated() {
                let b = inputs[other]
                var j = lastClosed[o]
                while j + 1 < b.timestamps.count && b.closeTime(j + 1) <= closeTime { j += 1 }
                lastClosed[o] = j
                guard j >= 0 else { continue }
                let trend = otherTrends[o][j]
                guard !trend.isNaN else { continue }
                defined += 1
                if trend == d { agree += 1 } else if trend == 0 { flat += 1 }
            }
            let mtf: Double
            if defined > 0 {
                mtf = (Double(agree) + 0.5 * Double(flat)) / Double(defined)
            } else {
                mtf = QualityFormula.neutral
                sources.append("flag:mtf_unavailable")
            }

            // Regime.
            let adx = state.adx[t]
            let adxScore: Double
            if adx.isFinite {
                adxScore = QualityFormula.adxScore(adx)
            } else {
                adxScore = QualityFormula.neutral
                sources.append("flag:regime_warmup")
            }
            let percentile = volatilityPercentile(atr: state.atr, close: input.close, at: t, lookback: lookback)
            let regime = 0.5 * adxScore + 0.5 * QualityFormula.volatilityScore(percentile: percentile)

            // Volume.
            let average = state.volumeMA[t], volume = input.volume[t]
            let volumeScore: Double
            let volumeKnown = average.isFinite && average > 0 && volume.isFinite
            if volumeKnown {
                volumeScore = QualityFormula.volumeConfirmation(volume: volume, average: average)
            } else {
                volumeScore = QualityFormula.neutral
                sources.append("flag:volume_unavailable")
            }

            // Sentiment.
            let sentimentScore: Double
            var sentimentKnown = false
            if let s = input.sentiment?[t], s.isFinite {
                sentimentKnown = true
                sentimentScore = QualityFormula.sentimentAlignment(s, direction: d)
            } else {
                sentimentScore = QualityFormula.neutral
                sources.append("flag:sentiment_missing")
            }

            let correlationScore = QualityFormula.clamp01(1 - Swift.max(0, candidate.worstCorrelation))
            let correlationKnown = candidate.worstCorrelation > -.infinity
            if !correlationKnown { sources.append("flag:correlation_unavailable") }

            let components = QualityComponents(
                patternStrength: candidate.patternStrength, mtfAgreement: mtf,
                regimeConfidence: regime, volumeConfirmation: volumeScore,
                sentimentAlignment: sentimentScore, correlationSafety: correlationScore)
            // Only informative components enter the mean (weights renormalised over them).
            let mtfKnown = defined > 0
            var num = 0.0, den = 0.0
            for component in QualityComponent.allCases {
                switch component {
                case .mtfAgreement where !mtfKnown, .volumeConfirmation where !volumeKnown,
                    .sentimentAlignment where !sentimentKnown, .correlationSafety where !correlationKnown:
                    continue
                default:
                    num += weights[component] * components[component]
                    den += weights[component]
                }
            }
            let prior = den > 0 ? QualityFormula.clamp01(num / den) : QualityFormula.neutral
            let entry = input.close[t]
            let atr = state.atr[t]
            let stop = entry - d * config.stopATRMultiplier * atr
            let target = entry + d * config.targetATRMultiplier * atr
            let cost = t + 1 < input.open.count ? input.costs.roundTrip(price: input.open[t + 1], atr: atr) : 0
            let outcome = OutcomeLabeler.label(
                bar: t, direction: d, entry: entry, stop: stop, target: target, horizon: config.horizonBars, cost: cost,
                open: input.open, high: input.high, low: input.low, close: input.close, closeTime: input.closeTime)
            var strength = 0.0
            if candidate.forecast {
                strength = Swift.min(5, Swift.max(-5, d * input.predictions[t] * entry / atr))
                if !strength.isFinite { strength = 0 }
            }
            walk.add(
                knownAt: closeTime, group: symbolIndex,
                (
                    1, components.patternStrength - 0.5, mtfKnown ? mtf - 0.5 : 0, regime - 0.5,
                    volumeKnown ? volumeScore - 0.5 : 0, sentimentKnown ? sentimentScore - 0.5 : 0,
                    correlationKnown ? correlationScore - 0.5 : 0, strength
                ))
            signals.append(
                FusedSignal(
                    symbol: input.symbol, timeframe: input.timeframe, timestamp: input.timestamps[t],
                    direction: d > 0 ? .long : .short,
                    entry: entry, stop: stop, target: target,
                    horizonBars: config.horizonBars, quality: prior,
                    accepted: prior >= config.qualityThreshold,
                    components: components, sources: sources, qualityPrior: prior, outcome: outcome))
        }
    }

    /// The mid-rank percentile of `atr[t]/close[t]` among the finite values of
    /// `atr[k]/close[k]` for `k ∈ [t − lookback + 1, t]`.
    static func volatilityPercentile(atr: [Double], close: [Double], at t: Int, lookback: Int) -> Double {
        let current = atr[t] / close[t]
        guard current.isFinite else { return QualityFormula.neutral }
        var below = 0, equal = 0, count = 0
        var k = Swift.max(0, t - lookback + 1)
        while k <= t {
            let v = atr[k] / close[k]
            if v.isFinite {
                count += 1
                if v < current { below += 1 } else if v == current { equal += 1 }
            }
            k += 1
        }
        return (Double(below) + 0.5 * Double(equal)) / Double(count)
    }

    /// The name a pattern has in `sources`: the candlestick feature name
    /// (`cdl_engulfing`) or the chart pattern name (`double_top`).
    static func patternName(_ kind: PatternEvent.Kind) -> String {
        switch kind {
        case .candlestick(let p): p.featureName
        case .chart(let p): p.rawValue
        }
    }
}
