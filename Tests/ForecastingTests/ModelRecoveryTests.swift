import Foundation
import Testing

@testable import Forecasting

struct ModelRecoveryTests {
    @Test func arEstimateRecoversAR2Coefficients() throws {
        let (_, r) = Synthetic.arPrices(count: 20_000, c: 0.0002, phi: [0.5, -0.3], sigma: 0.001, seed: 7)
        let fit = try #require(ARModel.estimate(returns: r, order: 2))
        #expect(abs(fit.coefficients[0] - 0.5) < 0.03)
        #expect(abs(fit.coefficients[1] + 0.3) < 0.03)
        #expect(abs(fit.intercept - 0.0002) < 0.00005)
        // An over-specified order finds the extra lags near zero.
        let fit4 = try #require(ARModel.estimate(returns: r, order: 4))
        #expect(abs(fit4.coefficients[2]) < 0.03 && abs(fit4.coefficients[3]) < 0.03)
    }

    /// Walk-forward with h = 1: late predictions match the true conditional
    /// mean c + φ₁r[t] + φ₂r[t−1], and the sign is right about 66 % of the time
    /// (the theoretical rate for this process), far above a coin.
    @Test func arModelPredictsTheConditionalMean() throws {
        let c = 0.0002, phi = [0.5, -0.3]
        let (close, r) = Synthetic.arPrices(count: 20_000, c: c, phi: phi, sigma: 0.001, seed: 11)
        var config = ForecastConfig()
        config.horizonBars = 1
        config.refitEvery = 1000
        config.minTrain = 200
        let series = try ARModel(order: 2).forecast(try ForecastInput(close: close), context: ForecastContext(config: config))
        #expect(series.predictions[..<202].allSatisfy { $0.isNaN })  // min_train samples first
        var diff = 0.0
        for t in 19_000..<20_000 {
            diff += abs(series.predictions[t] - (c + phi[0] * r[t] + phi[1] * r[t - 1]))
        }
        #expect(diff / 1000 < 0.0001)
        let e = ForecastEvaluation.evaluate(predictions: series.predictions, realized: LogReturns.forward(close, horizon: 1))
        #expect(e.evaluated > 19_000)
        #expect(e.directionalAccuracy > 0.6)
        #expect(series.confidence.allSatisfy { $0.isNaN || (0...1).contains($0) })
    }

    /// The h-step forecast is the sum of the iterated one-step forecasts.
    @Test func arMultiStepForecastIteratesTheRecursion() throws {
        let (close, r) = Synthetic.arPrices(count: 6000, c: 0.0001, phi: [0.6], sigma: 0.001, seed: 3)
        var config = ForecastConfig()
        config.horizonBars = 4
        config.refitEvery = 100_000  // one fit, at the first bar with min_train samples
        let series = try ARModel(order: 1).forecast(try ForecastInput(close: close), context: ForecastContext(config: config))
        // Refit at the first bar where 100 samples are known: bar 101 (samples s = 2…101).
        let fit = try #require(ARModel.estimate(returns: Array(r[...101]), order: 1))
        for t in [500, 3000, 5999] {
            var last = r[t], total = 0.0
            for _ in 0..<4 {
                last = fit.intercept + fit.coefficients[0] * last
                total += last
            }
            #expect(abs(series.predictions[t] - total) < 1e-15)
        }
        #expect(series.predictions[100].isNaN && !series.predictions[101].isNaN)
    }

