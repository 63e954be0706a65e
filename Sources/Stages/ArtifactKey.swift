internal import MarketData

/// The names under which the market-data stages hand values to later stages
/// through `StageContext.artifacts`.
public enum ArtifactKey {
    /// The loaded series of a symbol at its own (base) timeframe: an `OHLCVSeries`.
    public static func series(_ symbol: String) -> String { "series.\(symbol)" }

    /// A symbol's series at a requested timeframe (after resample): an `OHLCVSeries`.
    public static func series(_ symbol: String, _ timeframe: String) -> String { "series.\(symbol).\(timeframe)" }

    /// The merged table of a timeframe: an `AlignedTable`.
    public static func merged(_ timeframe: String) -> String { "merged.\(timeframe)" }

    /// The base timeframe after load: the coarsest of the datasets' own
    /// timeframes, a `Timeframe` (absent when none could be inferred).
    public static let baseTimeframe = "load.base_timeframe"
}
