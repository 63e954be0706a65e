/// The equity at the close of one bar: `{"timestamp": …, "equity": …}`.
public struct EquityPoint: Sendable, Equatable, Codable {
    /// The bar's open time (µs UTC); the value is as of that bar's close.
    public var timestamp: Int64
    /// Realized equity plus the open position marked at the bar's close (mid).
    public var equity: Double

    /// Creates a point.
    public init(timestamp: Int64, equity: Double) {
        self.timestamp = timestamp
        self.equity = equity
    }

    enum CodingKeys: String, CodingKey { case timestamp, equity }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        timestamp = try c.decode(Int64.self, forKey: .timestamp)
        equity = try c.decodeNumber(forKey: .equity)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encodeNumber(equity, forKey: .equity)
    }
}