    /// The next return is linear in the features at t (one with a large mean,
    /// one irrelevant); ridge recovers the coefficients, and the walk-forward
    /// model predicts the true conditional mean. NaN rows get no prediction.
    @Test func ridgeRecoversALinearRelation() throws {
        let n = 6000
        var rng = SeededRandom(seed: 5)
        var x1 = (0..<n).map { _ in rng.normal() }
        let x2 = (0..<n).map { _ in rng.normal() }
        let x3 = (0..<n).map { _ in rng.normal() }
        let level = (0..<n).map { _ in 100 + 0.01 * rng.normal() }
        func truth(_ t: Int) -> Double { 0.001 * x1[t] - 0.0005 * x2[t] + 0.02 * (level[t] - 100) }
        var r = [Double](repeating: .nan, count: n)
        for t in 1..<n { r[t] = truth(t - 1) + 0.0003 * rng.normal() }
        let close = Synthetic.prices(from: r)
        for t in 0..<40 { x1[t] = .nan }  // an indicator's lookback

        let fit = try #require(RidgeModel.fit(features: [x1, x2, x3, level], targets: LogReturns.forward(close, horizon: 1), lambda: 1))
        #expect(fit.samples == n - 1 - 40)
        #expect(abs(fit.coefficients[0] - 0.001) < 0.00003)
        #expect(abs(fit.coefficients[1] + 0.0005) < 0.00003)
        #expect(abs(fit.coefficients[2]) < 0.00003)
        #expect(abs(fit.coefficients[3] - 0.02) < 0.001)

        var config = ForecastConfig()
        config.horizonBars = 1
        let input = try ForecastInput(close: close, features: [x1, x2, x3, level])
        let series = try RidgeModel(lambda: 1).forecast(input, context: ForecastContext(config: config))
        #expect(series.predictions[..<40].allSatisfy { $0.isNaN } && series.confidence[..<40].allSatisfy { $0.isNaN })
        var diff = 0.0
        for t in (n - 1000)..<n { diff += abs(series.predictions[t] - truth(t)) }
        #expect(diff / 1000 < 0.00005)  // signal ≈ 0.0011 per bar, noise 0.0003
        let e = ForecastEvaluation.evaluate(predictions: series.predictions, realized: LogReturns.forward(close, horizon: 1))
        #expect(e.directionalAccuracy > 0.85)
    }

    /// A heavy ridge penalty shrinks the coefficients toward zero.
    @Test func ridgePenaltyShrinks() throws {
        var rng = SeededRandom(seed: 9)
        let x = (0..<500).map { _ in rng.normal() }
        let y = x.map { 0.01 * $0 + 0.001 * rng.normal() }
        let loose = try #require(RidgeModel.fit(features: [x], targets: y, lambda: 0))
        let tight = try #require(RidgeModel.fit(features: [x], targets: y, lambda: 500))
        #expect(abs(loose.coefficients[0] - 0.01) < 0.0005)
        // With standardized x (Σz² = 500), λ = 500 halves the coefficient.
        #expect(abs(tight.coefficients[0] / loose.coefficients[0] - 0.5) < 0.01)
    }

    @Test func ridgeWithoutFeaturesFails() throws {
        let input = try ForecastInput(close: [Double](repeating: 100, count: 50))
        #expect(throws: ForecastError.self) { try RidgeModel().forecast(input, context: ForecastContext()) }
    }

    /// close = exp(μt + ε): the drift prediction is h·μ, and always long.
    @Test func driftOnAConstantDriftSeries() throws {
        let n = 3000, mu = 0.0003
        var rng = SeededRandom(seed: 21)
        let close = (0..<n).map { t in 100 * exp(mu * Double(t) + 0.0005 * rng.normal()) }
        let series = try DriftModel(span: 100).forecast(try ForecastInput(close: close), context: ForecastContext())
        #expect(series.predictions[..<100].allSatisfy { $0.isNaN })  // min_train returns first
        for t in 200..<n { #expect(abs(series.predictions[t] - 12 * mu) < 0.15 * 12 * mu) }
        let e = ForecastEvaluation.evaluate(predictions: series.predictions, realized: LogReturns.forward(close, horizon: 12))
        #expect(e.directionalAccuracy > 0.99)
        #expect(series.confidence[n - 1] > 0.9)  // prediction ≫ its realized error
    }

    /// Exact drift: every return is μ, so the prediction is h·μ to rounding.
    @Test func driftOnAnExactExponential() throws {
        let close = (0..<400).map { 50 * exp(0.001 * Double($0)) }
        let series = try DriftModel(span: 20).forecast(try ForecastInput(close: close), context: ForecastContext())
        #expect(abs(series.predictions[399] - 0.012) < 1e-12)
    }

    @Test func choleskySolvesASmallSystem() {
        // A = [[4, 2], [2, 3]], b = [2, 1] → z = [0.5, 0].
        let a = UnsafeMutablePointer<Double>.allocate(capacity: 4)
        let b = UnsafeMutablePointer<Double>.allocate(capacity: 2)
        defer { a.deallocate(); b.deallocate() }
        a.initialize(from: [4, 2, 2, 3], count: 4)
        b.initialize(from: [2, 1], count: 2)
        #expect(LeastSquares.choleskySolve(a, b, 2))
        #expect(abs(b[0] - 0.5) < 1e-15 && abs(b[1]) < 1e-15)
        a.update(from: [1, 2, 2, 1], count: 4)  // indefinite
        #expect(!LeastSquares.choleskySolve(a, b, 2))
    }
}
