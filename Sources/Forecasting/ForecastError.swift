/// A failure of the forecasting module: a bad configuration, a bad input, a
/// model that failed, or a run that was cancelled.
///
/// `description` is safe to show to clients: it names the offending field
/// when there is one, as in `forecast.horizon_bars: must be ≥ 1`.
public struct ForecastError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong.
    public enum Code: String, Sendable, Equatable {
        /// A `forecast` configuration value is out of range or malformed.
        case invalidConfig
        /// The input columns are inconsistent (e.g. a feature column of the wrong length).
        case invalidInput
        /// A model could not produce a forecast (e.g. ridge without features).
        case modelFailed
        /// The model was told to stop (its timeout, the total timeout, or the run was abandoned).
        case cancelled
    }

    public var code: Code
    /// The configuration or input field at fault, e.g. `forecast.horizon_bars`; nil when none.
    public var field: String?
    /// Why, in a few words.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, field: String? = nil, _ reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "\(field): \(reason)" }
        return reason
    }
}
