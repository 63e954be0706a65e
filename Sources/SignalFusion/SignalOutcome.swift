/// How a signal ended, by the triple barrier (see ``OutcomeLabeler``).
///
/// JSON: `{"exit": "target"|"stop"|"horizon"|"open", "r": 1.93|null, "resolved_at": µs|null}`.
public struct SignalOutcome: Sendable, Equatable, Codable {
    /// Which barrier decided it.
    public enum Exit: String, Sendable, Codable, CaseIterable {
        /// The target was reached first.
        case target
        /// The stop was reached first (or in the same bar as the target).
        case stop
        /// Neither within `horizon_bars`: exit at the last bar's close.
        case horizon
        /// Not decided yet: fewer than `horizon_bars` bars followed and no barrier was hit.
        case open
    }

    public var exit: Exit
    /// The R multiple after costs: `(d·(exit − fill) − costs) / |entry − stop|`; nil while open.
    public var r: Double?
    /// The close time (µs, UTC) of the bar that decided it; nil while open.
    public var resolvedAt: Int64?

    /// Creates an outcome.
    public init(exit: Exit, r: Double? = nil, resolvedAt: Int64? = nil) {
        self.exit = exit
        self.r = r
        self.resolvedAt = resolvedAt
    }

    /// Not decided yet.
    public static let open = SignalOutcome(exit: .open)

    /// The outcome as known at time `cutoff` (µs): itself when resolved by then, else ``open``.
    public func known(at cutoff: Int64) -> SignalOutcome {
        if let resolvedAt, resolvedAt <= cutoff { return self }
        return .open
    }

    enum CodingKeys: String, CodingKey {
        case exit, r
        case resolvedAt = "resolved_at"
    }
}
