/// The columns a forecast is made from: one symbol on one timeframe.
///
/// Index t is bar t. A prediction at bar t may use `close[0...t]` and
/// `features[j][0...t]` only.
public struct ForecastInput: Sendable {
    /// Closing prices. A non-positive or non-finite close makes the returns
    /// that touch it NaN; those bars are skipped for training and prediction.
    public let close: [Double]
    /// Feature columns (e.g. indicators), each `close.count` long. NaN or
    /// infinite values (an indicator's leading lookback) mark the row unusable
    /// for the ridge model: it is skipped for training and gets no prediction.
    public let features: [[Double]]

    /// Creates an input.
    /// - Parameters:
    ///   - close: closing prices, oldest first.
    ///   - features: feature columns, each as long as `close`. Default none.
    /// - Throws: ``ForecastError`` with code `.invalidInput` when a feature
    ///   column's length differs from `close.count`.
    public init(close: [Double], features: [[Double]] = []) throws(ForecastError) {
        for (j, column) in features.enumerated() where column.count != close.count {
            throw ForecastError(
                .invalidInput, field: "features[\(j)]",
                "has \(column.count) values, close has \(close.count)")
        }
        self.close = close
        self.features = features
    }

    /// The number of bars.
    public var count: Int { close.count }

    /// The first `count` bars (every column cut at the same place).
    public func prefix(_ count: Int) -> ForecastInput {
        let n = min(max(count, 0), close.count)
        // Lengths stay equal, so the throwing initializer's check cannot fail.
        return ForecastInput(unchecked: Array(close[..<n]), features: features.map { Array($0[..<n]) })
    }

    private init(unchecked close: [Double], features: [[Double]]) {
        self.close = close
        self.features = features
    }
}
