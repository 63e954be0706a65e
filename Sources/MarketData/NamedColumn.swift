/// A numeric column with a name, such as an extra CSV column (`sentiment`) or an
/// aligned column (`eurusd_close`).
public struct NamedColumn: Sendable, Equatable {
    /// The column name, lowercase.
    public var name: String
    /// One value per row; `NaN` where a value is missing.
    public var values: [Double]

    /// Creates a column.
    /// - Parameters:
    ///   - name: the column name (kept as given).
    ///   - values: one value per row.
    public init(name: String, values: [Double]) {
        self.name = name
        self.values = values
    }
}
