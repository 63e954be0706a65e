public import Pipeline

/// The market-data stages, for a ``StageRegistry``.
public enum MarketDataStages {
    /// `load`, `resample`, `merge` and `export` with their default chunk sizes.
    public static var all: [any Stage] { [LoadStage(), ResampleStage(), MergeStage(), ExportStage()] }
}

/// Every stage of the default experiment, in pipeline order (``BuiltInStages``).
public enum SignalForgeStages {
    /// `load` → `resample` → `merge` → `features` → `patterns` → `forecast` → `fusion` → `export` → `analysis`.
    public static var all: [any Stage] { BuiltInStages.all }
}
