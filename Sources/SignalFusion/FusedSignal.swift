/// One fused trading signal, in the shape the API keeps stable.
///
/// JSON (snake_case): `symbol`, `timeframe`, `timestamp` (bar open time, µs
/// UTC), `direction` (`long` | `short`), `entry`, `stop`, `target`,
/// `horizon_bars`, `quality`, `accepted`, `components` (the six
/// ``QualityComponent`` names), `sources`, `quality_prior`, `outcome`.
public struct FusedSignal: Sendable, Equatable, Codable {
    public var symbol: String
    public var timeframe: String
    /// The signal bar's open time, µs since the Unix epoch (UTC). The signal
    /// is known at that bar's close.
    public var timestamp: Int64
    public var direction: SignalDirection
    /// The signal bar's close. A backtest enters at the next bar's open.
    public var entry: Double
    /// `entry ∓ stop_atr_multiplier·ATR[t]` (below for long, above for short).
    public var stop: Double
    /// `entry ± target_atr_multiplier·ATR[t]`.
    public var target: Double
    /// ``FusionConfig/horizonBars``.
    public var horizonBars: Int
    /// The calibrated probability that the signal ends with `R > 0` (see
    /// ``SignalFusion``), or ``qualityPrior`` while calibration warms up
    /// (`flag:calibration_warmup`); in [0, 1].
    public var quality: Double
    /// `Σ wᵢ·cᵢ / Σ wᵢ` over the informative ``components`` (flagged ones left
    /// out, weights renormalised); 0.5 when none is informative.
    public var qualityPrior: Double
    /// `quality ≥ quality_threshold`.
    public var accepted: Bool
    /// The six components, each in [0, 1].
    public var components: QualityComponents
    /// Where it came from, in this order: `forecast:<name>` (when the forecast
    /// took part), `pattern:<name>` for each supporting pattern
    /// (`pattern:cdl_engulfing`, `pattern:double_bottom`), then flags:
    /// `flag:pattern_conflict`, `flag:mtf_unavailable`, `flag:regime_warmup`,
    /// `flag:volume_unavailable`, `flag:sentiment_missing`,
    /// `flag:correlation_unavailable`, `flag:calibration_warmup`.
    public var sources: [String]
    /// How it ended (triple barrier), as far as the data tell.
    public var outcome: SignalOutcome

    /// Creates a signal.
    public init(
        symbol: String, timeframe: String, timestamp: Int64, direction: SignalDirection,
        entry: Double, stop: Double, target: Double, horizonBars: Int,
        quality: Double, accepted: Bool, components: QualityComponents, sources: [String],
        qualityPrior: Double? = nil, outcome: SignalOutcome = .open
    ) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.timestamp = timestamp
        self.direction = direction
        self.entry = entry
        self.stop = stop
        self.target = target
        self.horizonBars = horizonBars
        self.quality = quality
        self.accepted = accepted
        self.components = components
        self.sources = sources
        self.qualityPrior = qualityPrior ?? quality
        self.outcome = outcome
    }

    /// The signal as known at time `cutoff` (µs): its outcome only if resolved by then.
    public func known(at cutoff: Int64) -> FusedSignal {
        var s = self
        s.outcome = outcome.known(at: cutoff)
        return s
    }

    enum CodingKeys: String, CodingKey {
        case symbol, timeframe, timestamp, direction, entry, stop, target
        case horizonBars = "horizon_bars"
        case quality, accepted, components, sources
        case qualityPrior = "quality_prior"
        case outcome
    }
}
