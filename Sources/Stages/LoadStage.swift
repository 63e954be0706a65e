import Foundation
import Logging
import MarketData
public import Pipeline

/// `load`: reads every dataset of the request into a columnar series.
///
/// A dataset named by `dataset_id` is the uploaded file the environment knows;
/// one named by `path` is that file under the data root, opened beneath it
/// (``DataRoot``: a symbolic link out of the root is refused, wherever it is
/// on the way) and read from that open file. Files are read in
/// chunks of ``chunkRows`` rows, validated as they are read (``OHLCVCSVReader``),
/// with progress in rows (one step per symbol, weighted by file size, and one
/// substep per chunk: `chunk_1`, `chunk_2`, …) and a checkpoint before every
/// ``checkpointRows`` rows of a chunk. The first bad row fails the stage with
/// `file:line: reason`.
///
/// Each series is stored as `series.<SYMBOL>` (``ArtifactKey/series(_:)``) with
/// its timeframe inferred from the data and checked (``TimeframeInference``):
/// the timeframe most gaps are one bar of (`1m … 1w`, `1M`), with every bar on
/// its UTC grid. A file whose bars fit no timeframe fails the stage naming the
/// first gap that does not fit; one that never has two bars one bar apart
/// takes the timeframe recorded at upload when it fits it, and fails otherwise.
/// A single bar has no timeframe (the resampler buckets it as it is).
public struct LoadStage: Stage {
    public let name = "load"
    /// Rows per chunk; default 16,384 (a few milliseconds of parsing, so
    /// pauses, progress and rows/s move often even on a busy host).
    public var chunkRows: Int

    /// Rows parsed between two checkpoints at most (about a millisecond, or
    /// a few on a busy host): a chunk is read in pieces of this size, so a
    /// pause takes effect within a chunk; the progress still counts chunks.
    static let checkpointRows = 1 << 12

