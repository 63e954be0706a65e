/// Why a trade ended.
public enum ExitReason: String, Sendable, Codable, Equatable {
    /// The stop was touched (or the bar opened beyond it).
    case stop
    /// The target was touched (or the bar opened beyond it).
    case target
    /// `max_holding_bars` bars were held: exit at that bar's close.
    case time
    /// The data ended first: exit at the last bar's close.
    case endOfData = "end_of_data"
}
