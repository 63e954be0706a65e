import Analysis
import Export
import Foundation
import Indicators
import Logging
import MarketData
public import Pipeline
import SignalFusion

/// `analysis`: a backtest of the accepted signals, and the experiment's report.
///
/// Per symbol × timeframe, the accepted signals (from `fusion`, in memory or
/// read back from `signals`) are traded on that timeframe's bars by
/// ``Backtest`` with `config.analysis` (``AnalysisConfig``: `spread`,
/// `commission`, `max_holding_bars`, `initial_equity`, sizing). The trade
/// list and equity curves become `trades.<format>` and `equity.<format>`
/// artifacts (the export formats); the report — the backtest figures per
/// series and in total, the forecast models' out-of-sample figures, signal
/// counts, and the ``Evaluation`` of all signals by their outcomes (verdict,
/// calibration, baselines; see `docs/evaluation.md`) — is stored for `GET /v1/experiments/{id}/report` and written as
/// `report.json`.
public struct AnalysisStage: Stage {
    public let name = "analysis"
    public init() {}

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        let config = plan.options(AnalysisConfig.self)
        let export = plan.options(ExportOptions.self)
        let fusion = plan.options(FusionConfig.self)
        let signals = try FusionStage.signals(context)
        try context.checkpoint()
        // Each series' signals, all and accepted, in one pass with checkpoints (not one grouping per list).
        let bySeries = try Self.groupBySeries(signals) { try context.checkpoint() }
        let acceptedCount = bySeries.values.reduce(0) { $0 + $1.accepted.count }
        // One timeframe's table at a time (read back from its checkpoint under memory pressure).
        let tables = try TableChain.Source(for: name, context, plan)
        var memory = MemoryReaction(context)
        // Progress in bars: gathered per series, then backtested (the second half).
        let barCount = Int64(plan.timeframes.reduce(0) { $0 + (tables.rows[$1] ?? 0) } * plan.symbols.count)
        let step = context.progress.child(of: context.node, "backtest", total: 2 * barCount, weight: 3)
        context.progress.start(step)
        var inputs: [BacktestInput] = []
        var evaluationInputs: [EvaluationSeries] = []
        var costsUsed: [String: CostModel] = [:]
        for tf in plan.timeframes {
            let pressure = try memory.level("timeframe \(tf)")
            guard let table = try tables.table(tf) else { throw StageError("no \(tf) table to backtest on") }
            defer { if pressure >= .shrink { tables.release(tf) } }
            for symbol in plan.symbols {
                // A checkpoint between every pass over the series' bars or signals.
                try context.checkpoint()
                let bars = try SymbolBars(symbol, in: table)
                let costs = config.costs.model(for: symbol)
                costsUsed[symbol] = costs
                let series = bySeries[FusionStage.SeriesKey(symbol: symbol, timeframe: tf.rawValue)] ?? SeriesSignals()
                try context.checkpoint()
                let mine = series.accepted.map {
                    BacktestSignal(
                        timestamp: $0.timestampMicros, direction: $0.direction == "long" ? .long : .short, stop: $0.stop,
                        target: $0.target,
                        slippage: costs.slippageATR * abs($0.entry - $0.stop) / fusion.stopATRMultiplier)
                }
                // The evaluation: every signal's outcome, and every bar's for the random entries.
                try context.checkpoint()
                let atr = ATR.compute(high: bars.high, low: bars.low, close: bars.close, period: fusion.atrPeriod)
                let everyBar = try OutcomeLabeler.everyBar(
                    open: bars.open, high: bars.high, low: bars.low, close: bars.close, atr: atr,
                    stopMultiple: fusion.stopATRMultiplier, targetMultiple: fusion.targetATRMultiplier,
                    horizon: fusion.horizonBars, costs: FusionStage.costs(config, symbol: symbol)
                ) { try context.checkpoint() }
                var evaluationSignals: [EvaluationSignal] = []
                evaluationSignals.reserveCapacity(series.all.count)
                for (n, signal) in series.all.enumerated() {
                    if n % FusionStage.checkpointRows == 0 { try context.checkpoint() }
                    evaluationSignals.append(
                        EvaluationSignal(
                            direction: signal.direction == "long" ? .long : .short, quality: signal.quality,
                            accepted: signal.accepted, calibrated: !signal.sources.contains("flag:calibration_warmup"),
                            r: signal.outcomeR, knownAt: tf.closeTime(ofBarOpeningAt: signal.timestampMicros),
                            resolvedAt: signal.resolvedAtMicros))
                }
                evaluationInputs.append(
                    EvaluationSeries(
                        symbol: symbol, timeframe: tf.rawValue, periodsPerYear: tf.periodsPerYear,
                        close: bars.close, longR: everyBar.long, shortR: everyBar.short, signals: evaluationSignals))
                try context.checkpoint()
                inputs.append(
                    BacktestInput(
                        symbol: symbol, timeframe: tf.rawValue, barDurationMicros: tf.nominalDurationMicros,
                        periodsPerYear: tf.periodsPerYear,
                        closeTimes: tf.isCalendar ? bars.timestamps.map { tf.closeTime(ofBarOpeningAt: $0) } : nil,
                        timestamps: bars.timestamps,
                        open: bars.open, high: bars.high, low: bars.low, close: bars.close, signals: mine, costs: costs))
                context.progress.advance(step, by: Int64(table.count))
            }
        }
        try context.checkpoint()
        let report: BacktestReport
        var cancelled = false
        do {
            report = try Backtest.run(inputs, config: config) { () throws(AnalysisError) in
                do { try context.checkpoint() } catch {
                    cancelled = true
                    throw AnalysisError(.invalidInput, field: "analysis", reason: "cancelled")
                }
            }
        } catch {
            if cancelled { throw StageCancelled() }
            throw StageError("\(error)")
        }
        context.progress.finish(step)
        for r in report.results {
            context.logger.info(
                "backtested",
                metadata: [
                    "symbol": "\(r.symbol)", "timeframe": "\(r.timeframe)", "trades": "\(r.trades.count)",
                ])
        }

