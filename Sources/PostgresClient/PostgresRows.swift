/// The rows a query returned. Holds the libpq result, which is freed when the
/// rows and every row taken from them are gone.
public struct PostgresRows: RandomAccessCollection, Sendable {
    let result: PostgresResult

    init(_ result: PostgresResult) {
        self.result = result
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { result.rowCount }

    public subscript(position: Int) -> PostgresRow {
        precondition(position >= 0 && position < result.rowCount, "row index out of range")
        return PostgresRow(result: result, row: position)
    }

    /// The column names, in order, exactly as the server sent them.
    public var columns: [String] { result.columns }

    /// The number of rows the statement affected (`INSERT`, `UPDATE`, `DELETE`,
    /// `SELECT`, `COPY`…), or 0 when it reports none.
    public var affectedRows: Int { result.affectedRows }
}

/// One row of ``PostgresRows``.
public struct PostgresRow: Sendable {
    let result: PostgresResult
    let row: Int

    /// The column names, in order.
    public var columns: [String] { result.columns }

    /// Decodes the value of a column by position.
    ///
    /// - Parameters:
    ///   - index: The column position, from 0.
    ///   - type: The Swift type; `Optional` for a column that can be NULL.
    /// - Returns: The value.
    /// - Throws: `PostgresError` with code `.decoding` naming the column when the
    ///   index is out of range, the value is NULL and `T` is not optional, or the
    ///   text does not parse as `T`.
    public func decode<T: PostgresDecodable>(_ index: Int, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard index >= 0, index < result.columnCount else {
            throw .decoding("column index \(index) is out of range; the result has \(result.columnCount) columns")
        }
        let cell = PostgresCell(result: result, row: row, column: index)
        if result.isNull(row: row, column: index) {
            return try T.decodeNull(from: cell)
        }
        return try T.decode(from: cell)
    }

    /// Decodes the value of a column by name (exact, case-sensitive match).
    ///
    /// - Parameters:
    ///   - column: The column name as it appears in ``PostgresRows/columns``.
    ///   - type: The Swift type; `Optional` for a column that can be NULL.
    /// - Returns: The value.
    /// - Throws: `PostgresError` with code `.decoding` when there is no such
    ///   column, or as the positional `decode(_:as:)`.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let index = result.columns.firstIndex(of: column) else {
            throw .decoding("the result has no column named \"\(column)\"")
        }
        return try decode(index, as: type)
    }

    /// Whether the value of a column is NULL.
    public func isNull(_ index: Int) -> Bool {
        result.isNull(row: row, column: index)
    }
}

/// One non-NULL value of a result, handed to ``PostgresDecodable`` during decoding.
public struct PostgresCell {
    let result: PostgresResult
    let row: Int
    /// The column position, from 0.
    public let column: Int

    /// The column name.
    public var columnName: String { result.columns[column] }

    /// The column's SQL type.
    var type: PostgresDataType { result.type(column: column) }

    /// Calls `body` with the value's bytes in PostgreSQL's text format. The
    /// buffer is valid only during the call.
    public func withBytes<R, E: Error>(_ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try body(result.bytes(row: row, column: column))
    }

    /// The value in PostgreSQL's text format.
    public var text: String {
        withBytes { String(decoding: $0, as: UTF8.self) }
    }

    /// A decoding error that names the column and its type, never the value.
    ///
    /// - Parameter typeName: The Swift type that was requested.
    public func decodingError(expected typeName: String, file: String = #fileID, line: Int = #line) -> PostgresError {
        .decoding(
            "column \"\(columnName)\" (\(type.name)) cannot be decoded as \(typeName)",
            file: file,
            line: line
        )
    }
}