    /// Creates the stage.
    /// - Parameter chunkRows: rows per chunk; default 16,384.
    public init(chunkRows: Int = 1 << 14) {
        precondition(chunkRows > 0)
        self.chunkRows = chunkRows
    }

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        let inputs = try Self.loadAll(context, plan, under: context.node, chunkRows: chunkRows)
        StageInputs.store(inputs, in: context)
        if let base = inputs.compactMap(\.timeframe).max() { context.artifacts.set(ArtifactKey.baseTimeframe, base) }
    }

    /// Loads every dataset of `plan`, reporting progress under `node`.
    ///
    /// When the datasets' bars would take more than half the memory budget
    /// (estimated from the file sizes), or memory is already at the spill
    /// level, each file is validated in one pass without keeping its bars,
    /// and `resample` streams it again (``StreamedDataset``); the log says so.
    /// - Returns: one input per dataset, in request order.
    /// - Throws: ``StageError`` (no environment, missing file, empty file),
    ///   ``MarketDataError`` (`file:line: reason`), `StageCancelled`.
    static func loadAll(
        _ context: StageContext, _ plan: ExperimentPlan, under node: String, chunkRows: Int = 1 << 16
    ) throws -> [BaseInput] {
        guard let environment = context.environment else {
            throw StageError("this engine has no data root to read datasets from")
        }
        // Resolve every file first, so a missing one fails before any reading.
        var files: [(symbol: String, file: ReadableFile, display: String, size: Int64, estimate: Int64?, recorded: Timeframe?)] = []
        let root = environment.dataRoot.standardizedFileURL.path
        let dataRoot = DataRoot(path: root)
        for d in plan.datasets {
            let file: ReadableFile
            let display: String
            var recorded: Timeframe? = nil
            if let id = d.datasetID {
                let url = try environment.datasetFile(id: id)
                recorded = environment.datasetTimeframe(id: id).flatMap(Timeframe.init(rawValue:))
                let path = url.standardizedFileURL.path
                if path.hasPrefix(root + "/") {
                    display = String(path.dropFirst(root.count + 1))
                    file = try Self.open(display, in: dataRoot)
                } else {
                    display = url.lastPathComponent
                    file = try ReadableFile.open(path: url.path, displayName: display)
                }
            } else if let path = d.path {
                display = path
                file = try Self.open(path, in: dataRoot)
            } else {
                throw StageError("dataset \(d.symbol) names neither dataset_id nor path")
            }
            files.append((d.symbol, file, display, file.size, Self.estimateRows(file), recorded))
        }
        // One step per file, one substep per chunk of rows (a gzip file's rows
        // are guessed from its size until it has been read).
        let steps = files.map { f in
            context.progress.child(
                of: node, f.symbol, total: f.estimate ?? max(1, f.size * 4 / 60), weight: Double(max(f.size, 1)))
        }
        // Bars in memory cost 8 bytes per column; a gzip file's rows are
        // guessed at 4x its size over ~60 bytes per line.
        let estimatedBytes = files.reduce(Int64(0)) { sum, f in
            sum + (f.estimate ?? f.size * 4 / 60) * 8 * 7
        }
        let budget = context.memoryBudgetBytes
        let streaming = context.memoryPressure >= .spill || budget.map { estimatedBytes > $0 / 2 } ?? false
        if streaming {
            context.logger.notice(
                "the datasets exceed half the memory budget: validating them without keeping their bars; resample streams them from disk",
                metadata: [
                    "estimated_bytes": "\(estimatedBytes)", "budget_bytes": "\(budget.map(String.init) ?? "none")",
                    "pressure": "\(context.memoryPressure)",
                ])
        }
        var out: [BaseInput] = []
        for (f, step) in zip(files, steps) {
            try context.checkpoint()
            context.progress.start(step)
            var chunks = ChunkProgress(
                context.progress, step: step, prefix: "chunk", expectedRows: f.estimate, chunkRows: chunkRows)
            let started = ContinuousClock.now
            let reader = try OHLCVCSVReader(file: f.file, fileName: f.display, symbol: f.symbol)
            if streaming {
                var inference = TimeframeInference()
                var rows = 0
                while true {
                    try context.checkpoint()
                    let size = context.memoryPressure >= .shrink ? max(1024, chunkRows / 4) : chunkRows
                    guard let chunk = try reader.next(maxRows: min(size, Self.checkpointRows)) else { break }
                    inference.feed(chunk.timestamps)
                    rows += chunk.count
                    chunks.record(chunk.count)
                }
                chunks.finish()
                guard rows > 0 else { throw StageError("\(f.display): the file has no rows") }
                let dataset = StreamedDataset(
                    symbol: f.symbol, file: f.file, display: f.display, rows: rows,
                    timeframe: try Self.timeframe(inference, display: f.display, recorded: f.recorded, context),
                    extraNames: reader.extraNames)
                context.progress.setTotal(step, Int64(rows))
                context.progress.finish(step)
                let seconds = started.duration(to: .now).seconds
                context.logger.info(
                    "dataset validated (streamed: bars not kept in memory)",
                    metadata: [
                        "symbol": "\(f.symbol)", "file": "\(f.display)", "rows": "\(rows)",
                        "timeframe": "\(dataset.timeframe?.rawValue ?? "unknown")",
                        "rows_per_s": "\(Int(Double(rows) / max(seconds, 1e-9)))",
                    ])
                out.append(.streamed(dataset))
                continue
            }
            var series = OHLCVSeries.empty(symbol: f.symbol, extraNames: reader.extraNames)
            if let estimate = f.estimate { series.reserveCapacity(Int(estimate) + 1024) }
            // The timeframe is inferred chunk by chunk as the rows are read (not
            // in one scan of the whole series afterwards, which had no checkpoint).
            var inference = TimeframeInference()
            while true {
                try context.checkpoint()
                guard let chunk = try reader.next(maxRows: min(chunkRows, Self.checkpointRows)) else { break }
                inference.feed(chunk.timestamps)
                series.append(contentsOf: chunk)
                chunks.record(chunk.count)
            }
            chunks.finish()
            guard !series.isEmpty else { throw StageError("\(f.display): the file has no rows") }
            series.timeframe = try Self.timeframe(inference, display: f.display, recorded: f.recorded, context)
            context.progress.setTotal(step, Int64(series.count))
            context.progress.finish(step)
            let seconds = started.duration(to: .now).seconds
            context.logger.info(
                "dataset loaded",
                metadata: [
                    "symbol": "\(f.symbol)", "file": "\(f.display)", "rows": "\(series.count)",
                    "timeframe": "\(series.timeframe?.rawValue ?? "unknown")",
                    "extra_columns": "\(series.extras.map(\.name).joined(separator: ","))",
                    "rows_per_s": "\(Int(Double(series.count) / max(seconds, 1e-9)))",
                ])
            out.append(.series(series))
        }
        return out
    }

    /// The timeframe of bars at `timestamps` (see ``TimeframeInference``).
    /// - Returns: the timeframe, or `nil` (fewer than two bars, irregular, or undetermined).
    static func inferTimeframe(_ timestamps: [Int64]) -> Timeframe? {
        var inference = TimeframeInference()
        inference.feed(timestamps)
        return inference.result
    }

    /// The timeframe a loaded file's bars have, from what `inference` saw and
    /// the timeframe `recorded` at upload (nil for a path).
    /// - Returns: the inferred timeframe; for undetermined data the recorded one
    ///   when every bar is on its grid; nil for a single bar without a record.
    /// - Throws: ``StageError`` naming the file and the first gap that fits no timeframe.
    static func timeframe(
        _ inference: TimeframeInference, display: String, recorded: Timeframe?, _ context: StageContext
    ) throws -> Timeframe? {
        let verdict = inference.verdict
        switch verdict {
        case .timeframe(let tf):
            if let recorded, recorded != tf {
                context.logger.warning(
                    "the dataset was recorded as \(recorded) at upload but its bars are \(tf): using \(tf)",
                    metadata: ["file": "\(display)"])
            }
            return tf
        case .undetermined(nil):
            if recorded == nil {
                context.logger.warning(
                    "a single bar does not tell its timeframe: it is resampled as it is", metadata: ["file": "\(display)"])
            }
            return recorded
        case .undetermined:
            if let recorded, inference.fits(recorded) { return recorded }
            throw StageError("\(display): \(verdict.problem ?? "the bars fit no timeframe")")
        case .irregular:
            throw StageError("\(display): \(verdict.problem ?? "the bars fit no timeframe")")
        }
    }

    /// Opens `path` beneath the data root.
    /// - Throws: ``StageError`` `path: reason` (missing, a directory, outside the root, …).
    static func open(_ path: String, in root: DataRoot) throws -> ReadableFile {
        do { return try root.open(path) } catch { throw StageError(error.description) }
    }

    /// Rows in a plain CSV file, estimated from the line lengths of its first
    /// 256 KiB; `nil` for gzip input (its size says little).
    static func estimateRows(_ file: ReadableFile) -> Int64? {
        let size = file.size
        let head = file.prefix(1 << 18)
        guard !head.isEmpty else { return 0 }
        if head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B { return nil }
        let lines = head.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
        if Int64(head.count) >= size { return Int64(max(lines - 1, 0)) }
        guard lines > 1 else { return nil }
        return max(0, Int64(Double(size) * Double(lines) / Double(head.count)) - 1)
    }
}

extension OHLCVSeries {
    /// Reserves room for `n` bars in every column.
    mutating func reserveCapacity(_ n: Int) {
        timestamps.reserveCapacity(n)
        open.reserveCapacity(n)
        high.reserveCapacity(n)
        low.reserveCapacity(n)
        close.reserveCapacity(n)
        volume.reserveCapacity(n)
        for i in extras.indices { extras[i].values.reserveCapacity(n) }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
