import Analysis
import Foundation
import Logging
import MarketData
import Patterns
public import Pipeline
import SignalFusion

/// `fusion`: forecasts and patterns into fused signals with a quality score.
///
/// For every symbol × timeframe, the bars, the `forecast` columns (when the
/// experiment forecast) and the pattern events (``PatternsStage/events(_:_:checkpoint:)``)
/// go to ``SignalFusion/fuse(_:config:)`` with `config.fusion`
/// (``FusionConfig``: `quality_threshold`, `weights`, stop/target ATR
/// multiples, windows; see `docs/fusion.md`). Every candidate, accepted or
/// not, is kept for `export` and `analysis` (in memory, and in
/// `checkpoints/fusion/candidates.sfsignals` for a later run, see
/// ``SignalCheckpoint``); the `signals` table gets the accepted ones, or
/// every candidate with `config.fusion.store: all` (``FusionStorage``; COPY,
/// replacing an earlier run's).
public struct FusionStage: Stage {
    public let name = "fusion"
    public init() {}

    static let signalsKey = "fusion.signals"

    /// A later run goes on without fusing again when every candidate can be
    /// read back: from its checkpoint, or from `signals` with `fusion.store: all`.
    public func restore(_ context: StageContext) throws -> Bool {
        if FileManager.default.fileExists(atPath: SignalCheckpoint.url(context.directory).path) { return true }
        return try FusionStorage(request: context.request) == .all
    }

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        let config = plan.options(FusionConfig.self)
        let patterns = plan.options(PatternsOptions.self)
        let analysis = plan.options(AnalysisConfig.self)
        // One timeframe's table at a time: from memory, or read back from its
        // checkpoint when the tables stream through disk (memory pressure);
        // at `shrink` each is let go once its series are gathered.
        let tables = try TableChain.Source(for: name, context, plan)
        var memory = MemoryReaction(context)
        // Progress in bars: gathered per series (`inputs`), then fused (`fuse`).
        let barCount = Int64(plan.timeframes.reduce(0) { $0 + (tables.rows[$1] ?? 0) } * plan.symbols.count)
        let step = context.progress.child(of: context.node, "inputs", total: barCount, weight: 1)
        let fuseStep = context.progress.child(of: context.node, "fuse", total: barCount, weight: 1)
        context.progress.start(step)
        var inputs: [FusionInput] = []
        var forecastMissing = false
        for tf in plan.timeframes {
            let pressure = try memory.level("timeframe \(tf)")
            guard let table = try tables.table(tf) else { throw StageError("no \(tf) table to fuse") }
            defer { if pressure >= .shrink { tables.release(tf) } }
            for symbol in plan.symbols {
                // A checkpoint between every pass over the series' bars (each a few milliseconds at most).
                try context.checkpoint()
                let bars = try SymbolBars(symbol, in: table)
                try context.checkpoint()
                let predictions = bars.column("forecast", in: table)
                let confidence = bars.column("forecast_confidence", in: table)
                if predictions == nil { forecastMissing = true }
                try context.checkpoint()
                let events = try PatternsStage.events(bars, patterns) { try context.checkpoint() }
                try context.checkpoint()
                let closeTimes = tf.isCalendar ? bars.timestamps.map { tf.closeTime(ofBarOpeningAt: $0) } : nil
                try context.checkpoint()
                inputs.append(
                    FusionInput(
                        symbol: symbol, timeframe: tf.rawValue, barDurationMicros: tf.nominalDurationMicros,
                        closeTimes: closeTimes,
                        timestamps: bars.timestamps, open: bars.open, high: bars.high, low: bars.low, close: bars.close,
                        volume: bars.volume, sentiment: bars.sentiment,
                        predictions: predictions ?? [], confidence: confidence ?? [],
                        forecastName: Self.forecastModel(table, prefix: bars.prefix), patterns: events,
                        costs: Self.costs(analysis, symbol: symbol)))
                context.progress.advance(step, by: Int64(table.count))
            }
        }
        context.progress.finish(step)
        if forecastMissing {
            context.logger.notice("no forecast columns (the experiment did not run forecast): signals come from patterns alone")
        }
        try context.checkpoint()
        context.progress.start(fuseStep)
        let fused: [FusedSignal]
        var cancelled = false
        do {
            fused = try SignalFusion.fuse(inputs, config: config) { () throws(FusionError) in
                do { try context.checkpoint() } catch {
                    cancelled = true
                    throw FusionError(.invalidInput, field: "fusion", reason: "cancelled")
                }
            }
        } catch {
            if cancelled { throw StageCancelled() }
            throw StageError("\(error)")
        }
        context.progress.finish(fuseStep)
        let records = try Self.records(fused) { try context.checkpoint() }
        context.artifacts.set(Self.signalsKey, records)
        let counts = try Self.seriesCounts(records) { try context.checkpoint() }
        for tf in plan.timeframes {
            for symbol in plan.symbols {
                let mine = counts[SeriesKey(symbol: symbol, timeframe: tf.rawValue)] ?? SeriesCounts()
                context.logger.info(
                    "signals fused",
                    metadata: [
                        "symbol": "\(symbol)", "timeframe": "\(tf)", "candidates": "\(mine.candidates)",
                        "accepted": "\(mine.accepted)", "resolved": "\(mine.resolved)",
                        "threshold": "\(config.qualityThreshold)",
                    ])
            }
        }
        try context.checkpoint()
        let encoded = try SignalCheckpoint.encode(records) { () throws(StageCancelled) in try context.checkpoint() }
        try context.checkpoint()
        do { try context.writeCheckpoint(Self.candidatesFile, encoded) } catch {
            // A checkpoint only saves work later: its failure is not the stage's.
            context.logger.warning("cannot write checkpoint", metadata: ["file": "\(Self.candidatesFile)", "error": "\(error)"])
        }
        if let store = context.environment as? any ResultStore {
            try context.checkpoint()
            let storage = try FusionStorage(request: context.request)
            // In chunks, with a checkpoint between them (a pause takes effect within the write).
            try store.replaceSignals(storage == .all ? records : records.filter(\.accepted), experiment: context.experimentID) {
                () throws(StageCancelled) in try context.checkpoint()
            }
        } else {
            context.logger.warning("no result store: the signals are not stored")
        }
    }

    /// Signals converted between two checkpoints (about a millisecond of work).
    static let checkpointRows = 1 << 12

    /// `fused` as records, in order, with `checkpoint` before every
    /// ``checkpointRows`` signals.
    /// - Throws: what `checkpoint` throws.
    static func records(_ fused: [FusedSignal], checkpoint: () throws -> Void) rethrows -> [SignalRecord] {
        var out: [SignalRecord] = []
        out.reserveCapacity(fused.count)
        for (n, s) in fused.enumerated() {
            if n % checkpointRows == 0 { try checkpoint() }
            out.append(record(s))
        }
        return out
    }

    /// A series of signals: one symbol on one timeframe.
    struct SeriesKey: Hashable {
        var symbol: String
        var timeframe: String
    }

    /// What the log says of a series' signals.
    struct SeriesCounts: Equatable {
        var candidates = 0
        var accepted = 0
        /// Candidates whose outcome is known (not `open`).
        var resolved = 0
    }

    /// The counts per series of `records`, in one pass with `checkpoint` before
    /// every ``checkpointRows`` records (fusion gives each series' signals
    /// together, so the key is hashed once per run of equal series).
    /// - Throws: what `checkpoint` throws.
    static func seriesCounts(
        _ records: [SignalRecord], checkpoint: () throws -> Void
    ) rethrows -> [SeriesKey: SeriesCounts] {
        var out: [SeriesKey: SeriesCounts] = [:]
        var key: SeriesKey?
        var run = SeriesCounts()
        for (n, r) in records.enumerated() {
            if n % checkpointRows == 0 { try checkpoint() }
            if key?.symbol != r.symbol || key?.timeframe != r.timeframe {
                if let key { out[key, default: SeriesCounts()].add(run) }
                key = SeriesKey(symbol: r.symbol, timeframe: r.timeframe)
                run = SeriesCounts()
            }
            run.candidates += 1
            if r.accepted { run.accepted += 1 }
            if r.outcome != "open" { run.resolved += 1 }
        }
        if let key { out[key, default: SeriesCounts()].add(run) }
        return out
    }

    /// The model behind `<symbol>_forecast`: the ensemble, else the first model
    /// that succeeded (``ForecastStage`` writes `<symbol>_forecast_<model>` for each).
    static func forecastModel(_ table: AlignedTable, prefix: String) -> String {
        let models = table.columns.compactMap { c -> String? in
            guard c.name.hasPrefix(prefix + "forecast_"), c.name != prefix + "forecast_confidence" else { return nil }
            return String(c.name.dropFirst(prefix.count + "forecast_".count))
        }
        return models.contains("ensemble") ? "ensemble" : models.first ?? "none"
    }

    /// The candidates file fusion leaves in its checkpoint folder.
    static let candidatesFile = "candidates.sfsignals"

    /// Every candidate signal of the experiment: from memory, else from the
    /// candidates checkpoint, else from the result store (which holds every
    /// candidate only with `fusion.store: all`).
    static func signals(_ context: StageContext) throws -> [SignalRecord] {
        if let s = context.artifacts.get(signalsKey, as: [SignalRecord].self) { return s }
        let url = SignalCheckpoint.url(context.directory)
        if let bytes = try? Data(contentsOf: url), let s = SignalCheckpoint.decode([UInt8](bytes)) {
            context.logger.info(
                "the signals are not in memory (fusion ran in an earlier run): reloaded from its checkpoint",
                metadata: ["signals": "\(s.count)", "file": "\(url.path)"])
            context.artifacts.set(signalsKey, s)
            return s
        }
        guard let store = context.environment as? any ResultStore else { return [] }
        if try FusionStorage(request: context.request) == .accepted {
            context.logger.warning(
                "fusion's candidates checkpoint is missing and fusion.store is accepted: only the accepted signals are read back")
        }
        context.logger.info("the signals are not in memory (fusion ran in an earlier run): reading them from the database")
        let s = try store.signals(experiment: context.experimentID)
        context.artifacts.set(signalsKey, s)
        return s
    }

    /// The round-trip costs of `symbol` for the outcome labels: the absolute
    /// `analysis.spread` and `commission`, plus its `analysis.costs` model.
    static func costs(_ config: AnalysisConfig, symbol: String) -> TradingCosts {
        let model = config.costs.model(for: symbol)
        return TradingCosts(
            fixed: config.spread, proportional: 2 * config.commission + model.proportionalRoundTrip,
            atrMultiple: model.atrRoundTrip)
    }

    static func record(_ s: FusedSignal) -> SignalRecord {
        SignalRecord(
            symbol: s.symbol, timeframe: s.timeframe, timestampMicros: s.timestamp, direction: s.direction.rawValue,
            entry: s.entry, stop: s.stop, target: s.target, horizonBars: s.horizonBars, quality: s.quality,
            accepted: s.accepted,
            components: [
                s.components.patternStrength, s.components.mtfAgreement, s.components.regimeConfidence,
                s.components.volumeConfirmation, s.components.sentimentAlignment, s.components.correlationSafety,
            ],
            sources: s.sources, qualityPrior: s.qualityPrior, outcome: s.outcome.exit.rawValue, outcomeR: s.outcome.r,
            resolvedAtMicros: s.outcome.resolvedAt)
    }
}

extension FusionStage.SeriesCounts {
    /// Adds another run's counts.
    mutating func add(_ other: Self) {
        candidates += other.candidates
        accepted += other.accepted
        resolved += other.resolved
    }
}
