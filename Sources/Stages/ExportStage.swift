import Export
import Foundation
import Logging
import MarketData
public import Pipeline

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// `export`: the table of every timeframe (and the fused signals, when the
/// experiment ran fusion: `signals.<format>`) as files in the experiment's
/// folder, recorded as artifacts.
///
/// Per timeframe and format (``ExportOptions``: `config.export.formats`,
/// default `csv` and `parquet`; `config.export.compression`, default `zstd`):
/// `features_<tf>.csv`, `features_<tf>.csv.gz` or `features_<tf>.parquet`,
/// with `timestamp` (bar open time, UTC) then `<symbol>_<column>` in
/// lowercase. Rows are written in batches of ``batchRows`` (fewer for a wide
/// table: about 65,536 cells a batch) with a checkpoint
/// before each (progress in rows, one step per file, one substep per batch:
/// `batch_1`, `batch_2`, …); each file is written
/// under a `.partial` name and renamed when complete, then recorded with the
/// environment (name, format, absolute path, size, rows; no SHA-256).
///
/// The table of a timeframe is the last one the experiment built (see
/// ``TableChain``): the merged bars plus the features, pattern and forecast
/// columns of the stages it ran. When those ran in an earlier run, their
/// tables come from their checkpoints.
public struct ExportStage: Stage {
    public let name = "export"
    /// Rows per batch handed to a writer; default 65,536.
    public var batchRows: Int
    /// Cells (rows × columns) per batch at most, so that a wide table's
    /// batches also take milliseconds (at least 256 rows a batch).
    static let batchCells = 1 << 16

    /// Creates the stage.
    /// - Parameter batchRows: rows per batch; default 65,536.
    public init(batchRows: Int = 1 << 16) {
        precondition(batchRows > 0)
        self.batchRows = batchRows
    }

    public func run(_ context: StageContext) throws {
        let plan = try context.plan
        let options = plan.options(ExportOptions.self)
        // The last table the experiment built: merged, plus features, patterns and forecasts when it ran them.
        // One timeframe's table at a time (read back from its checkpoint under memory pressure, see ``MemoryReaction``).
        let tables = try TableChain.Source(for: name, context, plan)
        var memory = MemoryReaction(context)
        try FileManager.default.createDirectory(at: context.directory, withIntermediateDirectories: true)
        var jobs: [(tf: String, format: ExportOptions.Format, timeframe: Timeframe, step: String)] = []
        for tf in plan.timeframes {
            guard let rows = tables.rows[tf] else { throw StageError("no merged \(tf) table to export") }
            for format in options.formats {
                let name = "features_\(tf.rawValue).\(format.rawValue)"
                // CSV costs more per row than Parquet: weigh it so.
                let weight = Double(max(rows, 1)) * (format == .parquet ? 1 : 4)
                let step = context.progress.child(of: context.node, name, total: Int64(rows), weight: weight)
                jobs.append((tf.rawValue, format, tf, step))
            }
        }
        var held: (tf: Timeframe, table: AlignedTable)?
        // Feature files the stage cache restored (their tables' key was there).
        let restored = Self.restoredFiles(context)
        for job in jobs {
            try context.checkpoint()
            if restored.contains("features_\(job.tf).\(job.format.rawValue)") {
                context.progress.finish(job.step, .cached)
                continue
            }
            let pressure = try memory.level("timeframe \(job.tf)")
            if held?.tf != job.timeframe {
                if let last = held?.tf, pressure >= .shrink { tables.release(last) }
                held = nil  // before the next is read: one table at a time
                guard let table = try tables.table(job.timeframe) else { throw StageError("no merged \(job.tf) table to export") }
                held = (job.timeframe, table)
            }
            guard let table = held?.table else { continue }
            let name = "features_\(job.tf).\(job.format.rawValue)"
            let url = context.directory.appendingPathComponent(name).standardizedFileURL.absoluteURL
            context.progress.start(job.step)
            let started = ContinuousClock.now
            try write(table, format: job.format, compression: options.compression, to: url, context, step: job.step)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
            context.progress.finish(job.step)
            context.logger.info(
                "exported",
                metadata: [
                    "file": "\(name)", "rows": "\(table.count)", "columns": "\(table.columns.count + 1)",
                    "bytes": "\(size)", "ms": "\(Int(started.duration(to: .now).seconds * 1000))",
                ])
            let info = ArtifactInfo(
                name: name, format: job.format.rawValue, path: url.path, sizeBytes: size, sha256: nil,
                rows: Int64(table.count))
            RecordedArtifacts.note(info, context)
            if let environment = context.environment {
                try context.checkpoint()  // the file is in place; recording it is a round trip to PostgreSQL
                try environment.recordArtifact(info, experiment: context.experimentID)
            } else {
                context.logger.warning("no environment: the file is not recorded as an artifact", metadata: ["file": "\(name)"])
            }
        }
        held = nil
        // The fused signals, when the experiment ran fusion.
        if plan.stages.contains("fusion") {
            let signals = try FusionStage.signals(context)
            for format in options.formats {
                try context.checkpoint()
                // Built batch by batch (with a checkpoint before each), not all columns first.
                try Self.writeSmall(
                    specs: Self.signalColumns(signals.prefix(0)).map(\.spec), rows: signals.count, name: "signals",
                    format: format, compression: options.compression, context
                ) { range in Self.signalColumns(signals[range]) }
            }
        }
    }

