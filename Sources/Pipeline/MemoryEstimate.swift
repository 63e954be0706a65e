public import Foundation

/// An estimate of the memory an experiment adds to the process at its peak,
/// from its datasets' sizes, its timeframes and its stages. The memory
/// budget's admission claims an experiment only when this fits the budget
/// left by the experiments already running (see docs/memory.md, where the
/// model and its constants are explained).
public struct MemoryEstimate: Sendable, Equatable {
    /// One dataset: the size of its file and whether it is gzip-compressed.
    public struct Dataset: Sendable, Equatable {
        public var bytes: Int64
        public var gzip: Bool
        public init(bytes: Int64, gzip: Bool = false) {
            self.bytes = bytes
            self.gzip = gzip
        }
    }

    /// Bytes of a CSV line of bars (`timestamp,open,high,low,close,volume`).
    public static let bytesPerLine: Int64 = 56
    /// A gzip file's text is taken as this many times its size.
    public static let gzipRatio: Int64 = 4
    /// Bytes of one bar held by `load` (timestamp and five columns, plus one extra, 8 bytes each).
    public static let bytesPerLoadedBar: Int64 = 7 * 8
    /// What `load` holds when it streams (chunks of rows).
    public static let streamingBytes: Int64 = 8 << 20
    /// A run's fixed cost: its thread, progress tree, log and event buffers, writers.
    public static let overheadBytes: Int64 = 24 << 20

    /// The estimated peak, in bytes, over the process's use before the run.
    public var peakBytes: Int64
    /// Whether `load` is expected to stream the datasets from disk (their bars exceed half the budget).
    public var streams: Bool

    /// Estimates an experiment's peak.
    /// - Parameters:
    ///   - datasets: each dataset's file (size, compression).
    ///   - timeframeSeconds: the requested timeframes, in seconds.
    ///   - stages: the stages it runs.
    ///   - budgetBytes: the memory budget (decides whether `load` streams).
    ///   - baseSeconds: the datasets' bar length (default 60: 1m bars).
    public init(datasets: [Dataset], timeframeSeconds: [Int], stages: [String], budgetBytes: Int64, baseSeconds: Int = 60) {
        let rows = datasets.map { ($0.gzip ? $0.bytes * Self.gzipRatio : $0.bytes) / Self.bytesPerLine }
        let symbols = Int64(max(1, datasets.count))
        let has = Set(stages)
        // load (and resample, which reads what load holds): every bar in memory, or chunks when streaming.
        let loaded = rows.reduce(0, +) * Self.bytesPerLoadedBar
        streams = loaded > budgetBytes / 2
        // The bars, and the parser's buffers while a file is read (a quarter
        // more); resample lets them go, so they never live beside the tables.
        let loading = has.contains("load") || has.contains("resample") ? (streams ? Self.streamingBytes : loaded + loaded / 4) : 0
        // The merged tables, one per timeframe, and what the later stages add to them.
        let longest = rows.max() ?? 0
        var perRowColumns: Int64 = 6  // OHLCV + extra per symbol
        if has.contains("merge") { perRowColumns += Int64(max(0, timeframeSeconds.count - 1)) * 6 }
        if has.contains("features") { perRowColumns += 16 }
        if has.contains("patterns") { perRowColumns += 12 }
        var tables: Int64 = 0
        for tf in timeframeSeconds where tf > 0 {
            let tfRows = longest * Int64(baseSeconds) / Int64(max(tf, baseSeconds))
            tables += tfRows * symbols * perRowColumns * 8
        }
        // Two generations of each table live at once (a stage's input and its
        // output); forecast/fusion (their series and candidates) add about one
        // more, export (its column batches and encoders) another.
        var copies: Int64 = 2
        if has.contains("forecast") || has.contains("fusion") { copies += 1 }
        if has.contains("export") { copies += 1 }
        peakBytes = Self.overheadBytes + max(loading, tables * copies)
    }

    /// Estimates from the normalized request JSON (`datasets`, `timeframes`, `stages`).
    /// - Parameters:
    ///   - request: the experiment's request.
    ///   - budgetBytes: the memory budget.
    ///   - fileSize: the size of a dataset's file, by `path` (relative to the
    ///     data root) or `dataset_id`; nil when unknown (counted as 0).
    public init(request: Data, budgetBytes: Int64, fileSize: (_ path: String?, _ datasetID: UUID?) -> Int64?) {
        let object = (try? JSONSerialization.jsonObject(with: request)) as? [String: Any] ?? [:]
        let datasets = (object["datasets"] as? [[String: Any]] ?? []).map { d -> Dataset in
            let path = d["path"] as? String
            let id = (d["dataset_id"] as? String).flatMap(UUID.init(uuidString:))
            return Dataset(bytes: fileSize(path, id) ?? 0, gzip: path?.hasSuffix(".gz") ?? false)
        }
        let timeframes = (object["timeframes"] as? [String] ?? ["1h"]).compactMap(Self.seconds)
        let stages =
            object["stages"] as? [String]
            ?? ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"]
        self.init(datasets: datasets, timeframeSeconds: timeframes, stages: stages, budgetBytes: budgetBytes)
    }

    /// `15m`, `1h`, `4h`, `1d`, `1w`, `1M` in seconds (a month as 30 days); nil when not a timeframe.
    static func seconds(_ name: String) -> Int? {
        guard let unit = name.last, let n = Int(name.dropLast()), n > 0 else { return nil }
        switch unit {
        case "s": return n
        case "m": return n * 60
        case "h": return n * 3600
        case "d": return n * 86_400
        case "w": return n * 604_800
        case "M": return n * 2_592_000
        default: return nil
        }
    }
}
