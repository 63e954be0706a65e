public import MarketData

/// The type of an exported column.
public enum ColumnType: String, Sendable, CaseIterable {
    /// Microseconds since the Unix epoch, UTC (Parquet: INT64 TIMESTAMP(MICROS, UTC); CSV: ISO-8601 with `Z`).
    case timestamp
    /// A 64-bit float; NaN allowed.
    case double
    /// A 64-bit signed integer.
    case int64
    /// UTF-8 text; empty allowed.
    case string
    /// A boolean.
    case bool
}

/// The values of one exported column.
public enum ColumnValues: Sendable, Equatable {
    case timestamp([Int64])
    case double([Double])
    case int64([Int64])
    case string([String])
    case bool([Bool])

    /// The column type.
    public var type: ColumnType {
        switch self {
        case .timestamp: return .timestamp
        case .double: return .double
        case .int64: return .int64
        case .string: return .string
        case .bool: return .bool
        }
    }

    /// The number of values.
    public var count: Int {
        switch self {
        case .timestamp(let v): return v.count
        case .double(let v): return v.count
        case .int64(let v): return v.count
        case .string(let v): return v.count
        case .bool(let v): return v.count
        }
    }

    /// Equality where NaN equals NaN (for tests and round trips).
    public static func == (lhs: ColumnValues, rhs: ColumnValues) -> Bool {
        switch (lhs, rhs) {
        case (.timestamp(let a), .timestamp(let b)): return a == b
        case (.int64(let a), .int64(let b)): return a == b
        case (.string(let a), .string(let b)): return a == b
        case (.bool(let a), .bool(let b)): return a == b
        case (.double(let a), .double(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
        default: return false
        }
    }
}

/// A column's name and type, declared when a writer is created.
public struct ColumnSpec: Sendable, Equatable {
    /// The column name.
    public var name: String
    /// The column type.
    public var type: ColumnType

    /// Creates a column declaration.
    public init(_ name: String, _ type: ColumnType) {
        self.name = name
        self.type = type
    }
}

/// A named column of values: one column of a batch handed to a writer.
public struct ExportColumn: Sendable, Equatable {
    /// The column name.
    public var name: String
    /// The values.
    public var values: ColumnValues

    /// Creates a column.
    public init(_ name: String, _ values: ColumnValues) {
        self.name = name
        self.values = values
    }

    /// The column's declaration.
    public var spec: ColumnSpec { ColumnSpec(name, values.type) }
}

extension ExportColumn {
    /// The columns of an aligned table: `timestamp`, then every column as doubles.
    /// - Parameter table: the merged table.
    /// - Returns: the columns in order.
    public static func columns(of table: AlignedTable) -> [ExportColumn] {
        [ExportColumn("timestamp", .timestamp(table.timestamps))]
            + table.columns.map { ExportColumn($0.name, .double($0.values)) }
    }

    /// The columns of one series: `timestamp open high low close volume`, then its extras.
    /// - Parameter series: the series.
    /// - Returns: the columns in order.
    public static func columns(of series: OHLCVSeries) -> [ExportColumn] {
        [
            ExportColumn("timestamp", .timestamp(series.timestamps)),
            ExportColumn("open", .double(series.open)), ExportColumn("high", .double(series.high)),
            ExportColumn("low", .double(series.low)), ExportColumn("close", .double(series.close)),
            ExportColumn("volume", .double(series.volume)),
        ] + series.extras.map { ExportColumn($0.name, .double($0.values)) }
    }
}
