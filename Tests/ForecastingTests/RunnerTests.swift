import Forecasting
import Foundation
import Synchronization
import Testing

/// Sleeps without ever checking in.
struct Sleeper: ForecastModel {
    var name: String
    var seconds: Double
    func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries {
        Thread.sleep(forTimeInterval: seconds)
        return ForecastSeries(empty: input.count)
    }
}

struct Failing: ForecastModel {
    struct Boom: Error, CustomStringConvertible { var description: String { "boom: singular matrix" } }
    var name: String { "failing" }
    func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries { throw Boom() }
}

/// Tells the test when the buffer a model holds is freed.
final class Released: Sendable {
    let freed = Atomic<Bool>(false)
    let heldMaxGap = Mutex<Double>(0)

    /// Waits up to `seconds` for the buffer to be freed.
    func waitFreed(seconds: Double = 2) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !freed.load(ordering: .sequentiallyConsistent) && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        return freed.load(ordering: .sequentiallyConsistent)
    }
}

final class Buffer {
    let storage = [Double](repeating: 1, count: 1_000_000)
    let released: Released
    init(_ released: Released) { self.released = released }
    deinit { released.freed.store(true, ordering: .sequentiallyConsistent) }
}

/// Works in small steps for `seconds` (forever when nil), checking in each
/// step, while holding an 8 MB buffer; records the longest gap between steps.
struct Cooperative: ForecastModel {
    var name: String
    var seconds: Double?
    var released: Released
    func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries {
        let buffer = Buffer(released)
        let start = Date()
        var last = Date()
        var step = 0
        while seconds.map({ Date().timeIntervalSince(start) < $0 }) ?? true {
            Thread.sleep(forTimeInterval: 0.005)
            step += 1
            try context.checkpoint(completed: min(step, input.count))
            let gap = Date().timeIntervalSince(last)
            released.heldMaxGap.withLock { $0 = max($0, gap) }
            last = Date()
        }
        _ = buffer.storage.count
        return ForecastSeries(empty: input.count)
    }
}

struct Pause: Error {}

@Suite(.serialized)
struct RunnerTests {
    static let input = Synthetic.mixedInput(count: 3000, seed: 1)

    static func config(model: Double = 30, total: Double = 60) -> ForecastConfig {
        var config = ForecastConfig()
        config.modelTimeoutSeconds = model
        config.totalTimeoutSeconds = total
        config.refitEvery = 250
        return config
    }

    @Test func aSleepingModelTimesOutAndTheOthersGoOn() throws {
        let config = Self.config(model: 0.5, total: 3)
        let start = Date()
        let report = try ForecastRunner(config: config).run(
            Self.input, models: ForecastRunner.models(for: config) + [Sleeper(name: "sleepy", seconds: 5)])
        let wall = Date().timeIntervalSince(start)
        #expect(wall < 3 + 1)
        #expect(wall >= 0.5)
        #expect(report.failures == [ModelFailure(name: "sleepy", kind: .timeout, reason: "timeout after 0.5 s")])
        #expect(report.results.map(\.name) == ["ar", "ridge", "drift", "ensemble"])
        for result in report.results { #expect(result.evaluation.evaluated > 2000, "\(result.name)") }
    }

    @Test func aThrowingModelIsLeftOutWithItsMessage() throws {
        let config = Self.config()
        let report = try ForecastRunner(config: config).run(
            Self.input, models: [ARModel(), Failing(), DriftModel()])
        #expect(report.failures == [ModelFailure(name: "failing", kind: .error, reason: "boom: singular matrix")])
        #expect(report.results.map(\.name) == ["ar", "drift", "ensemble"])
        #expect(report.metrics["models_failed"] == 1)
        #expect(report.metrics["ar.evaluated"] == Double(report.results[0].evaluation.evaluated))
    }

    @Test func ridgeWithoutFeaturesIsLeftOut() throws {
        let input = try ForecastInput(close: Self.input.close)
        let report = try ForecastRunner(config: Self.config()).run(input)
        #expect(report.failures.map(\.name) == ["ridge"])
        #expect(report.failures.first?.reason == "ridge needs at least one feature column")
        #expect(report.results.map(\.name) == ["ar", "drift", "ensemble"])
    }

    @Test func theTotalTimeoutBoundsTheRun() throws {
        let config = Self.config(model: 30, total: 1)
        let start = Date()
        let report = try ForecastRunner(config: config).run(
            Self.input, models: [Sleeper(name: "slow1", seconds: 5), Sleeper(name: "slow2", seconds: 5)])
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(report.results.isEmpty)  // no ensemble of nothing
        #expect(report.failures.map(\.reason) == Array(repeating: "timeout after 1 s (total timeout)", count: 2))
        #expect(report.failures.allSatisfy { $0.kind == .timeout })
    }

    @Test func aTimedOutModelStopsAndReleasesItsMemory() throws {
        let released = Released()
        let config = Self.config(model: 0.3, total: 5)
        let report = try ForecastRunner(config: config).run(
            Self.input, models: [Cooperative(name: "forever", seconds: nil, released: released), DriftModel()])
        #expect(report.failures.map(\.reason) == ["timeout after 0.3 s"])
        #expect(report.results.map(\.name) == ["drift"])  // one model: no ensemble
        #expect(released.waitFreed())
    }

    /// The engine's checkpoint parks 1.5 s (a pause): the models are held at
    /// their checkpoints meanwhile, and the pause does not count toward the
    /// 0.8 s model timeout.
    @Test func aPauseHoldsTheModelsAndStopsTheClock() throws {
        let released = Released()
        let calls = Mutex(0)
        let config = Self.config(model: 0.8, total: 1)
        let start = Date()
        let report = try ForecastRunner(config: config).run(
            Self.input, models: [Cooperative(name: "steady", seconds: 0.3, released: released)],
            checkpoint: {
                let call = calls.withLock { c in
                    c += 1; return c
                }
                if call == 3 { Thread.sleep(forTimeInterval: 1.5) }
            })
        #expect(Date().timeIntervalSince(start) >= 1.5)
        #expect(report.failures.isEmpty)
        #expect(report.results.map(\.name) == ["steady"])
        #expect(released.heldMaxGap.withLock { $0 } > 1.2)
    }

    @Test func aCancellingCheckpointStopsTheRun() throws {
        let released = Released()
        let start = Date()
        #expect(throws: Pause.self) {
            try ForecastRunner(config: Self.config()).run(
                Self.input, models: [Cooperative(name: "forever", seconds: nil, released: released)],
                checkpoint: { if Date().timeIntervalSince(start) > 0.2 { throw Pause() } })
        }
        #expect(Date().timeIntervalSince(start) < 1)
        #expect(released.waitFreed())
    }