    /// The signals as export columns (the components by name, sources joined by `;`).
    static func signalColumns<C: Collection<SignalRecord>>(_ signals: C) -> [ExportColumn] {
        var columns = [
            ExportColumn("timestamp", .timestamp(signals.map(\.timestampMicros))),
            ExportColumn("symbol", .string(signals.map(\.symbol))),
            ExportColumn("timeframe", .string(signals.map(\.timeframe))),
            ExportColumn("direction", .string(signals.map(\.direction))),
            ExportColumn("entry", .double(signals.map(\.entry))),
            ExportColumn("stop", .double(signals.map(\.stop))),
            ExportColumn("target", .double(signals.map(\.target))),
            ExportColumn("horizon_bars", .int64(signals.map { Int64($0.horizonBars) })),
            ExportColumn("quality", .double(signals.map(\.quality))),
            ExportColumn("accepted", .bool(signals.map(\.accepted))),
        ]
        for (k, name) in SignalRecord.componentNames.enumerated() {
            columns.append(ExportColumn(name, .double(signals.map { $0.components[k] })))
        }
        columns.append(ExportColumn("sources", .string(signals.map { $0.sources.joined(separator: ";") })))
        // Issue 13: the prior quality and the triple-barrier outcome (R is NaN while open).
        columns.append(ExportColumn("quality_prior", .double(signals.map(\.qualityPrior))))
        columns.append(ExportColumn("outcome", .string(signals.map(\.outcome))))
        columns.append(ExportColumn("outcome_r", .double(signals.map { $0.outcomeR ?? .nan })))
        return columns
    }

    /// Writes a table (signals, trades, equity) as `<name>.<format>` in the
    /// experiment's folder and records it as an artifact: in batches of about
    /// ``batchCells`` cells with a checkpoint before each, like the tables.
    static func writeSmall(
        _ columns: [ExportColumn], name: String, format: ExportOptions.Format, compression: ParquetCompression,
        _ context: StageContext
    ) throws {
        let count = columns.first?.values.count ?? 0
        try writeSmall(
            specs: columns.map(\.spec), rows: count, name: name, format: format, compression: compression, context
        ) { range in range == 0..<count ? columns : columns.map { $0.slice(range) } }
    }

