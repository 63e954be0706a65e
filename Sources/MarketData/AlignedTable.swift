/// Several series on one time index: the in-memory table the merge stage builds.
public struct AlignedTable: Sendable, Equatable {
    /// The common time index, microseconds since the epoch, UTC, increasing.
    public var timestamps: [Int64]
    /// The columns, each with one value per timestamp (`NaN` where missing),
    /// named `<symbol>_<column>` in lowercase (`eurusd_close`).
    public var columns: [NamedColumn]

    /// Creates a table.
    public init(timestamps: [Int64], columns: [NamedColumn]) {
        precondition(columns.allSatisfy { $0.values.count == timestamps.count }, "AlignedTable: column length")
        self.timestamps = timestamps
        self.columns = columns
    }

    /// The number of rows.
    public var count: Int { timestamps.count }

    /// The column called `name`, if any.
    public func column(_ name: String) -> [Double]? { columns.first { $0.name == name }?.values }
}

/// How the aligner treats a time at which some symbols have no bar.
public enum JoinKind: String, Sendable, CaseIterable {
    /// Keep only times at which every symbol has a bar.
    case inner
    /// Keep every time at which any symbol has a bar; missing values are NaN.
    case outer
}
