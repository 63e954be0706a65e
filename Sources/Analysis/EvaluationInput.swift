/// One fused signal as the evaluation sees it.
public struct EvaluationSignal: Sendable, Equatable {
    public var direction: TradeDirection
    /// The signal's `quality` (a calibrated probability unless `calibrated` is false).
    public var quality: Double
    public var accepted: Bool
    /// False while calibration warmed up (`flag:calibration_warmup`): such
    /// signals stay out of the calibration table.
    public var calibrated: Bool
    /// The outcome's R multiple after costs; nil while open.
    public var r: Double?
    /// When the signal is known (its bar's close, µs) and when its outcome resolved.
    public var knownAt: Int64
    public var resolvedAt: Int64?

    public init(
        direction: TradeDirection, quality: Double, accepted: Bool, calibrated: Bool, r: Double?, knownAt: Int64 = 0,
        resolvedAt: Int64? = nil
    ) {
        self.knownAt = knownAt
        self.resolvedAt = resolvedAt
        self.direction = direction
        self.quality = quality
        self.accepted = accepted
        self.calibrated = calibrated
        self.r = r
    }
}

/// One symbol × timeframe for the evaluation: its closes (buy and hold), the
/// R a signal at every bar would have had on either side (the random entries'
/// population; NaN where undefined or open), and its signals.
public struct EvaluationSeries: Sendable {
    public var symbol: String
    public var timeframe: String
    /// Bars per year, for the buy-and-hold Sharpe ratio.
    public var periodsPerYear: Double
    public var close: [Double]
    public var longR: [Double]
    public var shortR: [Double]
    public var signals: [EvaluationSignal]

    public init(
        symbol: String, timeframe: String, periodsPerYear: Double, close: [Double], longR: [Double], shortR: [Double],
        signals: [EvaluationSignal]
    ) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.periodsPerYear = periodsPerYear
        self.close = close
        self.longR = longR
        self.shortR = shortR
        self.signals = signals
    }
}
