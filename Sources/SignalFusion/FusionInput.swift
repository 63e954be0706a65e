public import Patterns

/// The columns of one symbol × timeframe that fusion reads.
///
/// All bar columns have the same length, timestamps strictly increase. The
/// forecast columns are aligned with the bars and already free of look-ahead:
/// `predictions[t]` is the expected return over the forecast horizon made with
/// data up to the close of bar `t`, NaN where there is none.
public struct FusionInput: Sendable {
    /// The symbol, e.g. `EURUSD`.
    public var symbol: String
    /// The timeframe's name, e.g. `1h`. Inputs of one symbol with different
    /// timeframe names feed each other's multi-timeframe agreement; inputs of
    /// one timeframe name with different symbols feed each other's correlation
    /// safety.
    public var timeframe: String
    /// The bar duration in µs: a bar opened at `timestamps[t]` closes at
    /// `timestamps[t] + barDurationMicros`. > 0.
    public var barDurationMicros: Int64
    /// Each bar's close time, when bars differ in length (calendar months);
    /// nil means `timestamps[t] + barDurationMicros`.
    public var closeTimes: [Int64]?
    /// Bar open times, µs since the Unix epoch (UTC), strictly increasing.
    public var timestamps: [Int64]
    public var open: [Double]
    public var high: [Double]
    public var low: [Double]
    public var close: [Double]
    public var volume: [Double]
    /// The optional `sentiment` column, read as a score in [−1, 1] (clamped);
    /// `nil` when the dataset has none.
    public var sentiment: [Double]?
    /// The forecast per bar (expected return over its horizon), NaN = none.
    /// Empty means no forecast at all.
    public var predictions: [Double]
    /// The forecast's confidence per bar, NaN = unknown. Empty means unknown
    /// everywhere. Only checked against ``FusionConfig/minForecastConfidence``.
    public var confidence: [Double]
    /// The forecast's name in `sources` (`forecast:<name>`). Default `ensemble`.
    public var forecastName: String
    /// Candlestick and chart pattern events on these bars. An event takes part
    /// at bar `t` only when it became known at `t`:
    /// `max(endIndex, confirmedAt) == t`.
    public var patterns: [PatternEvent]
    /// What a round trip costs on this symbol, for the outcomes' R. Default none.
    public var costs: TradingCosts

    /// Creates an input.
    public init(
        symbol: String, timeframe: String, barDurationMicros: Int64, closeTimes: [Int64]? = nil,
        timestamps: [Int64], open: [Double], high: [Double], low: [Double],
        close: [Double], volume: [Double], sentiment: [Double]? = nil,
        predictions: [Double] = [], confidence: [Double] = [],
        forecastName: String = "ensemble", patterns: [PatternEvent] = [], costs: TradingCosts = TradingCosts()
    ) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.barDurationMicros = barDurationMicros
        self.closeTimes = closeTimes
        self.timestamps = timestamps
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.sentiment = sentiment
        self.predictions = predictions
        self.confidence = confidence
        self.forecastName = forecastName
        self.patterns = patterns
        self.costs = costs
    }

    /// The close time of bar `t`: ``closeTimes`` when given, else `timestamps[t] + barDurationMicros`.
    @inline(__always)
    func closeTime(_ t: Int) -> Int64 { closeTimes?[t] ?? timestamps[t] + barDurationMicros }

    /// The input's label in error fields: `fusion.inputs[EURUSD 1h]`.
    var field: String { "fusion.inputs[\(symbol) \(timeframe)]" }

    /// Checks lengths, timestamps, the duration and pattern indices.
    /// - Throws: ``FusionError`` (`.invalidInput`) naming the column.
    func validate() throws(FusionError) {
        let n = timestamps.count
        func fail(_ column: String, _ reason: String) -> FusionError {
            FusionError(.invalidInput, field: "\(field).\(column)", reason: reason)
        }
        guard barDurationMicros > 0 else { throw fail("bar_duration", "must be > 0 µs") }
        for (name, column) in [("open", open), ("high", high), ("low", low), ("close", close), ("volume", volume)]
        where column.count != n {
            throw fail(name, "has \(column.count) values for \(n) bars")
        }
        if let closeTimes, closeTimes.count != n { throw fail("close_times", "has \(closeTimes.count) values for \(n) bars") }
        if let sentiment, sentiment.count != n { throw fail("sentiment", "has \(sentiment.count) values for \(n) bars") }
        if !predictions.isEmpty && predictions.count != n {
            throw fail("predictions", "has \(predictions.count) values for \(n) bars")
        }
        if !confidence.isEmpty && confidence.count != predictions.count {
            throw fail("confidence", "has \(confidence.count) values for \(predictions.count) predictions")
        }
        var i = 1
        while i < n {
            guard timestamps[i] > timestamps[i - 1] else {
                throw fail("timestamps", "not strictly increasing at bar \(i)")
            }
            i += 1
        }
        for (k, event) in patterns.enumerated() {
            let known = Swift.max(event.endIndex, event.confirmedAt)
            guard event.endIndex >= 0, known < n else {
                throw fail("patterns[\(k)]", "bar \(known) is outside 0..<\(n)")
            }
        }
    }
}
