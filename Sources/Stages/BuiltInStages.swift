import Analysis
import Forecasting
public import Foundation
public import MarketData
public import Pipeline
import SignalFusion

/// One built-in stage as the rest of the product sees it: its name, its
/// place in the pipeline, what must run before it, the `config` sections it
/// reads, its options type and, for the stage whose tables the web view
/// charts, where the chart's bars come from.
public struct StageDescriptor: Sendable {
    /// The stage's name (`merge`), also its `config` section's name.
    public let name: String
    /// The stages that must run before it in an experiment.
    public let prerequisites: [String]
    /// Its options type, decoded from `config.<name>`.
    public let options: any StageOptions.Type
    /// Every `config` section it reads (its own first; `fusion` also reads
    /// `patterns` and `analysis` (the costs of its outcome labels), `analysis`
    /// reads `export` and `fusion`); the stage cache keys on exactly these. A stage that recomputes an
    /// earlier stage's output after a restart reads that stage's section too.
    public let reads: [String]
    /// The chart's bars, when this stage leaves them (`merge`).
    public let bars: ChartBars?
    /// The version of the stage's output in the stage cache's keys: bump it
    /// by hand in the same commit as any change that alters what the stage
    /// produces from the same inputs (its entries are then recomputed; see `docs/cache.md`).
    public let cacheVersion: Int
    let make: @Sendable () -> any Stage

    /// A fresh instance of the stage, with its default settings.
    public func stage() -> any Stage { make() }
}

/// Where the web view's chart gets an experiment's bars: the tables a stage
/// left in the experiment's folder, read back without knowing their files.
public struct ChartBars: Sendable {
    /// The bars of one timeframe: every symbol's `<symbol>_open/high/low/close/volume`
    /// columns on one time index; nil when the stage has not written them (yet).
    public let table: @Sendable (_ experimentDirectory: URL, _ timeframe: Timeframe) -> AlignedTable?
    /// The timeframes it has bars for, finest first.
    public let timeframes: @Sendable (_ experimentDirectory: URL) -> [Timeframe]
}

/// The stages of the default experiment, in pipeline order: the one list of
/// them (the engine, the request checker, the log and retry routes and the
/// bars route all read it, directly or through the ``StageRegistry`` built
/// from it).
public enum BuiltInStages {
    /// `load` → `resample` → `merge` → `features` → `patterns` → `forecast` → `fusion` → `export` → `analysis`.
    public static let descriptors: [StageDescriptor] = [
        StageDescriptor(name: "load", prerequisites: [], options: LoadOptions.self, reads: ["load"], bars: nil, cacheVersion: 1) {
            LoadStage()
        },
        StageDescriptor(
            name: "resample", prerequisites: ["load"], options: ResampleOptions.self, reads: ["resample"], bars: nil, cacheVersion: 1
        ) {
            ResampleStage()
        },
        StageDescriptor(
            name: "merge", prerequisites: ["resample"], options: MergeOptions.self, reads: ["merge"], bars: MergeStage.chartBars,
            cacheVersion: 1
        ) {
            MergeStage()
        },
        StageDescriptor(
            name: "features", prerequisites: ["merge"], options: FeaturesOptions.self, reads: ["features"], bars: nil, cacheVersion: 1
        ) {
            FeaturesStage()
        },
        StageDescriptor(
            name: "patterns", prerequisites: ["merge"], options: PatternsOptions.self, reads: ["patterns"], bars: nil, cacheVersion: 1
        ) {
            PatternsStage()
        },
        StageDescriptor(
            name: "forecast", prerequisites: ["features"], options: ForecastConfig.self, reads: ["forecast"], bars: nil, cacheVersion: 1
        ) {
            ForecastStage()
        },
        StageDescriptor(
            name: "fusion", prerequisites: ["forecast", "patterns"], options: FusionConfig.self, reads: ["fusion", "patterns", "analysis"],
            bars: nil, cacheVersion: 1
        ) { FusionStage() },
        StageDescriptor(
            name: "export", prerequisites: ["merge"], options: ExportOptions.self, reads: ["export"], bars: nil, cacheVersion: 1
        ) {
            ExportStage()
        },
        StageDescriptor(
            name: "analysis", prerequisites: ["fusion"], options: AnalysisConfig.self, reads: ["analysis", "export", "fusion"], bars: nil,
            cacheVersion: 1
        ) { AnalysisStage() },
    ]

    /// The stage names in pipeline order.
    public static let names = descriptors.map(\.name)

    /// The descriptor of a built-in stage, or nil.
    public static func descriptor(_ name: String) -> StageDescriptor? { descriptors.first { $0.name == name } }

    /// What `name` needs to have run before it (empty for a name that is not built in).
    public static func prerequisites(of name: String) -> [String] { descriptor(name)?.prerequisites ?? [] }

    /// Every built-in stage with its default settings, in pipeline order.
    public static var all: [any Stage] { descriptors.map { $0.stage() } }

    /// A registry of every built-in stage.
    public static var registry: StageRegistry { StageRegistry(all) }

    /// The chart's bars: from the stage that leaves them (`merge`).
    public static var chartBars: ChartBars? { descriptors.lazy.compactMap(\.bars).first }
}

// The built-in stages take their prerequisites from the list above.
extension LoadStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }
extension ResampleStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }
extension MergeStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }
extension FeaturesStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }
extension PatternsStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }
extension ForecastStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }
extension FusionStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }
extension ExportStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }
extension AnalysisStage { public var prerequisites: [String] { BuiltInStages.prerequisites(of: name) } }

extension MergeStage {
    /// The chart's bars: while the experiment runs (or after it failed), the
    /// merged tables that `merge` checkpoints, `checkpoints/merged_<tf>.sftable`;
    /// once it succeeded, their OHLCV columns that ``keepAfterSuccess(_:logger:)``
    /// kept in `chart/bars_<tf>.sftable` (the checkpoints are then removed).
    static let chartBars = ChartBars(
        table: { directory, tf in
            TableCheckpoint.read(chartBarsURL(directory, tf)) ?? TableCheckpoint.read(StageInputs.mergedCheckpointURL(directory, tf))
        },
        timeframes: { directory in
            Timeframe.allCases.filter {
                FileManager.default.fileExists(atPath: chartBarsURL(directory, $0).path)
                    || FileManager.default.fileExists(atPath: StageInputs.mergedCheckpointURL(directory, $0).path)
            }
        })
}