    @Test func progressIsMonotonicAndEndsAtTotal() throws {
        let released = Released()
        var seen: [(Int, Int)] = []
        _ = try ForecastRunner(config: Self.config()).run(
            Self.input, models: [ARModel(), Cooperative(name: "steady", seconds: 0.2, released: released)],
            progress: { seen.append(($0, $1)) })
        #expect(seen.count >= 2)
        #expect(seen.allSatisfy { $0.1 == 2 * Self.input.count })
        #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.0 <= $1.0 })
        #expect(seen.last.map { $0.0 == $0.1 } == true)
    }

    @Test func malformedOutputIsAFailure() throws {
        struct Short: ForecastModel {
            var name: String { "short" }
            func forecast(_ input: ForecastInput, context: ForecastContext) throws -> ForecastSeries { ForecastSeries(empty: 3) }
        }
        let report = try ForecastRunner(config: Self.config()).run(Self.input, models: [Short()])
        #expect(report.failures.first?.reason == "returned 3 predictions and 3 confidences for 3000 bars")
    }

    @Test func clashingNamesAndBadConfigAreRejected() throws {
        #expect(throws: ForecastError.self) {
            try ForecastRunner(config: Self.config()).run(Self.input, models: [ARModel(), ARModel(order: 2)])
        }
        var config = Self.config()
        config.horizonBars = 0
        #expect { try ForecastRunner(config: config).run(Self.input) } throws: { error in
            (error as? ForecastError)?.field == "forecast.horizon_bars"
        }
        #expect(throws: ForecastError.self) { try ForecastInput(close: [1, 2, 3], features: [[1, 2]]) }
    }

    /// 35,000 bars (a year of 15-minute bars), 8 features, the default models.
    @Test func aYearOfFifteenMinuteBars() throws {
        let base = Synthetic.mixedInput(count: 35_000, seed: 8)
        let features = base.features + base.features.map { $0.map { $0 * 2 + 1 } } + [base.features[0], base.features[1]]
        let input = try ForecastInput(close: base.close, features: features)
        let start = Date()
        let report = try ForecastRunner(config: ForecastConfig()).run(input)
        let wall = Date().timeIntervalSince(start)
        #expect(report.failures.isEmpty)
        #expect(report.results.count == 4)
        for result in report.results {
            #expect(result.evaluation.evaluated > 30_000, "\(result.name)")
            #expect((0.3...0.7).contains(result.evaluation.directionalAccuracy), "\(result.name)")
        }
        #expect(wall < 20)  // debug build on a shared machine; release is far faster
        print(
            "forecast: 35,000 bars × 8 features: \(String(format: "%.3f", wall)) s",
            report.results.map { "\($0.name) \(String(format: "%.3f", $0.seconds)) s" })
    }
}
