public import Foundation

/// What stages need from the service around them: where inputs and outputs
/// live, and how a produced file becomes a downloadable artifact.
public protocol StageEnvironment: Sendable {
    /// The server's data root (datasets, artifacts, spill files).
    var dataRoot: URL { get }

    /// The file of an uploaded dataset.
    /// - Throws: when there is no such dataset.
    func datasetFile(id: UUID) throws -> URL

    /// The timeframe recorded for an uploaded dataset when it was checked at
    /// upload (e.g. `1h`, `1M`), or nil when unknown.
    func datasetTimeframe(id: UUID) -> String?

    /// The SHA-256 (hex) recorded for an uploaded dataset's file, or nil when unknown.
    func datasetSHA256(id: UUID) -> String?

    /// Records (or replaces) an artifact of the experiment: a file under its
    /// directory that `GET /v1/experiments/{id}/artifacts/{name}` serves.
    func recordArtifact(_ artifact: ArtifactInfo, experiment: UUID) throws

    /// The environment one run's stages see: its store calls go through
    /// `store` (waiting out outages, refused once the run is fenced out).
    func bound(to store: RunStore) -> any StageEnvironment
}

extension StageEnvironment {
    /// Default: nil (no record of uploads' timeframes).
    public func datasetTimeframe(id: UUID) -> String? { nil }

    /// Default: nil (the stage cache then hashes the file itself).
    public func datasetSHA256(id: UUID) -> String? { nil }

    /// Default: the same environment (one without a store).
    public func bound(to store: RunStore) -> any StageEnvironment { self }
}

/// A file an experiment produced.
public struct ArtifactInfo: Sendable, Equatable {
    /// The download name, e.g. `features_1h.parquet`.
    public var name: String
    /// `csv`, `csv.gz`, `parquet`, `json`, …
    public var format: String
    /// Absolute path of the file.
    public var path: String
    public var sizeBytes: Int64
    public var sha256: String?
    public var rows: Int64?

    public init(name: String, format: String, path: String, sizeBytes: Int64, sha256: String? = nil, rows: Int64? = nil) {
        self.name = name
        self.format = format
        self.path = path
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.rows = rows
    }
}

/// A fused trading signal as stored in `signals` and served by
/// `GET /v1/experiments/{id}/signals`.
public struct SignalRecord: Sendable, Equatable {
    /// The six quality components, in their documented order.
    public static let componentNames = [
        "pattern_strength", "mtf_agreement", "regime_confidence", "volume_confirmation", "sentiment_alignment",
        "correlation_safety",
    ]

    public var symbol: String
    public var timeframe: String
    /// Bar open time, µs since the epoch, UTC.
    public var timestampMicros: Int64
    /// `long` or `short`.
    public var direction: String
    public var entry: Double
    public var stop: Double
    public var target: Double
    public var horizonBars: Int
    public var quality: Double
    public var accepted: Bool
    /// One value per ``componentNames`` entry, same order.
    public var components: [Double]
    public var sources: [String]
    /// The component formula's quality (`quality` is the calibrated probability).
    public var qualityPrior: Double
    /// `target`, `stop`, `horizon` or `open`.
    public var outcome: String
    /// The outcome's R multiple after costs; nil while open.
    public var outcomeR: Double?
    /// When the outcome was decided (µs, UTC); nil while open.
    public var resolvedAtMicros: Int64?

    public init(
        symbol: String, timeframe: String, timestampMicros: Int64, direction: String, entry: Double, stop: Double,
        target: Double, horizonBars: Int, quality: Double, accepted: Bool, components: [Double], sources: [String],
        qualityPrior: Double? = nil, outcome: String = "open", outcomeR: Double? = nil, resolvedAtMicros: Int64? = nil
    ) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.timestampMicros = timestampMicros
        self.direction = direction
        self.entry = entry
        self.stop = stop
        self.target = target
        self.horizonBars = horizonBars
        self.quality = quality
        self.accepted = accepted
        self.components = components
        self.sources = sources
        self.qualityPrior = qualityPrior ?? quality
        self.outcome = outcome
        self.outcomeR = outcomeR
        self.resolvedAtMicros = resolvedAtMicros
    }
}

/// Where the intelligence stages keep their results: `signals` rows and the
/// backtest report. Kept apart from ``StageEnvironment`` so engines without
/// a database (tests) can leave them out.
public protocol ResultStore: Sendable {
    /// Replaces every signal of the experiment (a re-run writes them afresh).
    func replaceSignals(_ signals: [SignalRecord], experiment: UUID) throws
    /// Replaces every signal of the experiment in chunks of a few
    /// milliseconds each, calling `checkpoint` between chunks (so a pause or
    /// a drain takes effect within the write). A write stopped between chunks
    /// leaves a prefix of the rows, which the next replace removes; no row is
    /// ever stored twice. The default writes them at once.
    func replaceSignals(
        _ signals: [SignalRecord], experiment: UUID, checkpoint: () throws(StageCancelled) -> Void
    ) throws
    /// The experiment's signals exactly as ``replaceSignals(_:experiment:)``
    /// was given them: same order (fusion's), every double bit for bit, so a
    /// later run's `export` and `analysis` write the files an undisturbed run does.
    func signals(experiment: UUID) throws -> [SignalRecord]
    /// Stores (or replaces) the backtest report, a JSON object.
    func recordReport(_ json: String, experiment: UUID) throws
}

extension ResultStore {
    /// Default: one write, no checkpoint inside it.
    public func replaceSignals(
        _ signals: [SignalRecord], experiment: UUID, checkpoint: () throws(StageCancelled) -> Void
    ) throws {
        try replaceSignals(signals, experiment: experiment)
    }
}
