/// A swing high or swing low found with a fractal window.
public struct SwingPoint: Sendable, Equatable, Codable {
    /// High or low.
    public enum Kind: String, Sendable, Codable { case high, low }

    /// High or low.
    public var kind: Kind
    /// The bar of the extreme.
    public var index: Int
    /// The extreme price (the bar's high or low).
    public var price: Double
    /// The bar at which it is known: `index + window`.
    public var confirmedAt: Int
}
