/// Which way a pattern points.
public enum PatternDirection: String, Sendable, Codable, Equatable {
    case bullish
    case bearish
}
