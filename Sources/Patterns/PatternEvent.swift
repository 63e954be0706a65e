/// One detected pattern: a candlestick pattern or a chart pattern.
public struct PatternEvent: Sendable, Equatable, Codable {
    /// What was found.
    public enum Kind: Sendable, Equatable, Codable {
        case candlestick(CandlestickPattern)
        case chart(ChartPattern)

        /// The stable lowercase name (`hammer`, `double_top`, …).
        public var name: String {
            switch self {
            case .candlestick(let p): p.rawValue
            case .chart(let p): p.rawValue
            }
        }
    }

    /// The pattern.
    public var kind: Kind
    /// Bullish or bearish.
    public var direction: PatternDirection
    /// Confidence in [0, 1]; how it is computed is documented on the detector
    /// that emits the event (``CandlestickEvents``, ``ChartPatternDetector``).
    public var confidence: Double
    /// First bar of the pattern.
    public var startIndex: Int
    /// Last bar of the pattern (for chart patterns, the confirmation bar).
    public var endIndex: Int
    /// The bar at which the pattern became known, using only bars up to it.
    public var confirmedAt: Int
    /// The neckline, for chart patterns.
    public var neckline: Neckline?

    /// Creates an event.
    public init(
        kind: Kind, direction: PatternDirection, confidence: Double,
        startIndex: Int, endIndex: Int, confirmedAt: Int, neckline: Neckline? = nil
    ) {
        self.kind = kind
        self.direction = direction
        self.confidence = confidence
        self.startIndex = startIndex
        self.endIndex = endIndex
        self.confirmedAt = confirmedAt
        self.neckline = neckline
    }
}
