/// A stage's own failure (bad configuration, missing input), shown as the
/// experiment's `error` after `stage <name>: `.
public struct StageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A human-readable reason, safe to show to clients.
    public var message: String

    /// Creates an error.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
