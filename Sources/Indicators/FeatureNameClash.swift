/// Two feature columns whose names standardize to the same name.
///
/// Thrown by ``FeatureName/standardize(_:)-(_:[String])``; `description` names
/// both originals and the name they share, e.g.
/// `feature names "SMA_20" and "sma_20" both standardize to "sma_20"`.
public struct FeatureNameClash: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name met first.
    public var first: String
    /// The later name that clashes with it.
    public var second: String
    /// The standardized name both map to.
    public var standardized: String

    /// Creates the error.
    public init(first: String, second: String, standardized: String) {
        self.first = first
        self.second = second
        self.standardized = standardized
    }

    public var description: String {
        "feature names \"\(first)\" and \"\(second)\" both standardize to \"\(standardized)\""
    }
}
