/// One completed trade.
///
/// JSON (snake_case): `symbol`, `timeframe`, `direction`, `signal_time`,
/// `entry_time`, `entry_price`, `exit_time`, `exit_price`, `exit_reason`
/// (`stop` | `target` | `time` | `end_of_data`), `units`, `stop`, `target`,
/// `pnl`, `r`, `bars_held`. Times are bar open times in µs UTC; non-finite
/// numbers are `null`.
public struct Trade: Sendable, Equatable, Codable {
    public var symbol: String
    public var timeframe: String
    public var direction: TradeDirection
    /// The open time of the signal bar.
    public var signalTime: Int64
    /// The open time of the entry bar (the bar after the signal): the trade
    /// enters at that bar's open.
    public var entryTime: Int64
    /// The entry fill: the open ± half the spread (+ for long).
    public var entryPrice: Double
    /// The open time of the bar in which the trade exited.
    public var exitTime: Int64
    /// The exit fill: the stop, target, gap open or close ∓ half the spread
    /// (− for long).
    public var exitPrice: Double
    public var exitReason: ExitReason
    /// Units traded.
    public var units: Double
    public var stop: Double
    public var target: Double
    /// `d·units·(exit − entry) − commission·units·(entry + exit)`, `d = ±1`.
    public var pnl: Double
    /// `pnl / (units·|entry − stop|)`: the result in multiples of the initial risk.
    public var r: Double
    /// Bars from the entry bar to the exit bar, both included.
    public var barsHeld: Int

    /// Creates a trade.
    public init(
        symbol: String, timeframe: String, direction: TradeDirection, signalTime: Int64,
        entryTime: Int64, entryPrice: Double, exitTime: Int64, exitPrice: Double,
        exitReason: ExitReason, units: Double, stop: Double, target: Double,
        pnl: Double, r: Double, barsHeld: Int
    ) {
        self.symbol = symbol
        self.timeframe = timeframe
        self.direction = direction
        self.signalTime = signalTime
        self.entryTime = entryTime
        self.entryPrice = entryPrice
        self.exitTime = exitTime
        self.exitPrice = exitPrice
        self.exitReason = exitReason
        self.units = units
        self.stop = stop
        self.target = target
        self.pnl = pnl
        self.r = r
        self.barsHeld = barsHeld
    }

    enum CodingKeys: String, CodingKey {
        case symbol, timeframe, direction
        case signalTime = "signal_time"
        case entryTime = "entry_time"
        case entryPrice = "entry_price"
        case exitTime = "exit_time"
        case exitPrice = "exit_price"
        case exitReason = "exit_reason"
        case units, stop, target, pnl, r
        case barsHeld = "bars_held"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        symbol = try c.decode(String.self, forKey: .symbol)
        timeframe = try c.decode(String.self, forKey: .timeframe)
        direction = try c.decode(TradeDirection.self, forKey: .direction)
        signalTime = try c.decode(Int64.self, forKey: .signalTime)
        entryTime = try c.decode(Int64.self, forKey: .entryTime)
        entryPrice = try c.decodeNumber(forKey: .entryPrice)
        exitTime = try c.decode(Int64.self, forKey: .exitTime)
        exitPrice = try c.decodeNumber(forKey: .exitPrice)
        exitReason = try c.decode(ExitReason.self, forKey: .exitReason)
        units = try c.decodeNumber(forKey: .units)
        stop = try c.decodeNumber(forKey: .stop)
        target = try c.decodeNumber(forKey: .target)
        pnl = try c.decodeNumber(forKey: .pnl)
        r = try c.decodeNumber(forKey: .r)
        barsHeld = try c.decode(Int.self, forKey: .barsHeld)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(symbol, forKey: .symbol)
        try c.encode(timeframe, forKey: .timeframe)
        try c.encode(direction, forKey: .direction)
        try c.encode(signalTime, forKey: .signalTime)
        try c.encode(entryTime, forKey: .entryTime)
        try c.encodeNumber(entryPrice, forKey: .entryPrice)
        try c.encode(exitTime, forKey: .exitTime)
        try c.encodeNumber(exitPrice, forKey: .exitPrice)
        try c.encode(exitReason, forKey: .exitReason)
        try c.encodeNumber(units, forKey: .units)
        try c.encodeNumber(stop, forKey: .stop)
        try c.encodeNumber(target, forKey: .target)
        try c.encodeNumber(pnl, forKey: .pnl)
        try c.encodeNumber(r, forKey: .r)
        try c.encode(barsHeld, forKey: .barsHeld)
    }
}
