/// Why fusion refused its configuration or its inputs.
///
/// ``description`` is `"<field>: <reason>"`, e.g.
/// `fusion.weights.pattern_strength: must be ≥ 0`, safe to show to clients.
public struct FusionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of problem it is.
    public enum Code: Sendable, Equatable {
        /// A ``FusionConfig`` member is missing its type, range or shape.
        case invalidConfiguration
        /// A ``FusionInput`` is inconsistent (column lengths, timestamps, …).
        case invalidInput
    }

    /// What kind of problem it is.
    public var code: Code
    /// The dotted path of the offending member, e.g. `fusion.quality_threshold`
    /// or `fusion.inputs[EURUSD 1h].volume`.
    public var field: String
    /// Why it was refused, e.g. `must be ≥ 0`.
    public var reason: String

    /// Creates an error.
    public init(_ code: Code, field: String, reason: String) {
        self.code = code
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}
