/// The figures of one backtest (or of all of them together).
///
/// JSON (snake_case); every number that is not finite is `null`: `win_rate`
/// and `average_r` with no trades, `profit_factor` with no losing trade
/// (infinite) or no trades, `sharpe` with fewer than two bars or a flat
/// equity curve.
public struct BacktestMetrics: Sendable, Equatable, Codable {
    /// Bars in the equity curve.
    public var bars: Int
    public var trades: Int
    /// Trades with `pnl > 0`.
    public var wins: Int
    /// Trades with `pnl < 0`.
    public var losses: Int
    /// `wins / trades`; NaN (null) with no trades.
    public var winRate: Double
    /// The mean `r` of the trades; NaN (null) with no trades.
    public var averageR: Double
    /// The sum of the winning trades' pnl.
    public var grossProfit: Double
    /// The sum of the losing trades' |pnl| (≥ 0).
    public var grossLoss: Double
    /// `gross_profit / gross_loss`: +∞ (null) when there is profit but no
    /// loss, NaN (null) with neither.
    public var profitFactor: Double
    /// The sum of the trades' pnl.
    public var netProfit: Double
    public var initialEquity: Double
    public var finalEquity: Double
    /// `final_equity / initial_equity − 1`.
    public var totalReturn: Double
    /// `mean(r) / sd(r) · √(bars per year)` over the per-bar equity returns
    /// `rₖ = equityₖ / equityₖ₋₁ − 1` (the first against the initial equity;
    /// sample standard deviation), with bars per year = ``periodsPerYear``
    /// (calendar time, no risk-free rate).
    public var sharpe: Double
    /// The bars per year `sharpe` is annualised with: `365.25·86400 s / bar
    /// length` for 1m … 1d (1d → 365.25), 52 for 1w, 12 for 1M.
    public var periodsPerYear: Double
    /// The largest `(peak − equity) / peak` of the equity curve, the peak
    /// starting at the initial equity; a fraction ≥ 0.
    public var maxDrawdown: Double
    /// The fraction of bars during which a position was open (entry bar to exit
    /// bar, both included).
    public var exposure: Double
    /// Signals not traded: while a position was open, a second signal on the
    /// same bar, a signal on the last bar, or an entry open not strictly
    /// between stop and target.
    public var skippedSignals: Int

    /// Creates metrics.
    public init(
        bars: Int, trades: Int, wins: Int, losses: Int, winRate: Double, averageR: Double,
        grossProfit: Double, grossLoss: Double, profitFactor: Double, netProfit: Double,
        initialEquity: Double, finalEquity: Double, totalReturn: Double, sharpe: Double,
        maxDrawdown: Double, exposure: Double, skippedSignals: Int, periodsPerYear: Double = .nan
    ) {
        self.periodsPerYear = periodsPerYear
        self.bars = bars
        self.trades = trades
        self.wins = wins
        self.losses = losses
        self.winRate = winRate
        self.averageR = averageR
        self.grossProfit = grossProfit
        self.grossLoss = grossLoss
        self.profitFactor = profitFactor
        self.netProfit = netProfit
        self.initialEquity = initialEquity
        self.finalEquity = finalEquity
        self.totalReturn = totalReturn
        self.sharpe = sharpe
        self.maxDrawdown = maxDrawdown
        self.exposure = exposure
        self.skippedSignals = skippedSignals
    }

    enum CodingKeys: String, CodingKey {
        case bars, trades, wins, losses
        case winRate = "win_rate"
        case averageR = "average_r"
        case grossProfit = "gross_profit"
        case grossLoss = "gross_loss"
        case profitFactor = "profit_factor"
        case netProfit = "net_profit"
        case initialEquity = "initial_equity"
        case finalEquity = "final_equity"
        case totalReturn = "total_return"
        case sharpe
        case periodsPerYear = "periods_per_year"
        case maxDrawdown = "max_drawdown"
        case exposure
        case skippedSignals = "skipped_signals"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bars = try c.decode(Int.self, forKey: .bars)
        trades = try c.decode(Int.self, forKey: .trades)
        wins = try c.decode(Int.self, forKey: .wins)
        losses = try c.decode(Int.self, forKey: .losses)
        winRate = try c.decodeNumber(forKey: .winRate)
        averageR = try c.decodeNumber(forKey: .averageR)
        grossProfit = try c.decodeNumber(forKey: .grossProfit)
        grossLoss = try c.decodeNumber(forKey: .grossLoss)
        profitFactor = try c.decodeNumber(forKey: .profitFactor)
        netProfit = try c.decodeNumber(forKey: .netProfit)
        initialEquity = try c.decodeNumber(forKey: .initialEquity)
        finalEquity = try c.decodeNumber(forKey: .finalEquity)
        totalReturn = try c.decodeNumber(forKey: .totalReturn)
        sharpe = try c.decodeNumber(forKey: .sharpe)
        periodsPerYear = c.contains(.periodsPerYear) ? try c.decodeNumber(forKey: .periodsPerYear) : .nan
        maxDrawdown = try c.decodeNumber(forKey: .maxDrawdown)
        exposure = try c.decodeNumber(forKey: .exposure)
        skippedSignals = try c.decode(Int.self, forKey: .skippedSignals)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(bars, forKey: .bars)
        try c.encode(trades, forKey: .trades)
        try c.encode(wins, forKey: .wins)
        try c.encode(losses, forKey: .losses)
        try c.encodeNumber(winRate, forKey: .winRate)
        try c.encodeNumber(averageR, forKey: .averageR)
        try c.encodeNumber(grossProfit, forKey: .grossProfit)
        try c.encodeNumber(grossLoss, forKey: .grossLoss)
        try c.encodeNumber(profitFactor, forKey: .profitFactor)
        try c.encodeNumber(netProfit, forKey: .netProfit)
        try c.encodeNumber(initialEquity, forKey: .initialEquity)
        try c.encodeNumber(finalEquity, forKey: .finalEquity)
        try c.encodeNumber(totalReturn, forKey: .totalReturn)
        try c.encodeNumber(sharpe, forKey: .sharpe)
        try c.encodeNumber(periodsPerYear, forKey: .periodsPerYear)
        try c.encodeNumber(maxDrawdown, forKey: .maxDrawdown)
        try c.encodeNumber(exposure, forKey: .exposure)
        try c.encode(skippedSignals, forKey: .skippedSignals)
    }
}
