import Foundation
import MarketData

/// A dataset too large to hold within the memory budget: `load` validates it
/// in one pass without keeping its bars, and `resample` reads it again in
/// chunks, feeding every requested timeframe at once, so only the (much
/// smaller) resampled series are ever in memory.
struct StreamedDataset: Sendable {
    var symbol: String
    /// The file, opened (beneath the data root) by `load`: read again from
    /// its start, never reopened by name.
    var file: ReadableFile
    /// The name used in logs and errors (relative to the data root).
    var display: String
    var rows: Int
    var timeframe: Timeframe?
    var extraNames: [String]
}

/// A loaded dataset: its bars in memory, or a file to stream.
enum BaseInput {
    case series(OHLCVSeries)
    case streamed(StreamedDataset)

    var symbol: String {
        switch self {
        case .series(let s): s.symbol
        case .streamed(let d): d.symbol
        }
    }

    var timeframe: Timeframe? {
        switch self {
        case .series(let s): s.timeframe
        case .streamed(let d): d.timeframe
        }
    }
}

extension ArtifactKey {
    /// A dataset `load` left on disk because it exceeds the memory budget: a `StreamedDataset`.
    static func streamed(_ symbol: String) -> String { "streamed.\(symbol)" }
}
