/// A problem in a market-data file, reported as `file:line: reason`.
public struct MarketDataError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: String, Sendable, Equatable {
        /// The file cannot be opened or read.
        case io
        /// The header has no timestamp column, or misses one of open, high, low, close, volume.
        case header
        /// A row has fewer or more fields than the header.
        case fieldCount
        /// A number that does not parse.
        case unparseableNumber
        /// A timestamp that does not parse.
        case unparseableTimestamp
        /// NaN or infinity in a price or volume.
        case notFinite
        /// A timestamp not after the one before it.
        case nonIncreasingTimestamp
        /// `low > min(open, close)`.
        case lowAboveBody
        /// `high < max(open, close)`.
        case highBelowBody
        /// A negative volume.
        case negativeVolume
        /// A price (open, high, low or close) that is zero or negative.
        case nonPositivePrice
        /// A line (record) longer than the reader's limit.
        case lineTooLong
        /// The compressed input is damaged.
        case compression
        /// A resampling request that cannot be honoured (for example to a finer timeframe).
        case resample
        /// An alignment request that cannot be honoured.
        case align
    }

    /// What kind of problem it is.
    public var code: Code
    /// The file name (as given to the reader), or empty.
    public var file: String
    /// The 1-based line number in the file (the header is line 1), or 0 when not about a line.
    public var line: Int
    /// A human-readable reason.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, file: String = "", line: Int = 0, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// `file:line: reason`.
    public var description: String {
        if line > 0 { return "\(file):\(line): \(reason)" }
        if !file.isEmpty { return "\(file): \(reason)" }
        return reason
    }
}
