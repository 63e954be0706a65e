import SignalFusion
import Testing

/// A component with no information is left out of the prior, never a constant.
struct RenormalisationTests {
    static func config() -> FusionConfig {
        var c = FusionConfig()
        c.minHistory = 1_000_000  // the prior throughout
        return c
    }

    /// One symbol, one timeframe, no sentiment: the quality is the weighted
    /// mean of pattern strength, regime confidence and (where defined) volume
    /// confirmation, renormalised over their weights.
    @Test func oneSymbolWithoutSentimentIsTheMeanOfTheInformativeComponents() throws {
        let base = MarketFixture.base(symbols: 1, bars: 900, seed: 5)
        var input = MarketFixture.inputs(base)[0]
        input.sentiment = nil
        let config = Self.config()
        let w = config.weights
        let signals = try SignalFusion.fuse([input], config: config)
        #expect(signals.count > 100)
        var withVolume = 0
        for s in signals {
            let c = s.components
            #expect(
                s.sources.contains("flag:sentiment_missing") && s.sources.contains("flag:correlation_unavailable")
                    && s.sources.contains("flag:mtf_unavailable"))
            var num = w.patternStrength * c.patternStrength + w.regimeConfidence * c.regimeConfidence
            var den = w.patternStrength + w.regimeConfidence
            if !s.sources.contains("flag:volume_unavailable") {
                num += w.volumeConfirmation * c.volumeConfirmation
                den += w.volumeConfirmation
                withVolume += 1
            }
            #expect(abs(s.qualityPrior - num / den) < 1e-12)
            #expect(s.quality == s.qualityPrior)
        }
        #expect(withVolume > 0 && withVolume < signals.count)
    }

    /// Dropping the sentiment column or the second symbol leaves the quality
    /// of every signal whose other components are unchanged exactly the
    /// renormalised mean: no fixed offset appears.
    @Test func removingSentimentOrASymbolAddsNoConstant() throws {
        let base = MarketFixture.base(symbols: 2, bars: 900, seed: 9)
        let all = MarketFixture.inputs(base).filter { $0.timeframe == "15m" }
        var noSentiment = all
        for i in noSentiment.indices { noSentiment[i].sentiment = nil }
        let config = Self.config()
        let a = try SignalFusion.fuse(noSentiment, config: config)
        let b = try SignalFusion.fuse([noSentiment[0]], config: config)
        // The one-symbol run: correlation is uninformative, so quality ≠ the two-symbol one + a constant.
        let bySymbol0 = a.filter { $0.symbol == "SYM0" }
        #expect(bySymbol0.count == b.count)
        var differences: Set<Double> = []
        for (x, y) in zip(bySymbol0, b) {
            #expect(x.timestamp == y.timestamp)
            if x.sources.contains("flag:correlation_unavailable") { #expect(x.qualityPrior == y.qualityPrior) }
            differences.insert(((x.qualityPrior - y.qualityPrior) * 1e9).rounded())
        }
        // Before: a constant +0.15·1 from correlation safety on every signal; now no single offset.
        #expect(differences.count > 10)
        #expect(b.allSatisfy { $0.sources.contains("flag:correlation_unavailable") })
    }
}