        // Trade list and equity curves as files: each batch's columns built after its checkpoint.
        try context.checkpoint()
        let trades = report.results.flatMap(\.trades)
        let tradeSpecs = Self.tradeColumns(trades.prefix(0)).map(\.spec)
        var eqSymbol: [String] = [], eqTimeframe: [String] = [], eqTime: [Int64] = [], eqValue: [Double] = []
        for r in report.results {
            try context.checkpoint()
            for (n, p) in r.equityCurve.enumerated() {
                if n % Self.equityCheckpointPoints == Self.equityCheckpointPoints - 1 { try context.checkpoint() }
                eqSymbol.append(r.symbol)
                eqTimeframe.append(r.timeframe)
                eqTime.append(p.timestamp)
                eqValue.append(p.equity)
            }
        }
        let equityColumns: [ExportColumn] = [
            ExportColumn("symbol", .string(eqSymbol)), ExportColumn("timeframe", .string(eqTimeframe)),
            ExportColumn("timestamp", .timestamp(eqTime)), ExportColumn("equity", .double(eqValue)),
        ]
        var files: [String] = []
        for format in export.formats {
            try context.checkpoint()
            try ExportStage.writeSmall(
                specs: tradeSpecs, rows: trades.count, name: "trades", format: format, compression: export.compression,
                context
            ) { range in Self.tradeColumns(trades[range]) }
            try ExportStage.writeSmall(equityColumns, name: "equity", format: format, compression: export.compression, context)
            files += ["trades.\(format.rawValue)", "equity.\(format.rawValue)"]
        }
        // The web view's equity chart reads a CSV: when none is asked for, `equity.csv.gz` is written too.
        if !export.formats.contains(.csv), !export.formats.contains(.csvGzip) {
            try ExportStage.writeSmall(equityColumns, name: "equity", format: .csvGzip, compression: export.compression, context)
            files.append("equity.csv.gz")
        }
        try context.checkpoint()

