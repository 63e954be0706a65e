internal import CLibPQ
public import Foundation

extension PostgresConnection {
    /// Bulk-loads rows with `COPY … FROM STDIN` in text format.
    ///
    /// `write` appends rows to the writer; it sends them in chunks of about
    /// 64 KiB. If `write` throws, the COPY is aborted (nothing is stored) and
    /// the error is rethrown.
    ///
    /// ```swift
    /// try connection.copyFrom("COPY bars (ts, close) FROM STDIN") { writer in
    ///     for bar in bars {
    ///         writer.appendField(bar.ts)
    ///         writer.appendField(bar.close)
    ///         try writer.endRow()
    ///     }
    /// }
    /// ```
    ///
    /// The corresponding C functions are `PQexec`, `PQputCopyData`,
    /// `PQputCopyEnd` and `PQgetResult`.
    ///
    /// - Parameters:
    ///   - copy: The `COPY table [(columns)] FROM STDIN` statement, without
    ///     parameters and without `FORMAT` options (text format is assumed).
    ///   - write: Appends the rows.
    /// - Returns: The number of rows the server stored.
    /// - Throws: What `write` threw; `PostgresError` with `.server` and a
    ///   `sqlState` when the server rejected the data, `.copyFailed` when the
    ///   statement is not a `COPY … FROM STDIN` or the last row was not ended.
    public func copyFrom(_ copy: PostgresQuery, _ write: (inout PostgresCopyWriter) throws -> Void) throws -> Int {
        guard copy.binds.isEmpty else {
            throw PostgresError(code: .copyFailed, message: "COPY statements take no parameters", query: copy.sql)
        }
        let handle = try openHandle()
        guard let raw = PQexec(handle, copy.sql) else { throw connectionError(handle, query: copy.sql) }
        let start = PostgresResult(raw)
        guard start.status == PGRES_COPY_IN else {
            if start.status == PGRES_COMMAND_OK || start.status == PGRES_TUPLES_OK {
                throw PostgresError(code: .copyFailed, message: "the statement is not a COPY … FROM STDIN", query: copy.sql)
            }
            if start.status == PGRES_COPY_OUT || start.status == PGRES_COPY_BOTH {
                close()
                throw PostgresError(code: .copyFailed, message: "COPY … TO STDOUT is not supported", query: copy.sql)
            }
            throw serverError(start, handle, query: copy.sql)
        }

        var writer = PostgresCopyWriter(connection: self, handle: handle)
        do {
            try write(&writer)
            guard writer.fieldsInRow == 0 else {
                throw PostgresError(code: .copyFailed, message: "the last COPY row was not ended with endRow()", query: copy.sql)
            }
            try writer.flush()
        } catch {
            if isOpen {
                _ = PQputCopyEnd(handle, "aborted by the client")
                drainResults(handle)
            }
            throw error
        }
        guard PQputCopyEnd(handle, nil) == 1 else { throw connectionError(handle, query: copy.sql) }
        guard let endRaw = PQgetResult(handle) else { throw connectionError(handle, query: copy.sql) }
        let end = PostgresResult(endRaw)
        drainResults(handle)
        guard end.status == PGRES_COMMAND_OK else { throw serverError(end, handle, query: copy.sql) }
        return end.affectedRows
    }

    /// Bulk-loads rows into a table with `COPY "schema"."table" ("column", …) FROM STDIN`,
    /// quoting the names. See ``copyFrom(_:_:)``.
    ///
    /// - Parameters:
    ///   - table: The table name (one identifier; not split at dots).
    ///   - schema: The schema, or `nil` for the search path. Default `nil`.
    ///   - columns: The columns, in the order each row writes them.
    ///   - write: Appends the rows.
    /// - Returns: The number of rows the server stored.
    /// - Throws: As ``copyFrom(_:_:)``.
    public func copyFrom(
        table: String,
        schema: String? = nil,
        columns: [String],
        _ write: (inout PostgresCopyWriter) throws -> Void
    ) throws -> Int {
        var target = try escapeIdentifier(table)
        if let schema { target = try escapeIdentifier(schema) + "." + target }
        var columnList: [String] = []
        for column in columns { columnList.append(try escapeIdentifier(column)) }
        let sql = "COPY \(target) (\(columnList.joined(separator: ", "))) FROM STDIN"
        return try copyFrom(PostgresQuery(unsafeSQL: sql), write)
    }

    /// Sends COPY data. The corresponding C function is `PQputCopyData`.
    func putCopyData(_ handle: OpaquePointer, _ bytes: UnsafeBufferPointer<UInt8>) throws(PostgresError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        let sent = base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
            PQputCopyData(handle, $0, Int32(bytes.count))
        }
        guard sent == 1 else { throw connectionError(handle, query: nil) }
    }
}

/// Writes rows of a `COPY … FROM STDIN` in PostgreSQL's text format: fields
/// separated by tabs, rows ended by newlines, `\N` for NULL, and backslash,
/// tab, newline and carriage return escaped with a backslash.
///
/// Use the per-field methods and ``endRow()`` for speed (no allocation per
/// field for numbers, dates and most strings), or ``appendRow(_:)`` for
/// convenience. Non-copyable: it exists only inside
/// ``PostgresConnection/copyFrom(_:_:)``.
public struct PostgresCopyWriter: ~Copyable {
    /// Bytes are sent once the buffer holds this many.
    static let flushThreshold = 64 * 1024

    private let connection: PostgresConnection
    private let handle: OpaquePointer
    private var buffer: [UInt8]
    /// Fields appended to the current row.
    internal private(set) var fieldsInRow = 0
    /// Rows ended so far.
    public private(set) var rowCount = 0

