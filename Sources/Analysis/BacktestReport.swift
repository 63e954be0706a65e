/// The report of `GET /v1/experiments/{id}/report`: every input's result and
/// their combination.
///
/// JSON: `summary` (``BacktestMetrics`` of the combined portfolio),
/// `equity_curve` (the combined curve), `results` (one ``BacktestResult`` per
/// input, in input order). See ``Backtest``
/// for how the combination is formed.
public struct BacktestReport: Sendable, Equatable, Codable {
    public var summary: BacktestMetrics
    public var equityCurve: [EquityPoint]
    public var results: [BacktestResult]

    /// Creates a report.
    public init(summary: BacktestMetrics, equityCurve: [EquityPoint], results: [BacktestResult]) {
        self.summary = summary
        self.equityCurve = equityCurve
        self.results = results
    }

    enum CodingKeys: String, CodingKey {
        case summary
        case equityCurve = "equity_curve"
        case results
    }
}
