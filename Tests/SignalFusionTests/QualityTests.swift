import Indicators
import Patterns
import SignalFusion
import Testing

/// Every fused signal against the documented formulas, recomputed from the raw inputs.
struct QualityTests {
    static let base = MarketFixture.base(symbols: 3, bars: 1600)

    static var config: FusionConfig {
        var c = FusionConfig()
        c.weights = QualityWeights([
            .patternStrength: 0.3, .mtfAgreement: 0.25, .regimeConfidence: 0.1,
            .volumeConfirmation: 0.15, .sentimentAlignment: 0.05, .correlationSafety: 0.15,
        ])
        c.qualityThreshold = 0.6
        return c
    }

    @Test func everySignalMatchesTheDocumentedFormulas() throws {
        let config = Self.config
        let inputs = MarketFixture.inputs(Self.base)
        let signals = try SignalFusion.fuse(inputs, config: config)
        #expect(signals.count > 1000)
        #expect(signals.contains { $0.accepted } && signals.contains { !$0.accepted })

        // The candidate set and directions follow the documented rules.
        var expected: [String] = []
        for input in inputs {
            for c in ReferenceFusion.candidates(input, config: config) {
                expected.append("\(input.symbol) \(input.timeframe) \(input.timestamps[c.bar]) \(c.direction > 0 ? "long" : "short")")
            }
        }
        #expect(signals.map { "\($0.symbol) \($0.timeframe) \($0.timestamp) \($0.direction.rawValue)" } == expected)

        let concurrent = Dictionary(grouping: signals) { "\($0.timeframe) \($0.timestamp)" }
        var seen: Set<String> = []
        // Mismatches are collected and checked once (one expectation per value
        // would make this test slow); the first few are shown.
        var problems: [String] = []
        func check(_ ok: Bool, _ what: @autoclosure () -> String) { if !ok { problems.append(what()) } }
        for signal in signals {
            let input = inputs.first { $0.symbol == signal.symbol && $0.timeframe == signal.timeframe }!
            let t = ReferenceFusion.columns(input, config).index[signal.timestamp]!
            let at = "\(signal.symbol) \(signal.timeframe) bar \(t)"
            let c = signal.components
            for component in QualityComponent.allCases {
                check((0...1).contains(c[component]), "\(at): \(component.rawValue) = \(c[component]) outside [0, 1]")
            }
            check((0...1).contains(signal.quality), "\(at): quality \(signal.quality) outside [0, 1]")
            check(signal.accepted == (signal.quality >= config.qualityThreshold), "\(at): accepted")

            let (reference, flags) = ReferenceFusion.components(
                of: signal, inputs: inputs, concurrent: concurrent["\(signal.timeframe) \(signal.timestamp)"]!, config: config)
            check(
                abs(signal.qualityPrior - ReferenceFusion.quality(c, config.weights, flags: flags)) < 1e-12,
                "\(at): quality_prior ≠ Σwc/Σw over the informative components")
            if signal.sources.contains("flag:calibration_warmup") {
                check(signal.quality == signal.qualityPrior, "\(at): warm-up quality is the prior")
            }
            for component in QualityComponent.allCases {
                check(
                    abs(c[component] - reference[component]) < 1e-9,
                    "\(at): \(component.rawValue) \(c[component]), documented formula \(reference[component])")
            }
            check(
                Set(signal.sources.filter { $0.hasPrefix("flag:") && $0 != "flag:calibration_warmup" }) == flags,
                "\(at): flags \(signal.sources) vs \(flags)")
            seen.formUnion(flags)

            // Levels.
            let atr = ReferenceFusion.columns(input, config).atr[t]
            let d = signal.direction.sign
            check(signal.entry == input.close[t], "\(at): entry")
            check(abs(signal.stop - (input.close[t] - d * 1.5 * atr)) < 1e-12, "\(at): stop")
            check(abs(signal.target - (input.close[t] + d * 3.0 * atr)) < 1e-12, "\(at): target")
            check(signal.horizonBars == 12, "\(at): horizon")
            check(
                signal.sources.contains("forecast:ensemble") == (abs(input.predictions[t]) > config.minForecastMagnitude),
                "\(at): forecast source")
        }
        #expect(problems.isEmpty, "\(problems.count) problems, e.g. \(problems.prefix(5))")
        // The fixture exercises every flag.
        #expect(
            seen == [
                "flag:pattern_conflict", "flag:mtf_unavailable", "flag:regime_warmup",
                "flag:volume_unavailable", "flag:sentiment_missing", "flag:correlation_unavailable",
            ])
        // Calibration took over once enough outcomes had resolved.
        #expect(signals.contains { $0.sources.contains("flag:calibration_warmup") })
        #expect(signals.contains { !$0.sources.contains("flag:calibration_warmup") && $0.quality != $0.qualityPrior })
        // Some signals come from patterns alone, and correlation bites somewhere.
        #expect(signals.contains { !$0.sources.contains("forecast:ensemble") && $0.sources.contains { $0.hasPrefix("pattern:") } })
        #expect(signals.contains { $0.components.correlationSafety < 0.5 })
        #expect(signals.contains { $0.components.correlationSafety == 1 })
    }

    // MARK: - Pattern strength

    /// 40 gently rising bars with ATR defined from bar 2 on.
    static func plainInput(predictions: [Double] = [], patterns: [PatternEvent] = [], sentiment: [Double]? = nil) -> FusionInput {
        let n = 40
        let close = (0..<n).map { 100 + 0.1 * Double($0) }
        return FusionInput(
            symbol: "X", timeframe: "1h", barDurationMicros: 3_600_000_000,
            timestamps: (0..<n).map { Int64($0) * 3_600_000_000 },
            open: close.map { $0 - 0.05 }, high: close.map { $0 + 0.3 }, low: close.map { $0 - 0.3 },
            close: close, volume: [Double](repeating: 100, count: n), sentiment: sentiment,
            predictions: predictions, patterns: patterns)
    }

    static func event(_ direction: PatternDirection, _ confidence: Double, at t: Int) -> PatternEvent {
        PatternEvent(
            kind: .candlestick(direction == .bullish ? .hammer : .shootingStar), direction: direction,
            confidence: confidence, startIndex: t, endIndex: t, confirmedAt: t)
    }

    @Test(arguments: [
        (0.95, 1.0), (0.9, 1.0), (0.8, 0.96), (0.79, 0.79), (0.6, 0.6), (0.5, 0.5), (0.49, 0.245), (0.2, 0.1), (0.0, 0.0),
    ])
    func patternBoostAndPenalty(confidence: Double, strength: Double) throws {
        var config = FusionConfig()
        config.atrPeriod = 2
        let signals = try SignalFusion.fuse([Self.plainInput(patterns: [Self.event(.bullish, confidence, at: 20)])], config: config)
        #expect(signals.count == 1)
        #expect(signals[0].timestamp == 20 * 3_600_000_000 && signals[0].direction == .long)
        #expect(abs(signals[0].components.patternStrength - strength) < 1e-12)
        #expect(signals[0].sources.first == "pattern:cdl_hammer")
    }

    @Test func forecastDecidesAndPatternsScore() throws {
        var config = FusionConfig()
        config.atrPeriod = 2
        var predictions = [Double](repeating: .nan, count: 40)
        predictions[10] = 0.01  // long, with an agreeing pattern
        predictions[20] = 0.01  // long, against a bearish pattern
        predictions[30] = -0.01  // short, no pattern
        predictions[35] = 0.00005  // below min_forecast_magnitude: no candidate
        let patterns = [
            Self.event(.bullish, 0.85, at: 10), Self.event(.bearish, 0.6, at: 10),
            Self.event(.bearish, 0.9, at: 20),
        ]
        let signals = try SignalFusion.fuse([Self.plainInput(predictions: predictions, patterns: patterns)], config: config)
        #expect(signals.map(\.timestamp) == [10, 20, 30].map { Int64($0) * 3_600_000_000 })
        #expect(signals.map(\.direction) == [.long, .long, .short])
        #expect(abs(signals[0].components.patternStrength - 1.0) < 1e-12)  // min(1, 1.2·0.85)
        #expect(
            signals[0].sources == [
                "forecast:ensemble", "pattern:cdl_hammer", "flag:pattern_conflict",
                "flag:mtf_unavailable", "flag:regime_warmup", "flag:volume_unavailable",
                "flag:sentiment_missing", "flag:correlation_unavailable", "flag:calibration_warmup",
            ])
        #expect(abs(signals[1].components.patternStrength - 0.0) < 1e-12)  // 0.5·(1 − min(1, 1.08))
        #expect(signals[1].sources.contains("flag:pattern_conflict"))
        #expect(!signals[1].sources.contains("pattern:cdl_shooting_star"))
        #expect(signals[2].components.patternStrength == 0.5)
        #expect(!signals[2].sources.contains("flag:pattern_conflict"))
    }

    @Test func patternsOnBothSidesWithoutForecast() throws {
        var config = FusionConfig()
        config.atrPeriod = 2
        let patterns = [
            Self.event(.bullish, 0.7, at: 10), Self.event(.bearish, 0.4, at: 10),  // long, 0.7
            Self.event(.bullish, 0.6, at: 15), Self.event(.bearish, 0.6, at: 15),  // tie: nothing
            Self.event(.bearish, 0.3, at: 1),  // before ATR: nothing
        ]
        let signals = try SignalFusion.fuse([Self.plainInput(patterns: patterns)], config: config)
        #expect(signals.count == 1)
        #expect(signals[0].direction == .long && abs(signals[0].components.patternStrength - 0.7) < 1e-12)
        #expect(signals[0].sources.contains("flag:pattern_conflict"))
    }

    // MARK: - Sentiment

    @Test func sentimentAbsentIsNeutralAndFlagged() throws {
        var config = FusionConfig()
        config.atrPeriod = 2
        var predictions = [Double](repeating: .nan, count: 40)
        predictions[30] = 0.01
        predictions[31] = -0.01
        predictions[32] = 0.01
        let absent = try SignalFusion.fuse([Self.plainInput(predictions: predictions)], config: config)
        #expect(absent.count == 3)
        for s in absent {
            #expect(s.components.sentimentAlignment == 0.5)
            #expect(s.sources.contains("flag:sentiment_missing"))
        }
        var sentiment = [Double](repeating: 0.4, count: 40)
        sentiment[32] = .nan
        let present = try SignalFusion.fuse([Self.plainInput(predictions: predictions, sentiment: sentiment)], config: config)
        #expect(abs(present[0].components.sentimentAlignment - 0.7) < 1e-12)  // long: 0.5 + 0.5·0.4
        #expect(abs(present[1].components.sentimentAlignment - 0.3) < 1e-12)  // short: 0.5 − 0.5·0.4
        #expect(!present[0].sources.contains("flag:sentiment_missing"))
        #expect(present[2].components.sentimentAlignment == 0.5 && present[2].sources.contains("flag:sentiment_missing"))
        // Only the sentiment component differs.
        #expect(present[0].components.patternStrength == absent[0].components.patternStrength)
        #expect(present[0].components.regimeConfidence == absent[0].components.regimeConfidence)
    }
}
