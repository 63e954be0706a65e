import Dispatch
import Foundation
import Synchronization

/// Runs forecasting models in parallel, one thread each, with a per-model and
/// a total timeout, then combines the ones that succeeded into the ensemble.
///
/// - Threads: each model runs on a `Foundation.Thread` the runner starts (never
///   Swift's cooperative pool: the models are CPU-bound and may block). The
///   caller's thread waits, enforces the timeouts, calls `checkpoint` and
///   `progress`, and runs the ensemble.
/// - Failures: a model that throws is left out with the error's text as the
///   reason; one still running at its timeout is left out with
///   `timeout after <s> s` (or `timeout after <s> s (total timeout)`). The
///   others go on.
/// - Stopping: a model left out is told to stop; it throws at its next
///   ``ForecastContext/checkpoint(completed:)``, its thread ends and its memory
///   is released. The runner never joins it: a model that never checks in is
///   abandoned (its thread runs on until `forecast` returns, and its result is
///   dropped), so `run` returns within a tick (20 ms) of the total timeout.
/// - Pause and cancel: the engine's `checkpoint` is called on the caller's
///   thread (every tick). While it is inside, the models are held at their
///   next checkpoint. With `worker` (the engine's pause gate), every model
///   thread is enrolled as a worker of its own and parks at its next
///   checkpoint too, so the gate reports parked only once no model computes.
///   Paused time counts toward neither timeout: with `suspendedTime` (the
///   gate's clock of parked and otherwise suspended time, e.g. waiting for
///   PostgreSQL) the timeouts run on wall time minus it; without, minus the
///   time spent inside `checkpoint`. If `checkpoint` throws (cancelled),
///   every model is told to stop and `run` rethrows.
/// - Logging: the runner has no logger; the caller logs
///   ``ForecastReport/failures``.
public struct ForecastRunner: Sendable {
    /// How often the waiting thread wakes to check timeouts, call the
    /// checkpoint and report progress.
    static let tick = 0.02

    /// The configuration: timeouts, horizon, walk-forward schedule, models.
    public var config: ForecastConfig

    /// Creates a runner.
    /// - Parameter config: the configuration. Default ``ForecastConfig/init()``.
    public init(config: ForecastConfig = ForecastConfig()) { self.config = config }

    /// The built-in models `config.models` names, with their parameters from
    /// `config` (`ar_order`, `ridge_lambda`, `drift_span`); `"ensemble"` is
    /// skipped (the runner adds it).
    public static func models(for config: ForecastConfig) -> [any ForecastModel] {
        config.models.compactMap { name -> (any ForecastModel)? in
            switch name {
            case "ar": return ARModel(order: config.arOrder)
            case "ridge": return RidgeModel(lambda: config.ridgeLambda)
            case "drift": return DriftModel(span: config.driftSpan)
            default: return nil
            }
        }
    }

