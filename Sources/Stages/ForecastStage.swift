public import Forecasting
import Foundation
import Logging
import MarketData
public import Pipeline
import Synchronization

/// One model's out-of-sample figures on one symbol × timeframe (or why it was left out).
struct ForecastSummary: Sendable, Codable, Equatable {
    var symbol: String
    var timeframe: String
    var model: String
    var evaluated: Int
    var directionalAccuracy: Double?
    var meanAbsoluteError: Double?
    var seconds: Double
    /// Why the model was left out (timeout, error), or nil.
    var failure: String?

    enum CodingKeys: String, CodingKey {
        case symbol, timeframe, model, evaluated, seconds, failure
        case directionalAccuracy = "directional_accuracy"
        case meanAbsoluteError = "mae"
    }
}

/// `forecast`: an ensemble of models per symbol × timeframe, walk-forward.
///
/// Each symbol's closes (and its stationary indicator columns — RSI, MACD
/// histogram, stochastic, ADX — for the ridge model) go to a
/// ``ForecastRunner`` with `config.forecast` (``ForecastConfig``: models,
/// `horizon_bars`, `model_timeout_s`, `total_timeout_s`, `refit_every`,
/// `window`, …). Models run in parallel on threads of their own; one that
/// throws or runs past its timeout is logged and left out. `total_timeout_s`
/// bounds the whole stage: each run gets what is left of it.
///
/// Columns added per symbol: `<symbol>_forecast` (the predicted log return
/// over the horizon, from the ensemble, else the first model that
/// succeeded), `<symbol>_forecast_confidence`, and `<symbol>_forecast_<model>`
/// per model. Directional accuracy and MAE per model are logged and kept for
/// the report (`checkpoints/forecast_summary.json`).
public struct ForecastStage: Stage {
    public let name = "forecast"
    /// Extra models (tests); `nil` runs the configured ones only.
    let models: (@Sendable (ForecastConfig) -> [any ForecastModel])?

    public init() { models = nil }

