import Forecasting
import Foundation
import Testing

/// Cutting the series after bar t must leave every prediction and confidence
/// at bars ≤ t unchanged (bit for bit), for every model and the ensemble.
struct NoLookAheadTests {
    static let n = 2200

    static func config(window: TrainingWindow) -> ForecastConfig {
        var config = ForecastConfig()
        config.horizonBars = 12
        config.refitEvery = 150
        config.minTrain = 100
        config.window = window
        config.arOrder = 3
        return config
    }

    /// Edges (first fits, refits, the bad close at 1000, the last bars) and a spread.
    static var cuts: [Int] {
        var cuts = [
            0, 1, 2, 11, 12, 13, 40, 100, 101, 102, 112, 113, 114, 120, 130, 250, 251, 252, 263, 264, 999, 1000, 1001, 1012, 1013, n - 2,
        ]
        var rng = SeededRandom(seed: 99)
        for _ in 0..<14 { cuts.append(Int(rng.next() % UInt64(n - 1))) }
        return cuts
    }

    static let windows: [TrainingWindow] = [.expanding, .rolling(bars: 300)]

    @Test(arguments: windows)
    func everyModel(window: TrainingWindow) throws {
        let input = Synthetic.mixedInput(count: Self.n, seed: 42)
        let context = ForecastContext(config: Self.config(window: window))
        let models: [any ForecastModel] = [ARModel(order: 3), RidgeModel(lambda: 1), DriftModel(span: 50)]
        for model in models {
            let full = try model.forecast(input, context: context)
            // Not vacuous: most bars have a prediction.
            #expect(full.predictions.filter(\.isFinite).count > Self.n / 2, "\(model.name)")
            for t in Self.cuts {
                let cut = try model.forecast(input.prefix(t + 1), context: context)
                #expect(cut.predictions.count == t + 1)
                let differs = firstDifference(full, cut, through: t)
                #expect(differs == nil, "\(model.name) differs at bar \(differs ?? -1) when cut after \(t)")
            }
        }
    }

    /// Through the runner (threads, evaluation, ensemble).
    @Test(arguments: windows)
    func runnerAndEnsemble(window: TrainingWindow) throws {
        let input = Synthetic.mixedInput(count: Self.n, seed: 43)
        let runner = ForecastRunner(config: Self.config(window: window))
        let full = try runner.run(input)
        #expect(full.failures.isEmpty)
        #expect(full.results.map(\.name) == ["ar", "ridge", "drift", "ensemble"])
        let ensemble = try #require(full.result(named: "ensemble"))
        #expect(ensemble.predictions.filter(\.isFinite).count > Self.n / 2)
        for t in Self.cuts where t % 2 == 0 || t > 1000 {
            let cut = try runner.run(input.prefix(t + 1))
            for result in full.results {
                let other = try #require(cut.result(named: result.name))
                let differs = firstDifference(result.series, other.series, through: t)
                #expect(differs == nil, "\(result.name) differs at bar \(differs ?? -1) when cut after \(t)")
            }
        }
    }

    /// The ensemble's combiner on its own, with members that start late.
    @Test func ensembleCombiner() throws {
        let input = Synthetic.mixedInput(count: 1500, seed: 44)
        let context = ForecastContext(config: Self.config(window: .expanding))
        let models: [any ForecastModel] = [ARModel(order: 2), DriftModel(span: 30)]
        let members = try models.map { model in try model.forecast(input, context: context) }
        let full = try EnsembleModel().combine(members, input: input, context: context)
        for t in stride(from: 0, to: 1499, by: 37) {
            let cutInput = input.prefix(t + 1)
            let cutMembers = members.map {
                ForecastSeries(predictions: Array($0.predictions[...t]), confidence: Array($0.confidence[...t]))
            }
            let cut = try EnsembleModel().combine(cutMembers, input: cutInput, context: context)
            #expect(firstDifference(full, cut, through: t) == nil, "cut after \(t)")
        }
    }

    /// The property test can fail: a model that peeks at the next close is caught.
    @Test func aPeekingModelIsCaught() throws {
        struct Peeking: ForecastModel {
            var name: String { "peeking" }
            func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries {
                let c = input.close
                let p = c.indices.map { t in t + 1 < c.count ? log(c[t + 1] / c[t]) : .nan }
                return ForecastSeries(predictions: p, confidence: p.map { $0.isNaN ? .nan : 1 })
            }
        }
        let input = Synthetic.mixedInput(count: 300, seed: 45)
        let full = try Peeking().forecast(input, context: ForecastContext())
        let cut = try Peeking().forecast(input.prefix(151), context: ForecastContext())
        #expect(firstDifference(full, cut, through: 150) == 150)
    }
}
