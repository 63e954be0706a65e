internal import CLibPQ

/// Owns one `PGresult` and frees it with `PQclear` when the last reference
/// (a ``PostgresRows`` or a ``PostgresRow``) goes away.
///
/// `@unchecked Sendable`: libpq never mutates a `PGresult` after it is
/// returned, and this class only reads it, so reads from several threads are safe.
final class PostgresResult: @unchecked Sendable {
    private let pointer: OpaquePointer
    let rowCount: Int
    let columnCount: Int
    /// The column names, as the server sent them (not case-folded).
    let columns: [String]

    /// Takes ownership of a result.
    init(_ pointer: OpaquePointer) {
        self.pointer = pointer
        rowCount = Int(PQntuples(pointer))
        columnCount = Int(PQnfields(pointer))
        var columns: [String] = []
        columns.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            columns.append(PQfname(pointer, Int32(column)).map { String(cString: $0) } ?? "")
        }
        self.columns = columns
    }

    deinit {
        PQclear(pointer)
    }

    /// The result status. The corresponding C function is `PQresultStatus`.
    var status: ExecStatusType { PQresultStatus(pointer) }

    /// The number of rows the command affected, 0 if it reports none.
    /// The corresponding C function is `PQcmdTuples`.
    var affectedRows: Int {
        guard let text = PQcmdTuples(pointer) else { return 0 }
        return Int(String(cString: text)) ?? 0
    }

    /// The command tag, such as `INSERT 0 1` or `ROLLBACK`.
    /// The corresponding C function is `PQcmdStatus`.
    var commandTag: String {
        PQcmdStatus(pointer).map { String(cString: $0) } ?? ""
    }

    /// One diagnostic field of an error result. The corresponding C function is `PQresultErrorField`.
    func errorField(_ code: Character) -> String? {
        guard let ascii = code.asciiValue, let text = PQresultErrorField(pointer, Int32(ascii)) else { return nil }
        return String(cString: text)
    }

    /// The whole error message. The corresponding C function is `PQresultErrorMessage`.
    var errorMessage: String {
        PQresultErrorMessage(pointer).map { String(cString: $0) } ?? ""
    }

    /// The corresponding C function is `PQgetisnull`.
    func isNull(row: Int, column: Int) -> Bool {
        PQgetisnull(pointer, Int32(row), Int32(column)) != 0
    }

    /// The text of a value, valid while this result lives.
    /// The corresponding C functions are `PQgetvalue` and `PQgetlength`.
    func bytes(row: Int, column: Int) -> UnsafeBufferPointer<UInt8> {
        guard let value = PQgetvalue(pointer, Int32(row), Int32(column)) else {
            return UnsafeBufferPointer(start: nil, count: 0)
        }
        let length = Int(PQgetlength(pointer, Int32(row), Int32(column)))
        return UnsafeBufferPointer(start: UnsafeRawPointer(value).assumingMemoryBound(to: UInt8.self), count: length)
    }

    /// The type of a column. The corresponding C function is `PQftype`.
    func type(column: Int) -> PostgresDataType {
        PostgresDataType(rawValue: PQftype(pointer, Int32(column)))
    }
}
