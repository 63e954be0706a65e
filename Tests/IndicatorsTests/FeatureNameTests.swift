import Indicators
import Testing

struct FeatureNameTests {
    @Test func standardNames() {
        #expect(FeatureName.standardize("SMA_20") == "sma_20")
        #expect(FeatureName.standardize("sma-20") == "sma_20")
        #expect(FeatureName.standardize(" Sma 20 ") == "sma_20")
        #expect(FeatureName.standardize("macdHist") == "macd_hist")
        #expect(FeatureName.standardize("BB.Upper(20)") == "bb_upper_20")
        #expect(FeatureName.standardize("stoch_k") == "stoch_k")
        #expect(FeatureName.sma(20) == "sma_20" && FeatureName.ema(50) == "ema_50")
        #expect(FeatureName.rsi(14) == "rsi_14" && FeatureName.atr(14) == "atr_14" && FeatureName.adx(14) == "adx_14")
        #expect(FeatureName.bollinger(20) == ("bb_upper_20", "bb_middle_20", "bb_lower_20"))
        #expect(FeatureName.macd == ("macd", "macd_signal", "macd_hist"))
        #expect(FeatureName.stochastic == ("stoch_k", "stoch_d"))
    }

    @Test func tableStandardizes() throws {
        #expect(try FeatureName.standardize(["SMA_20", "RSI-14", "macd"]) == ["sma_20", "rsi_14", "macd"])
    }

    @Test func clashIsATypedErrorNamingBoth() {
        #expect(throws: FeatureNameClash(first: "SMA_20", second: "sma_20", standardized: "sma_20")) {
            try FeatureName.standardize(["close", "SMA_20", "sma_20"])
        }
        do {
            _ = try FeatureName.standardize(["Ema 50", "EMA_50"])
            Issue.record("expected a clash")
        } catch {
            #expect(error.description.contains("\"Ema 50\"") && error.description.contains("\"EMA_50\""))
        }
    }
}