        // The report: the backtest, the forecast models, the signal counts.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var backtest = report
        // Equity curves are in the `equity` artifact; the report keeps the figures.
        backtest.equityCurve = []
        for i in backtest.results.indices {
            backtest.results[i].equityCurve = []
            backtest.results[i].trades = []
        }
        let backtestJSON = String(decoding: try encoder.encode(backtest), as: UTF8.self)
        let forecastJSON = String(decoding: try encoder.encode(ForecastStage.summaries(context)), as: UTF8.self)
        let configJSON = String(decoding: try encoder.encode(config), as: UTF8.self)
        try context.checkpoint()
        let evaluation = try Evaluation.evaluate(evaluationInputs, config: config, costs: costsUsed) {
            () throws(StageCancelled) in try context.checkpoint()
        }
        let evaluationJSON = String(decoding: try encoder.encode(evaluation), as: UTF8.self)
        context.logger.info(
            "evaluated",
            metadata: [
                "verdict": "\(evaluation.overall.verdict.rawValue)", "reason": "\(evaluation.overall.reason)",
            ])
        files.append("report.json")
        let json = """
            {"experiment_id":"\(context.experimentID.uuidString.lowercased())",\
            "signals":{"candidates":\(signals.count),"accepted":\(acceptedCount),"traded":\(trades.count)},\
            "backtest":\(backtestJSON),"evaluation":\(evaluationJSON),"forecast_models":\(forecastJSON),"config":\(configJSON),\
            "artifacts":[\(files.map { "\"\($0)\"" }.joined(separator: ","))]}
            """
        let url = context.directory.appendingPathComponent("report.json").standardizedFileURL.absoluteURL
        // A checkpoint before the file and each of the two writes to PostgreSQL that follow.
        try context.checkpoint()
        try Data(json.utf8).write(to: url, options: .atomic)
        let reportInfo = ArtifactInfo(name: "report.json", format: "json", path: url.path, sizeBytes: Int64(json.utf8.count))
        RecordedArtifacts.note(reportInfo, context)
        try context.checkpoint()
        try context.environment?.recordArtifact(reportInfo, experiment: context.experimentID)
        if let store = context.environment as? any ResultStore {
            try context.checkpoint()
            try store.recordReport(json, experiment: context.experimentID)
        } else {
            context.logger.warning("no result store: the report is only in report.json")
        }
        context.logger.info(
            "report written",
            metadata: [
                "trades": "\(trades.count)", "accepted_signals": "\(acceptedCount)",
                "win_rate": "\(report.summary.winRate)", "sharpe": "\(report.summary.sharpe)",
            ])
    }
    /// Equity points gathered between two checkpoints.
    static let equityCheckpointPoints = 1 << 14

    /// One series' signals, in order: every candidate, and the accepted ones.
    struct SeriesSignals {
        var all: [SignalRecord] = []
        var accepted: [SignalRecord] = []
    }

    /// The signals of each series (symbol × timeframe), in order, in one pass
    /// with `checkpoint` before every ``FusionStage/checkpointRows`` signals
    /// (fusion gives each series' signals together, so the key is hashed once
    /// per run of equal series).
    /// - Throws: what `checkpoint` throws.
    static func groupBySeries(
        _ signals: [SignalRecord], checkpoint: () throws -> Void
    ) rethrows -> [FusionStage.SeriesKey: SeriesSignals] {
        var out: [FusionStage.SeriesKey: SeriesSignals] = [:]
        var key: FusionStage.SeriesKey?
        var run = SeriesSignals()
        func flush() {
            guard let key else { return }
            out[key, default: SeriesSignals()].all += run.all
            out[key, default: SeriesSignals()].accepted += run.accepted
        }
        for (n, signal) in signals.enumerated() {
            if n % FusionStage.checkpointRows == 0 { try checkpoint() }
            if key?.symbol != signal.symbol || key?.timeframe != signal.timeframe {
                flush()
                key = FusionStage.SeriesKey(symbol: signal.symbol, timeframe: signal.timeframe)
                run = SeriesSignals()
            }
            run.all.append(signal)
            if signal.accepted { run.accepted.append(signal) }
        }
        flush()
        return out
    }

    /// The trade list's export columns.
    static func tradeColumns<C: Collection<Trade>>(_ trades: C) -> [ExportColumn] {
        [
            ExportColumn("symbol", .string(trades.map(\.symbol))),
            ExportColumn("timeframe", .string(trades.map(\.timeframe))),
            ExportColumn("direction", .string(trades.map(\.direction.rawValue))),
            ExportColumn("signal_time", .timestamp(trades.map(\.signalTime))),
            ExportColumn("entry_time", .timestamp(trades.map(\.entryTime))),
            ExportColumn("entry_price", .double(trades.map(\.entryPrice))),
            ExportColumn("exit_time", .timestamp(trades.map(\.exitTime))),
            ExportColumn("exit_price", .double(trades.map(\.exitPrice))),
            ExportColumn("exit_reason", .string(trades.map(\.exitReason.rawValue))),
            ExportColumn("units", .double(trades.map(\.units))),
            ExportColumn("stop", .double(trades.map(\.stop))),
            ExportColumn("target", .double(trades.map(\.target))),
            ExportColumn("pnl", .double(trades.map(\.pnl))),
            ExportColumn("r", .double(trades.map(\.r))),
            ExportColumn("bars_held", .int64(trades.map { Int64($0.barsHeld) })),
        ]
    }
}
