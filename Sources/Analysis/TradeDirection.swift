/// Which way a trade is.
public enum TradeDirection: String, Sendable, Codable, Equatable {
    case long
    case short

    /// `+1` for long, `−1` for short.
    public var sign: Double { self == .long ? 1 : -1 }
}
