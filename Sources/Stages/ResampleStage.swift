import Foundation
import Logging
import MarketData
public import Pipeline

/// `resample`: every symbol to every requested timeframe.
///
/// A series already at a timeframe passes through untouched. Otherwise the
/// bars are fed to a streaming ``Resampler`` in chunks of ``chunkRows`` rows
/// with a checkpoint before each; a timeframe is built from the coarsest
/// timeframe already produced that nests in it (15m → 1h rather than 1m → 1h,
/// 1d → 1M; UTC buckets nest, and first/max/min/last/sum compose; 1w does not
/// nest in 1M), which gives the same
/// bars with fewer rows to read. Progress is in input rows, one step per
/// timeframe. Results are `series.<SYMBOL>.<tf>` (``ArtifactKey/series(_:_:)``).
///
/// When `load` completed in an earlier run (so its series are not in memory),
/// the datasets are read again first.
public struct ResampleStage: Stage {
    public let name = "resample"
    /// Rows per chunk fed to the resampler; default 262,144.
    public var chunkRows: Int

    /// Creates the stage.
    /// - Parameter chunkRows: rows per chunk; default 262,144.
    public init(chunkRows: Int = 1 << 18) {
        precondition(chunkRows > 0)
        self.chunkRows = chunkRows
    }

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        let base = try StageInputs.baseInputs(context, plan)
        let result = try Self.resampleAll(context, plan, base, under: context.node, chunkRows: chunkRows)
        for (tf, list) in result {
            for s in list { context.artifacts.set(ArtifactKey.series(s.symbol, tf.rawValue), s) }
        }
        // The loaded bars (the largest values of a run) are not read after
        // this: later stages take the resampled series. Let them go now rather
        // than at the end of the run.
        for symbol in plan.symbols { context.artifacts.remove(ArtifactKey.series(symbol)) }
    }

    /// Resamples every series to every timeframe of `plan`, reporting progress under `node`.
    /// - Returns: per timeframe, one series per symbol in request order.
    /// - Throws: ``StageError`` when a timeframe is finer than a dataset's own, `StageCancelled`.
    static func resampleAll(
        _ context: StageContext, _ plan: ExperimentPlan, _ inputs: [BaseInput], under node: String,
        chunkRows: Int = 1 << 18
    ) throws -> [Timeframe: [OHLCVSeries]] {
        for s in inputs {
            if let own = s.timeframe, let straddled = plan.timeframes.first(where: { $0 > own && !own.nests(in: $0) }) {
                throw StageError(
                    "timeframes: \(straddled) cannot be built from the \(own) bars of \(s.symbol): a \(own) bar can straddle two \(straddled) bars"
                )
            }
            if let own = s.timeframe, let finest = plan.timeframes.first, finest < own {
                throw StageError(
                    "timeframes: \(finest) is finer than the data: \(s.symbol) has \(own) bars, which cannot be treated as \(finest) bars (request \(own) or coarser)"
                )
            }
        }
        // Datasets left on disk by `load`: one pass each feeds every timeframe.
        var streamed: [Int: [Timeframe: OHLCVSeries]] = [:]
        for (i, input) in inputs.enumerated() {
            guard case .streamed(let d) = input else { continue }
            let step = context.progress.child(of: node, "stream_\(d.symbol)", total: Int64(d.rows), weight: 1)
            streamed[i] = try stream(d, to: plan.timeframes, context, step: step, chunkRows: chunkRows)
        }
        // Bars kept in memory; a streamed dataset's slot is never read (its results are above).
        let base = inputs.map { input -> OHLCVSeries in
            switch input {
            case .series(let s): return s
            case .streamed(let d): return OHLCVSeries.empty(symbol: d.symbol, timeframe: d.timeframe, extraNames: d.extraNames)
            }
        }
        var done: [Timeframe: [OHLCVSeries]] = [:]
        // The source of each (timeframe, symbol): the coarsest nested result so far, else the base.
        func source(_ tf: Timeframe, _ symbol: Int) -> OHLCVSeries {
            let nested = done.keys.filter { $0 < tf && $0.nests(in: tf) }
            if let best = nested.max(), let s = done[best]?[symbol] {
                if let own = base[symbol].timeframe, own > best { return base[symbol] }
                return s
            }
            return base[symbol]
        }
        // Progress totals: the rows each timeframe reads (known once its sources are).
        let steps = plan.timeframes.map { tf in
            context.progress.child(of: node, tf.rawValue, total: nil, weight: 1)
        }
        for (tf, step) in zip(plan.timeframes, steps) {
            let sources = base.indices.map { source(tf, $0) }
            let total = sources.reduce(0) { $0 + $1.count }
            context.progress.setTotal(step, Int64(total))
            context.progress.start(step)
            var results: [OHLCVSeries] = []
            for (i, s) in sources.enumerated() {
                try context.checkpoint()
                if let result = streamed[i]?[tf] {
                    results.append(result)
                    continue
                }
                if s.timeframe == tf {
                    results.append(s)
                    context.progress.advance(step, by: Int64(s.count))
                    continue
                }
                var resampler = Resampler(to: tf)
                var out = OHLCVSeries.empty(symbol: s.symbol, timeframe: tf, extraNames: s.extras.map(\.name))
                var start = 0
                while start < s.count {
                    try context.checkpoint()
                    let end = min(s.count, start + chunkRows)
                    let chunk = start == 0 && end == s.count ? s : s.slice(start..<end)
                    out.append(contentsOf: try resampler.feed(chunk))
                    context.progress.advance(step, by: Int64(end - start))
                    start = end
                }
                out.append(contentsOf: resampler.finish())
                out.symbol = s.symbol
                out.timeframe = tf
                results.append(out)
            }
            context.progress.finish(step)
            context.logger.info(
                "resampled",
                metadata: [
                    "timeframe": "\(tf)", "rows_in": "\(total)", "rows_out": "\(results.reduce(0) { $0 + $1.count })",
                    "from": "\(Set(sources.map { $0.timeframe?.rawValue ?? "raw" }).sorted().joined(separator: ","))",
                ])
            done[tf] = results
        }
        return done
    }

    /// Reads `dataset` in chunks once, feeding a resampler per timeframe (a
    /// timeframe equal to the dataset's own keeps its bars as read). Chunks
    /// shrink to a quarter at the `shrink` memory level.
    static func stream(
        _ dataset: StreamedDataset, to timeframes: [Timeframe], _ context: StageContext, step: String, chunkRows: Int
    ) throws -> [Timeframe: OHLCVSeries] {
        context.progress.start(step)
        let reader = try OHLCVCSVReader(file: dataset.file, fileName: dataset.display, symbol: dataset.symbol)
        var resamplers = timeframes.map { Resampler(to: $0) }
        var outputs = timeframes.map {
            OHLCVSeries.empty(symbol: dataset.symbol, timeframe: $0, extraNames: dataset.extraNames)
        }
        while true {
            try context.checkpoint()
            let size = context.memoryPressure >= .shrink ? max(1024, chunkRows / 4) : chunkRows
            guard let chunk = try reader.next(maxRows: size) else { break }
            for k in timeframes.indices {
                if timeframes[k] == dataset.timeframe {
                    outputs[k].append(contentsOf: chunk)
                } else {
                    outputs[k].append(contentsOf: try resamplers[k].feed(chunk))
                }
            }
            context.progress.advance(step, by: Int64(chunk.count))
        }
        var out: [Timeframe: OHLCVSeries] = [:]
        for k in timeframes.indices {
            if timeframes[k] != dataset.timeframe { outputs[k].append(contentsOf: resamplers[k].finish()) }
            outputs[k].symbol = dataset.symbol
            outputs[k].timeframe = timeframes[k]
            out[timeframes[k]] = outputs[k]
        }
        context.progress.finish(step)
        context.logger.info(
            "streamed from disk",
            metadata: [
                "symbol": "\(dataset.symbol)", "rows_in": "\(dataset.rows)",
                "rows_out": "\(timeframes.map { "\($0)=\(out[$0]!.count)" }.joined(separator: ","))",
            ])
        return out
    }
}

extension OHLCVSeries {
    /// A copy of the bars in `range`.
    func slice(_ range: Range<Int>) -> OHLCVSeries {
        OHLCVSeries(
            symbol: symbol, timeframe: timeframe, timestamps: Array(timestamps[range]), open: Array(open[range]),
            high: Array(high[range]), low: Array(low[range]), close: Array(close[range]), volume: Array(volume[range]),
            extras: extras.map { NamedColumn(name: $0.name, values: Array($0.values[range])) })
    }
}
