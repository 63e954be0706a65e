/// A columnar OHLCV series for one symbol: bar open times and five price/volume
/// columns as contiguous arrays, plus any extra numeric columns.
///
/// All columns have the same count. Timestamps are microseconds since the Unix
/// epoch, UTC, and are the bars' open times.
public struct OHLCVSeries: Sendable, Equatable {
    /// The symbol, such as `EURUSD`; may be empty when unknown.
    public var symbol: String
    /// The bars' timeframe, or `nil` when unknown (for example raw ticks or a file without one).
    public var timeframe: Timeframe?
    /// Bar open times, microseconds since the Unix epoch, UTC, strictly increasing.
    public var timestamps: [Int64]
    /// Open prices.
    public var open: [Double]
    /// High prices.
    public var high: [Double]
    /// Low prices.
    public var low: [Double]
    /// Close prices.
    public var close: [Double]
    /// Volumes.
    public var volume: [Double]
    /// Extra numeric columns by lowercase name, in file order (e.g. `sentiment`).
    public var extras: [NamedColumn]

    /// Creates a series. All arrays must have the same count.
    /// - Parameters:
    ///   - symbol: the symbol; default empty.
    ///   - timeframe: the timeframe; default `nil` (unknown).
    ///   - timestamps: bar open times (µs, UTC).
    ///   - open: open prices.
    ///   - high: high prices.
    ///   - low: low prices.
    ///   - close: close prices.
    ///   - volume: volumes.
    ///   - extras: extra columns; default none.
    public init(
        symbol: String = "", timeframe: Timeframe? = nil,
        timestamps: [Int64], open: [Double], high: [Double], low: [Double], close: [Double], volume: [Double],
        extras: [NamedColumn] = []
    ) {
        precondition(
            open.count == timestamps.count && high.count == timestamps.count && low.count == timestamps.count
                && close.count == timestamps.count && volume.count == timestamps.count
                && extras.allSatisfy { $0.values.count == timestamps.count },
            "OHLCVSeries: columns of different lengths")
        self.symbol = symbol
        self.timeframe = timeframe
        self.timestamps = timestamps
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.extras = extras
    }

    /// An empty series with the given extra column names.
    /// - Parameters:
    ///   - symbol: the symbol; default empty.
    ///   - timeframe: the timeframe; default `nil`.
    ///   - extraNames: names of the extra columns; default none.
    public static func empty(symbol: String = "", timeframe: Timeframe? = nil, extraNames: [String] = []) -> OHLCVSeries {
        OHLCVSeries(
            symbol: symbol, timeframe: timeframe, timestamps: [], open: [], high: [], low: [], close: [], volume: [],
            extras: extraNames.map { NamedColumn(name: $0, values: []) })
    }

    /// The number of bars.
    public var count: Int { timestamps.count }

    /// Whether the series has no bars.
    public var isEmpty: Bool { timestamps.isEmpty }

    /// The extra column called `name` (compared lowercase), if any.
    /// - Parameter name: the column name.
    /// - Returns: its values, or `nil`.
    public func extra(_ name: String) -> [Double]? {
        let key = name.lowercased()
        return extras.first { $0.name == key }?.values
    }

    /// Appends the bars of `other`, which must have the same extra columns in the same order.
    /// - Parameter other: the bars that follow this series' last bar.
    public mutating func append(contentsOf other: OHLCVSeries) {
        precondition(extras.map(\.name) == other.extras.map(\.name), "OHLCVSeries.append: different extra columns")
        timestamps.append(contentsOf: other.timestamps)
        open.append(contentsOf: other.open)
        high.append(contentsOf: other.high)
        low.append(contentsOf: other.low)
        close.append(contentsOf: other.close)
        volume.append(contentsOf: other.volume)
        for i in extras.indices { extras[i].values.append(contentsOf: other.extras[i].values) }
    }
}
