import Foundation
import Patterns
import SignalFusion
import Testing

/// The fusion config: defaults, JSON, validation errors that name the field.
struct FusionConfigTests {
    static func decode(_ json: String) throws -> FusionConfig {
        try JSONDecoder().decode(FusionConfig.self, from: Data(json.utf8))
    }

    static func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    @Test func defaults() throws {
        let c = FusionConfig()
        #expect(c.qualityThreshold == 0.65)
        #expect(c.stopATRMultiplier == 1.5 && c.targetATRMultiplier == 3.0)
        #expect(c.horizonBars == 12 && c.volumeWindow == 20 && c.correlationWindow == 50 && c.volatilityLookback == 100)
        let sum = QualityComponent.allCases.map { c.weights[$0] }.reduce(0, +)
        #expect(abs(sum - 1) < 1e-12)
        try c.validate()
        #expect(try Self.decode("{}") == c)
    }

    @Test func jsonRoundTripWithSnakeCaseKeys() throws {
        let c = try Self.decode(
            """
            {"quality_threshold": 0.7, "horizon_bars": 6, "weights": {"pattern_strength": 2, "correlation_safety": 0}}
            """)
        #expect(c.qualityThreshold == 0.7 && c.horizonBars == 6)
        #expect(c.weights.patternStrength == 2 && c.weights.correlationSafety == 0)
        #expect(c.weights.mtfAgreement == 0.2)  // not named: keeps its default
        let data = try JSONEncoder().encode(c)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        #expect(object["quality_threshold"] as? Double == 0.7)
        #expect((object["weights"] as? [String: Any])?["pattern_strength"] as? Double == 2)
        #expect(try JSONDecoder().decode(FusionConfig.self, from: data) == c)
    }

    @Test func weightErrorsNameTheField() {
        var c = FusionConfig()
        c.weights.patternStrength = -0.1
        #expect(Self.message { try c.validate() } == "fusion.weights.pattern_strength: must be ≥ 0")
        c = FusionConfig()
        c.weights.volumeConfirmation = .nan
        #expect(Self.message { try c.validate() } == "fusion.weights.volume_confirmation: must be a finite number")
        c = FusionConfig()
        c.weights = QualityWeights(Dictionary(uniqueKeysWithValues: QualityComponent.allCases.map { ($0, 0.0) }))
        #expect(Self.message { try c.validate() } == "fusion.weights: must not all be zero")
        #expect(
            Self.message { _ = try Self.decode(#"{"weights": {"sentiment_alignment": -1}}"#) }
                == "fusion.weights.sentiment_alignment: must be ≥ 0")
        #expect(
            Self.message { _ = try Self.decode(#"{"weights": {"momentum": 1}}"#) }?
                .hasPrefix("fusion.weights.momentum: unknown component") == true)
        #expect(
            Self.message { _ = try Self.decode(#"{"weights": {"mtf_agreement": "high"}}"#) }
                == "fusion.weights.mtf_agreement: must be a number")
    }

    @Test func otherErrorsNameTheField() {
        #expect(Self.message { _ = try Self.decode(#"{"quality_threshold": 1.5}"#) } == "fusion.quality_threshold: must be in [0, 1]")
        #expect(Self.message { _ = try Self.decode(#"{"horizon_bars": 0}"#) } == "fusion.horizon_bars: must be ≥ 1")
        #expect(Self.message { _ = try Self.decode(#"{"horizon_bars": 1.5}"#) } == "fusion.horizon_bars: must be an integer")
        #expect(Self.message { _ = try Self.decode(#"{"stop_atr_multiplier": 0}"#) } == "fusion.stop_atr_multiplier: must be > 0")
        #expect(Self.message { _ = try Self.decode(#"{"quality_treshold": 0.5}"#) } == "fusion.quality_treshold: unknown member")
        #expect(Self.message { _ = try Self.decode(#"{"correlation_window": 2}"#) } == "fusion.correlation_window: must be ≥ 3")
        // fuse validates too.
        var c = FusionConfig()
        c.weights.regimeConfidence = -1
        #expect(Self.message { _ = try SignalFusion.fuse([], config: c) } == "fusion.weights.regime_confidence: must be ≥ 0")
    }

    @Test func inputErrorsNameTheColumn() {
        let good = QualityTests.plainInput()
        var bad = good
        bad.volume.removeLast()
        #expect(Self.message { _ = try SignalFusion.fuse([bad]) } == "fusion.inputs[X 1h].volume: has 39 values for 40 bars")
        bad = good
        bad.timestamps[5] = bad.timestamps[4]
        #expect(Self.message { _ = try SignalFusion.fuse([bad]) } == "fusion.inputs[X 1h].timestamps: not strictly increasing at bar 5")
        #expect(Self.message { _ = try SignalFusion.fuse([good, good]) } == "fusion.inputs[X 1h]: appears more than once")
        bad = good
        bad.patterns = [QualityTests.event(.bullish, 0.5, at: 40)]
        #expect(Self.message { _ = try SignalFusion.fuse([bad]) } == "fusion.inputs[X 1h].patterns[0]: bar 40 is outside 0..<40")
    }

    @Test func signalJSONShape() throws {
        var predictions = [Double](repeating: .nan, count: 40)
        predictions[30] = 0.01
        let signal = try #require(try SignalFusion.fuse([QualityTests.plainInput(predictions: predictions)]).first)
        let object = try JSONSerialization.jsonObject(with: JSONEncoder().encode(signal)) as! [String: Any]
        #expect(
            Set(object.keys) == [
                "symbol", "timeframe", "timestamp", "direction", "entry", "stop", "target",
                "horizon_bars", "quality", "accepted", "components", "sources", "quality_prior", "outcome",
            ])
        #expect(Set((object["components"] as! [String: Any]).keys) == Set(QualityComponent.allCases.map(\.rawValue)))
        #expect(object["direction"] as? String == "long")
        #expect(try JSONDecoder().decode(FusedSignal.self, from: JSONEncoder().encode(signal)) == signal)
    }
}
