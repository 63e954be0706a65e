import Forecasting
import Foundation
import Testing

struct ConfigTests {
    @Test func defaults() throws {
        let config = try ForecastConfig.decode(json: Data("{}".utf8))
        #expect(config == ForecastConfig())
        #expect(config.models == ["ar", "ridge", "drift"])
        #expect(config.horizonBars == 12 && config.refitEvery == 500 && config.window == .expanding)
        #expect(config.modelTimeoutSeconds == 30 && config.totalTimeoutSeconds == 60)
        #expect(config.arOrder == 5 && config.ridgeLambda == 1 && config.driftSpan == 100 && config.minTrain == 100)
    }

    @Test func decodesSnakeCaseKeys() throws {
        let json = """
            {"models": ["drift", "ar", "ar", "ensemble"], "horizon_bars": 4, "model_timeout_s": 2.5,
             "total_timeout_s": 10, "refit_every": 50, "window": 800, "ar_order": 2, "ridge_lambda": 0.5,
             "drift_span": 20, "min_train": 60}
            """
        let config = try ForecastConfig.decode(json: Data(json.utf8))
        #expect(config.models == ["drift", "ar", "ensemble"])
        #expect(config.horizonBars == 4 && config.modelTimeoutSeconds == 2.5 && config.totalTimeoutSeconds == 10)
        #expect(config.refitEvery == 50 && config.window == .rolling(bars: 800))
        #expect(config.arOrder == 2 && config.ridgeLambda == 0.5 && config.driftSpan == 20 && config.minTrain == 60)
        #expect(ForecastRunner.models(for: config).map(\.name) == ["drift", "ar"])
        let expanding = try ForecastConfig.decode(json: Data(#"{"window": "expanding"}"#.utf8))
        #expect(expanding.window == .expanding)
        // Round trip.
        let again = try JSONDecoder().decode(ForecastConfig.self, from: JSONEncoder().encode(config))
        #expect(again == config)
    }

    @Test(
        arguments: [
            (#"{"horizon_bars": 0}"#, "forecast.horizon_bars", "must be ≥ 1"),
            (#"{"horizon_bars": "twelve"}"#, "forecast.horizon_bars", "expected an integer"),
            (#"{"window": "weekly"}"#, "forecast.window", nil),
            (#"{"window": 50}"#, "forecast.window", nil),
            (#"{"window": -5}"#, "forecast.window", nil),
            (#"{"models": ["ar", "lstm"]}"#, "forecast.models", "'lstm' is not one of ar, ridge, drift, ensemble"),
            (#"{"models": []}"#, "forecast.models", nil),
            (#"{"models": ["ensemble"]}"#, "forecast.models", nil),
            (#"{"models": ["ar", 3]}"#, "forecast.models[1]", nil),
            (#"{"model_timeout_s": 0}"#, "forecast.model_timeout_s", nil),
            (#"{"total_timeout_s": -1}"#, "forecast.total_timeout_s", nil),
            (#"{"refit_every": 0}"#, "forecast.refit_every", nil),
            (#"{"ar_order": 0}"#, "forecast.ar_order", "must be between 1 and 50"),
            (#"{"ridge_lambda": -0.1}"#, "forecast.ridge_lambda", nil),
            (#"{"drift_span": 0}"#, "forecast.drift_span", nil),
            (#"{"min_train": 1}"#, "forecast.min_train", nil),
            (#"[1, 2]"#, "forecast", nil),
        ] as [(String, String, String?)])
    func invalidValuesNameTheField(json: String, field: String, reason: String?) {
        do {
            _ = try ForecastConfig.decode(json: Data(json.utf8))
            Issue.record("\(json) was accepted")
        } catch {
            #expect(error.code == .invalidConfig)
            #expect(error.field == field, "\(json): \(error)")
            #expect(error.description.hasPrefix("\(field): "))
            if let reason { #expect(error.reason == reason) }
        }
    }
}