    /// A stage that runs `models(config)` instead of the configured models.
    public init(models: @escaping @Sendable (ForecastConfig) -> [any ForecastModel]) { self.models = models }

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        let config = plan.options(ForecastConfig.self)
        // On the active clock (wall time minus paused/suspended time).
        let deadline = ContinuousClock.now - context.suspendedTime + .seconds(config.totalTimeoutSeconds)
        let models = self.models
        let summaries = Mutex<[ForecastSummary]>([])
        try TableChain.run(name, context, plan) { context, plan, tf, table, step in
            let (t, s) = try Self.forecast(context, plan, tf, table, step, config: config, deadline: deadline, models: models)
            summaries.withLock { $0 += s }
            return t
        }
        let all = summaries.withLock { $0 }
        context.artifacts.set(Self.summaryKey, all)
        let url = context.directory.appendingPathComponent("checkpoints/forecast_summary.json")
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try encoder.encode(all).write(to: url, options: .atomic)
        } catch {
            context.logger.warning("cannot write the forecast summary", metadata: ["file": "\(url.path)", "error": "\(error)"])
        }
    }

    static let summaryKey = "forecast.summary"

    /// The per-model figures of the experiment: from memory, else from its file.
    static func summaries(_ context: StageContext) -> [ForecastSummary] {
        if let s = context.artifacts.get(summaryKey, as: [ForecastSummary].self) { return s }
        let url = context.directory.appendingPathComponent("checkpoints/forecast_summary.json")
        guard let data = try? Data(contentsOf: url) else { return [] }
        return (try? JSONDecoder().decode([ForecastSummary].self, from: data)) ?? []
    }

    /// The default enrichment (used when a later run recomputes the table).
    static func enrich(
        _ context: StageContext, _ plan: ExperimentPlan, _ tf: Timeframe, _ table: AlignedTable, _ step: String
    ) throws -> AlignedTable {
        let config = plan.options(ForecastConfig.self)
        return try forecast(
            context, plan, tf, table, step, config: config,
            deadline: .now - context.suspendedTime + .seconds(config.totalTimeoutSeconds), models: nil
        ).0
    }

    /// Feature columns the ridge model may use: bounded, roughly stationary indicators.
    static func isModelFeature(_ name: String) -> Bool {
        name.hasPrefix("rsi_") || name == "macd_hist" || name == "stoch_k" || name == "stoch_d" || name.hasPrefix("adx_")
    }

    static func forecast(
        _ context: StageContext, _ plan: ExperimentPlan, _ tf: Timeframe, _ table: AlignedTable, _ step: String,
        config stageConfig: ForecastConfig, deadline: ContinuousClock.Instant,
        models: (@Sendable (ForecastConfig) -> [any ForecastModel])?
    ) throws -> (AlignedTable, [ForecastSummary]) {
        var config = stageConfig
        var out = table
        var summaries: [ForecastSummary] = []
        let perSymbol = Int64(table.count / max(plan.symbols.count, 1))
        // One substep per series model (symbol); under a step shared by several
        // timeframes (a recomputation) its name carries the timeframe too.
        let substeps = plan.symbols.map { symbol in
            let name = context.progress.contains(step + "/" + symbol) ? "\(tf.rawValue)_\(symbol)" : symbol
            return context.progress.child(of: step, name, total: perSymbol, weight: Double(max(perSymbol, 1)))
        }
        for (symbol, substep) in zip(plan.symbols, substeps) {
            try context.checkpoint()
            context.progress.start(substep)
            let bars = try SymbolBars(symbol, in: table)
            let features = table.columns
                .filter { $0.name.hasPrefix(bars.prefix) && isModelFeature(String($0.name.dropFirst(bars.prefix.count))) }
                .map { bars.gather($0.values) }
            let input = try ForecastInput(close: bars.close, features: features)
            let left = (ContinuousClock.now - context.suspendedTime).duration(to: deadline).seconds
            config.totalTimeoutSeconds = max(0.001, left)
            config.modelTimeoutSeconds = min(config.modelTimeoutSeconds, config.totalTimeoutSeconds)
            let runner = ForecastRunner(config: config)
            let report = try runner.run(
                input, models: models.map { $0(config) },
                progress: { done, total in
                    let units = total > 0 ? Int64(Double(perSymbol) * Double(done) / Double(total)) : perSymbol
                    context.progress.setDone(substep, units)
                },
                checkpoint: { try context.checkpoint() },
                worker: {
                    let w = context.joinWorker()
                    return ModelWorker(checkpoint: { try w.checkpoint() }, leave: { w.leave() })
                },
                suspendedTime: { context.suspendedTime })
            // A checkpoint before each event write (each a round trip to PostgreSQL).
            for failure in report.failures {
                try context.checkpoint()
                try context.event(
                    "forecast_model_left_out",
                    ["symbol": symbol, "timeframe": tf.rawValue, "model": failure.name, "reason": failure.reason])
                context.logger.warning(
                    "forecast model left out",
                    metadata: ["symbol": "\(symbol)", "timeframe": "\(tf)", "model": "\(failure.name)", "reason": "\(failure.reason)"])
                summaries.append(
                    ForecastSummary(
                        symbol: symbol, timeframe: tf.rawValue, model: failure.name, evaluated: 0, directionalAccuracy: nil,
                        meanAbsoluteError: nil, seconds: 0, failure: failure.reason))
            }
            for r in report.results {
                try context.checkpoint()
                let e = r.evaluation
                let accuracy = e.directionalAccuracy.isFinite ? e.directionalAccuracy : nil
                let mae = e.meanAbsoluteError.isFinite ? e.meanAbsoluteError : nil
                summaries.append(
                    ForecastSummary(
                        symbol: symbol, timeframe: tf.rawValue, model: r.name, evaluated: e.evaluated,
                        directionalAccuracy: accuracy, meanAbsoluteError: mae, seconds: r.seconds, failure: nil))
                try context.event(
                    "forecast_model_evaluated",
                    [
                        "symbol": symbol, "timeframe": tf.rawValue, "model": r.name, "evaluated": "\(e.evaluated)",
                        "directional_accuracy": accuracy.map { "\($0)" } ?? "null", "mae": mae.map { "\($0)" } ?? "null",
                        "seconds": "\(r.seconds)",
                    ])
                context.logger.info(
                    "forecast model evaluated out of sample",
                    metadata: [
                        "symbol": "\(symbol)", "timeframe": "\(tf)", "model": "\(r.name)", "evaluated": "\(e.evaluated)",
                        "directional_accuracy": "\(accuracy.map { String(format: "%.4f", $0) } ?? "n/a")",
                        "mae": "\(mae.map { String(format: "%.6g", $0) } ?? "n/a")",
                        "seconds": "\(String(format: "%.3f", r.seconds))",
                    ])
                out.columns.append(NamedColumn(name: bars.prefix + "forecast_" + r.name, values: bars.scatter(r.predictions)))
            }
            let chosen = report.result(named: "ensemble") ?? report.results.first
            let predictions = chosen?.predictions ?? [Double](repeating: .nan, count: bars.count)
            let confidence = chosen?.confidence ?? [Double](repeating: .nan, count: bars.count)
            if chosen == nil {
                context.logger.warning(
                    "no forecast model succeeded: no forecast for this series", metadata: ["symbol": "\(symbol)", "timeframe": "\(tf)"])
            }
            out.columns.append(NamedColumn(name: bars.prefix + "forecast", values: bars.scatter(predictions)))
            out.columns.append(NamedColumn(name: bars.prefix + "forecast_confidence", values: bars.scatter(confidence)))
            context.progress.finish(substep)
        }
        return (out, summaries)
    }
}
