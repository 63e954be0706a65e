/// The backtest of one input: its figures, equity curve and trades.
///
/// JSON: `symbol`, `timeframe`, `metrics`, `equity_curve`, `trades`.
public struct BacktestResult: Sendable, Equatable, Codable {
    public var symbol: String
    public var timeframe: String
    public var metrics: BacktestMetrics
    /// One point per bar.
    public var equityCurve: [EquityPoint]
    public var trades: [Trade]

    /// Creates a result.
    public init(symbol: String, timeframe: String, metrics: BacktestMetrics, equityCurve: [EquityPoint], trades: [Trade]) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.metrics = metrics
        self.equityCurve = equityCurve
        self.trades = trades
    }

    enum CodingKeys: String, CodingKey {
        case symbol, timeframe, metrics
        case equityCurve = "equity_curve"
        case trades
    }
}
