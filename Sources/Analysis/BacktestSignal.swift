/// A signal to trade: known at the close of the bar opened at ``timestamp``.
public struct BacktestSignal: Sendable, Equatable {
    /// The signal bar's open time (µs UTC); it must be one of the input's bars.
    public var timestamp: Int64
    public var direction: TradeDirection
    /// The stop price (below the entry for long, above for short).
    public var stop: Double
    /// The target price (above the entry for long, below for short).
    public var target: Double
    /// Adverse slippage on each fill, in price units (`slippage_atr × ATR`). Default 0.
    public var slippage: Double

    /// Creates a signal.
    public init(timestamp: Int64, direction: TradeDirection, stop: Double, target: Double, slippage: Double = 0) {
        self.timestamp = timestamp
        self.direction = direction
        self.stop = stop
        self.target = target
        self.slippage = slippage
    }
}
