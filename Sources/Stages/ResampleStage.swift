import Logging
import MarketData
public import Pipeline

/// `resample`: every symbol to every requested timeframe.
///
/// A series already at a timeframe passes through untouched. Otherwise the
/// bars are fed to a streaming ``Resampler`` in chunks of ``chunkRows`` rows
/// with a checkpoint before each; a timeframe is built from the coarsest
/// timeframe already produced that nests in it (15m → 1h rather than 1m → 1h:
/// UTC buckets nest, and first/max/min/last/sum compose), which gives the same
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
        let plan = try ExperimentPlan(request: context.request)
        let base = try StageInputs.baseSeries(context, plan)
        let result = try Self.resampleAll(context, plan, base, under: context.node, chunkRows: chunkRows)
        for (tf, list) in result {
            for s in list { context.artifacts.set(ArtifactKey.series(s.symbol, tf.rawValue), s) }
        }
    }

    /// Resamples every series to every timeframe of `plan`, reporting progress under `node`.
    /// - Returns: per timeframe, one series per symbol in request order.
    /// - Throws: ``StageError`` when a timeframe is finer than a dataset's own, `StageCancelled`.
    static func resampleAll(
        _ context: StageContext, _ plan: ExperimentPlan, _ base: [OHLCVSeries], under node: String,
        chunkRows: Int = 1 << 18
    ) throws -> [Timeframe: [OHLCVSeries]] {
        for s in base {
            if let own = s.timeframe, let finest = plan.timeframes.first, finest < own {
                throw StageError(
                    "cannot resample \(s.symbol) (\(own) bars) to the finer timeframe \(finest): request timeframes of \(own) or more")
            }
        }
        var done: [Timeframe: [OHLCVSeries]] = [:]
        // The source of each (timeframe, symbol): the coarsest nested result so far, else the base.
        func source(_ tf: Timeframe, _ symbol: Int) -> OHLCVSeries {
            let nested = done.keys.filter { $0 < tf && tf.durationMicros % $0.durationMicros == 0 }
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
            for s in sources {
                try context.checkpoint()
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
                "resampled", metadata: [
                    "timeframe": "\(tf)", "rows_in": "\(total)", "rows_out": "\(results.reduce(0) { $0 + $1.count })",
                    "from": "\(Set(sources.map { $0.timeframe?.rawValue ?? "raw" }).sorted().joined(separator: ","))",
                ])
            done[tf] = results
        }
        return done
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