    /// Runs the models on `input` and returns the results and failures.
    ///
    /// - Parameters:
    ///   - input: the close and feature columns of one symbol and timeframe.
    ///   - models: the models to run; default (nil) the built-in models of
    ///     `config.models`. Names must be unique and not `ensemble`.
    ///   - progress: called on the caller's thread with (units done, units
    ///     total), a unit being one bar of one model (the ensemble is not
    ///     counted); last with done == total. Default: nothing.
    ///   - checkpoint: the engine's checkpoint, called on the caller's thread
    ///     every tick (20 ms): it may park (pause) or throw (cancel). Default: nothing.
    ///   - worker: enrolls one model thread with the engine's pause gate; called
    ///     on the caller's thread once per model before its thread starts.
    ///     Default (nil): models are held only while `checkpoint` runs.
    ///   - suspendedTime: the engine's suspended time so far (monotonic);
    ///     its growth during the run is left out of the timeouts.
    /// - Returns: the successful models in order, then the ensemble when at
    ///   least two succeeded; the failures in order.
    /// - Throws: ``ForecastError`` (`.invalidConfig`) when `config` is invalid
    ///   or model names clash; whatever `checkpoint` throws, as is.
    public func run(
        _ input: ForecastInput,
        models: [any ForecastModel]? = nil,
        progress: (_ done: Int, _ total: Int) -> Void = { _, _ in },
        checkpoint: () throws -> Void = {},
        worker: (() -> ModelWorker)? = nil,
        suspendedTime: (() -> Duration)? = nil
    ) throws -> ForecastReport {
        try config.validate()
        let models = models ?? Self.models(for: config)
        var names = Set<String>()
        for model in models {
            guard model.name != EnsembleModel.name else {
                throw ForecastError(.invalidConfig, field: "models", "the name 'ensemble' is reserved")
            }
            guard names.insert(model.name).inserted else {
                throw ForecastError(.invalidConfig, field: "models", "two models are named '\(model.name)'")
            }
        }

        let clock = ContinuousClock()
        let start = clock.now
        let n = input.count
        let realized = LogReturns.forward(input.close, horizon: config.horizonBars)
        let gate = RunGate()
        let finished = DispatchSemaphore(value: 0)
        let slots = models.map { Slot(name: $0.name) }
        let suspendedAtStart = suspendedTime?() ?? .zero
        var workers: [ModelWorker] = []
        // Model threads still enrolled when `run` returns (abandoned after a
        // timeout, or cancelled) withdraw so they never hold a pause.
        defer { for w in workers { w.leave() } }
        for (model, slot) in zip(models, slots) {
            let enrolled = worker?()
            if let enrolled { workers.append(enrolled) }
            let context = ForecastContext(config: config, job: slot.job, gate: gate, worker: enrolled)
            let thread = Thread { [input, realized] in
                slot.finish(Self.execute(model, input: input, context: context, realized: realized))
                enrolled?.leave()
                finished.signal()
            }
            thread.name = "forecast-\(model.name)"
            thread.start()
        }

        // Wait, enforcing the timeouts on the active clock (wall time minus
        // time spent inside the engine's checkpoint).
        let modelLimit = Duration.seconds(config.modelTimeoutSeconds)
        let totalLimit = Duration.seconds(config.totalTimeoutSeconds)
        let total = n * slots.count
        var parked = Duration.zero
        var reported = -1
        while true {
            let entered = clock.now
            gate.close()
            do {
                try checkpoint()
            } catch {
                gate.open()
                for slot in slots { slot.stop(ModelFailure(name: slot.name, kind: .error, reason: "cancelled")) }
                throw error
            }
            gate.open()
            parked += clock.now - entered
            let suspended = suspendedTime.map { $0() - suspendedAtStart } ?? parked
            let elapsed = clock.now - start - suspended

            var running = 0
            for slot in slots where slot.isRunning {
                if elapsed >= totalLimit {
                    let reason = "timeout after \(Self.format(config.totalTimeoutSeconds)) s (total timeout)"
                    slot.stop(ModelFailure(name: slot.name, kind: .timeout, reason: reason))
                } else if elapsed >= modelLimit {
                    let reason = "timeout after \(Self.format(config.modelTimeoutSeconds)) s"
                    slot.stop(ModelFailure(name: slot.name, kind: .timeout, reason: reason))
                } else {
                    running += 1
                }
            }
            if running == 0 { break }
            let done = slots.reduce(0) { $0 + ($1.isRunning ? min($1.job.completed.load(ordering: .relaxed), n) : n) }
            if done != reported {
                progress(done, total)
                reported = done
            }
            let remaining = min(modelLimit, totalLimit) - elapsed
            let wait = min(Self.seconds(remaining), Self.tick)
            _ = finished.wait(timeout: .now() + max(wait, 0.001))
        }
        progress(total, total)

        var results: [ModelResult] = []
        var failures: [ModelFailure] = []
        for slot in slots {
            switch slot.outcome {
            case .succeeded(let result): results.append(result)
            case .failed(let failure): failures.append(failure)
            case .running: break  // not reached: the loop ends when none is running
            }
        }

        if results.count >= 2 {
            try checkpoint()
            let began = clock.now
            do {
                let context = ForecastContext(config: config)
                let series = try EnsembleModel().combine(results.map(\.series), input: input, context: context)
                results.append(
                    ModelResult(
                        name: EnsembleModel.name, series: series,
                        evaluation: .evaluate(predictions: series.predictions, realized: realized),
                        seconds: Self.seconds(clock.now - began)))
            } catch {
                failures.append(ModelFailure(name: EnsembleModel.name, kind: .error, reason: "\(error)"))
            }
        }
        return ForecastReport(results: results, failures: failures, seconds: Self.seconds(clock.now - start))
    }

    /// Runs one model on its own thread and scores it.
    private static func execute(
        _ model: any ForecastModel, input: ForecastInput, context: ForecastContext, realized: [Double]
    ) -> Slot.Outcome {
        let clock = ContinuousClock()
        let began = clock.now
        do {
            let series = try model.forecast(input, context: context)
            let n = input.count
            guard series.predictions.count == n, series.confidence.count == n else {
                let reason =
                    "returned \(series.predictions.count) predictions and \(series.confidence.count) confidences for \(n) bars"
                return .failed(ModelFailure(name: model.name, kind: .error, reason: reason))
            }
            let evaluation = ForecastEvaluation.evaluate(predictions: series.predictions, realized: realized)
            return .succeeded(
                ModelResult(
                    name: model.name, series: series, evaluation: evaluation, seconds: seconds(clock.now - began)))
        } catch {
            return .failed(ModelFailure(name: model.name, kind: .error, reason: "\(error)"))
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    /// `30` for 30.0, `0.5` for 0.5.
    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() && abs(seconds) < 1e15 ? String(Int(seconds)) : String(seconds)
    }
}

/// One model's place in a run: its stop flag and progress, and its outcome,
/// set once by whichever comes first — the model's thread finishing, or the
/// runner leaving it out. A result that arrives after that is dropped.
final class Slot: Sendable {
    enum Outcome: Sendable {
        case running
        case succeeded(ModelResult)
        case failed(ModelFailure)
    }

    let name: String
    let job = ModelJob()
    private let state = Mutex<Outcome>(.running)

    init(name: String) { self.name = name }

    var outcome: Outcome { state.withLock { $0 } }

    var isRunning: Bool {
        state.withLock { if case .running = $0 { true } else { false } }
    }

    /// Records the model's own outcome unless it was already left out.
    func finish(_ outcome: sending Outcome) {
        state.withLock { current in
            if case .running = current { current = outcome }
        }
    }

    /// Leaves the model out (if still running) and tells it to stop.
    func stop(_ failure: ModelFailure) {
        state.withLock { current in
            if case .running = current { current = .failed(failure) }
        }
        job.stop.store(true, ordering: .relaxed)
    }
}
