/// A signal to trade: known at the close of the bar opened at ``timestamp``.
public struct BacktestSignal: Sendable, Equatable {
    /// The signal bar's open time (µs UTC); it must be one of the input's bars.
    public var timestamp: Int64
    public var direction: TradeDirection
    /// The stop price (below the entry for long, above for short).
    public var stop: Double
    /// The target price (above the entry for long, below for short).
    public var target: Double

    /// Creates a signal.
    public init(timestamp: Int64, direction: TradeDirection, stop: Double, target: Double) {
        self.timestamp = timestamp
        self.direction = direction
        self.stop = stop
        self.target = target
    }
}
