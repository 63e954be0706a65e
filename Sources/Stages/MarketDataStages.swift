public import Pipeline

/// The market-data stages, for a ``StageRegistry``.
public enum MarketDataStages {
    /// `load`, `resample`, `merge` and `export` with their default chunk sizes.
    public static var all: [any Stage] { [LoadStage(), ResampleStage(), MergeStage(), ExportStage()] }
}
