/// Why the backtest refused its configuration or its inputs.
///
/// ``description`` is `"<field>: <reason>"`, e.g. `analysis.spread: must be ≥ 0`,
/// safe to show to clients.
public struct AnalysisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: Sendable, Equatable {
        /// An ``AnalysisConfig`` member has the wrong type or range.
        case invalidConfiguration
        /// A ``BacktestInput`` is inconsistent.
        case invalidInput
    }

    public var code: Code
    /// The dotted path of the offending member, e.g. `analysis.max_holding_bars`
    /// or `analysis.inputs[EURUSD 1h].signals[3].timestamp`.
    public var field: String
    /// Why it was refused.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, field: String, reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