    init(connection: PostgresConnection, handle: OpaquePointer) {
        self.connection = connection
        self.handle = handle
        buffer = []
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    @inline(__always)
    private mutating func beginField() {
        if fieldsInRow > 0 { buffer.append(UInt8(ascii: "\t")) }
        fieldsInRow += 1
    }

    /// Appends SQL NULL (`\N`).
    public mutating func appendNull() {
        beginField()
        buffer.append(UInt8(ascii: "\\"))
        buffer.append(UInt8(ascii: "N"))
    }

    /// Appends a string, escaped.
    public mutating func appendField(_ value: String) {
        beginField()
        var value = value
        value.withUTF8 { appendEscaped($0) }
    }

    /// Appends an integer.
    public mutating func appendField(_ value: Int) {
        beginField()
        appendDecimal(Int64(value))
    }

    /// Appends an integer.
    public mutating func appendField(_ value: Int64) {
        beginField()
        appendDecimal(value)
    }

    /// Appends an integer.
    public mutating func appendField(_ value: Int32) {
        beginField()
        appendDecimal(Int64(value))
    }

    /// Appends a floating-point number (`NaN`, `Infinity`, `-Infinity` included).
    public mutating func appendField(_ value: Double) {
        beginField()
        var text = value.postgresText
        text.withUTF8 { buffer.append(contentsOf: $0) }
    }

    /// Appends a boolean (`t` or `f`).
    public mutating func appendField(_ value: Bool) {
        beginField()
        buffer.append(value ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// Appends a JSON document (for a `json` or `jsonb` column), escaped.
    public mutating func appendField(_ value: PostgresJSON) {
        appendField(value.text)
    }

    /// Appends bytes for a `bytea` column (hex format).
    public mutating func appendField(bytes: some Collection<UInt8>) {
        beginField()
        // The hex format's leading backslash must itself be escaped in COPY text.
        buffer.append(UInt8(ascii: "\\"))
        var hex = byteaHex(bytes)
        hex.withUTF8 { buffer.append(contentsOf: $0) }
    }

    /// Appends any encodable value in its text format, or NULL for `nil`.
    public mutating func appendField(_ value: (some PostgresEncodable)?) {
        guard let value else { return appendNull() }
        beginField()
        var text = value.postgresValue.text
        text.withUTF8 { appendEscaped($0) }
    }

    /// Ends the current row; sends the buffer when it holds about 64 KiB.
    ///
    /// - Throws: `PostgresError` with code `.connectionClosed` if sending failed.
    public mutating func endRow() throws(PostgresError) {
        buffer.append(UInt8(ascii: "\n"))
        fieldsInRow = 0
        rowCount += 1
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    /// Appends a whole row (`nil` is NULL) and ends it.
    ///
    /// - Parameter values: The fields, in column order.
    /// - Throws: As ``endRow()``.
    public mutating func appendRow(_ values: [PostgresValue?]) throws(PostgresError) {
        for value in values { appendField(value) }
        try endRow()
    }

    /// Sends what is buffered.
    mutating func flush() throws(PostgresError) {
        guard !buffer.isEmpty else { return }
        let connection = self.connection
        let handle = self.handle
        try buffer.withUnsafeBufferPointer { (bytes) throws(PostgresError) in
            try connection.putCopyData(handle, bytes)
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Appends text with COPY's backslash escapes.
    private mutating func appendEscaped(_ bytes: UnsafeBufferPointer<UInt8>) {
        var start = 0
        for index in 0..<bytes.count {
            let byte = bytes[index]
            guard byte <= UInt8(ascii: "\\") else { continue }
            let escape: UInt8
            switch byte {
            case UInt8(ascii: "\\"): escape = UInt8(ascii: "\\")
            case UInt8(ascii: "\t"): escape = UInt8(ascii: "t")
            case UInt8(ascii: "\n"): escape = UInt8(ascii: "n")
            case UInt8(ascii: "\r"): escape = UInt8(ascii: "r")
            default: continue
            }
            if index > start { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start..<index])) }
            buffer.append(UInt8(ascii: "\\"))
            buffer.append(escape)
            start = index + 1
        }
        if start < bytes.count { buffer.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[start...])) }
    }

    /// Appends the decimal digits of an integer without allocating.
    private mutating func appendDecimal(_ value: Int64) {
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = buffer.count
        repeat {
            buffer.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        buffer[start...].reverse()
    }
}

extension PostgresCopyWriter {
    /// Appends a timestamp (for a `timestamptz` column), in UTC, to the microsecond.
    public mutating func appendField(_ value: Date) {
        beginField()
        PostgresTimestamp.append(value, to: &buffer)
    }

    /// Appends a timestamp (for a `timestamptz` column) given in microseconds
    /// since 1970-01-01 00:00 UTC, exactly (no `Date`, whose `Double` seconds
    /// can miss the microsecond far from 2001).
    public mutating func appendTimestamp(microsecondsSince1970 micros: Int64) {
        beginField()
        PostgresTimestamp.append(microsecondsSince1970: micros, to: &buffer)
    }

    /// Appends a UUID.
    public mutating func appendField(_ value: UUID) {
        // Hex by table (uuidString goes through a formatted print).
        let digits: StaticString = "0123456789abcdef"
        var text = [UInt8](repeating: 0x2D, count: 36)
        withUnsafeBytes(of: value.uuid) { raw in
            var o = 0
            for i in 0..<16 {
                if i == 4 || i == 6 || i == 8 || i == 10 { o += 1 }
                text[o] = digits.utf8Start[Int(raw[i] >> 4)]
                text[o + 1] = digits.utf8Start[Int(raw[i] & 15)]
                o += 2
            }
        }
        appendField(String(decoding: text, as: UTF8.self))
    }
}