    /// Writes `rows` rows of columns `specs` as `<name>.<format>` like
    /// ``writeSmall(_:name:format:compression:_:)``, asking `batch` for the
    /// columns of each batch of rows (about ``batchCells`` cells) after the
    /// checkpoint before it, so the columns are never built all at once.
    /// - Parameter batch: the columns (as `specs`) of the rows in a range.
    static func writeSmall(
        specs: [ColumnSpec], rows count: Int, name: String, format: ExportOptions.Format,
        compression: ParquetCompression, _ context: StageContext, batch: (Range<Int>) throws -> [ExportColumn]
    ) throws {
        try FileManager.default.createDirectory(at: context.directory, withIntermediateDirectories: true)
        let file = "\(name).\(format.rawValue)"
        let url = context.directory.appendingPathComponent(file).standardizedFileURL.absoluteURL
        let rowsPerBatch = max(256, batchCells / max(1, specs.count))
        try Self.writeFile(specs, format: format, compression: compression, to: url, context) { append in
            var start = 0
            repeat {
                try context.checkpoint()
                let end = min(count, start + rowsPerBatch)
                try append(try batch(start..<end))
                start = end
            } while start < count
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.int64Value ?? 0
        let rows = Int64(count)
        context.logger.info("exported", metadata: ["file": "\(file)", "rows": "\(rows)", "bytes": "\(size)"])
        let info = ArtifactInfo(name: file, format: format.rawValue, path: url.path, sizeBytes: size, rows: rows)
        RecordedArtifacts.note(info, context)
        try context.checkpoint()
        try context.environment?.recordArtifact(info, experiment: context.experimentID)
    }

    private func write(
        _ table: AlignedTable, format: ExportOptions.Format, compression: ParquetCompression, to url: URL,
        _ context: StageContext, step: String
    ) throws {
        let columns = ExportColumn.columns(of: table)
        // A wide table gets shorter batches: about `batchCells` cells each.
        let rowsPerBatch = max(256, min(batchRows, Self.batchCells / max(1, columns.count)))
        var batches = ChunkProgress(
            context.progress, step: step, prefix: "batch", expectedRows: Int64(table.count), chunkRows: rowsPerBatch)
        try Self.writeFile(columns.map(\.spec), format: format, compression: compression, to: url, context) { append in
            var start = 0
            repeat {
                try context.checkpoint()
                // Under memory pressure (80 % of the budget) the batches are a quarter as long.
                let batch = context.memoryPressure >= .shrink ? max(256, rowsPerBatch / 4) : rowsPerBatch
                let end = min(table.count, start + batch)
                try append(start == 0 && end == table.count ? columns : columns.map { $0.slice(start..<end) })
                batches.record(end - start)
                start = end
            } while start < table.count
        }
        batches.finish()
    }

    /// Writes a file of `format` under a `.partial` name — `fill` hands the
    /// writer its batches — and renames it into place when complete; on any
    /// error the partial file is removed. A Parquet writer also reaches the
    /// context's checkpoint before every page of a row group (its long
    /// `close`); a cancel there ends the write with `StageCancelled`.
    static func writeFile(
        _ specs: [ColumnSpec], format: ExportOptions.Format, compression: ParquetCompression, to url: URL,
        _ context: StageContext, _ fill: (_ append: ([ExportColumn]) throws -> Void) throws -> Void
    ) throws {
        let partial = url.path + ".\(uniqueTemporarySuffix()).partial"
        let append: ([ExportColumn]) throws -> Void
        let close: () throws -> Void
        switch format {
        case .csv, .csvGzip:
            let writer = try CSVTableWriter(path: partial, columns: specs, gzip: format == .csvGzip)
            append = { try writer.write($0) }
            close = { try writer.close() }
        case .parquet:
            let writer = try ParquetWriter(path: partial, columns: specs, compression: compression)
            writer.checkpoint = { try context.checkpoint() }
            append = { try writer.write($0) }
            close = { try writer.close() }
        }
        do {
            try fill(append)
            try close()
        } catch {
            try? close()
            unlink(partial)
            // The only error a checkpoint throws is the cancel.
            if let e = error as? ExportError, e.code == .interrupted { throw StageCancelled() }
            throw error
        }
        guard rename(partial, url.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(partial)
            throw StageError("\(url.lastPathComponent): cannot rename into place: \(reason)")
        }
    }
}

extension ExportColumn {
    /// The rows in `range`, copied.
    func slice(_ range: Range<Int>) -> ExportColumn {
        switch values {
        case .timestamp(let v): return ExportColumn(name, .timestamp(Array(v[range])))
        case .double(let v): return ExportColumn(name, .double(Array(v[range])))
        case .int64(let v): return ExportColumn(name, .int64(Array(v[range])))
        case .string(let v): return ExportColumn(name, .string(Array(v[range])))
        case .bool(let v): return ExportColumn(name, .bool(Array(v[range])))
        }
    }
}
