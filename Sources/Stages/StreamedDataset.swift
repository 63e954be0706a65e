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

/// The timeframe of bars seen chunk by chunk: the smallest gap, when it is a
/// known timeframe and every bar opens on its grid (nil for fewer than two bars).
struct TimeframeInference {
    private var minGap = Int64.max
    private var last: Int64?
    private var aligned = [Bool](repeating: true, count: Timeframe.allCases.count)

    mutating func feed(_ timestamps: [Int64]) {
        guard !timestamps.isEmpty else { return }
        timestamps.withUnsafeBufferPointer { t in
            var gap = minGap
            if let last { gap = min(gap, t[0] - last) }
            for i in 1..<t.count { gap = min(gap, t[i] - t[i - 1]) }
            minGap = gap
            // Only a timeframe no longer than the smallest gap so far can be the answer
            // (the gap only shrinks), so only those need their grid checked.
            for (k, tf) in Timeframe.allCases.enumerated() where aligned[k] && tf.durationMicros <= gap {
                let d = tf.durationMicros
                let origin = tf.originMicros
                aligned[k] = t.allSatisfy { ($0 - origin) % d == 0 }
            }
        }
        last = timestamps[timestamps.count - 1]
    }

    var result: Timeframe? {
        guard minGap != .max else { return nil }
        for (k, tf) in Timeframe.allCases.enumerated() where tf.durationMicros == minGap { return aligned[k] ? tf : nil }
        return nil
    }
}

extension ArtifactKey {
    /// A dataset `load` left on disk because it exceeds the memory budget: a `StreamedDataset`.
    static func streamed(_ symbol: String) -> String { "streamed.\(symbol)" }
}
