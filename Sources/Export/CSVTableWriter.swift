internal import MarketData

/// Writes a table as CSV, batch by batch, optionally gzip-compressed.
///
/// The header is the column names. Values: timestamps as ISO-8601 UTC
/// (`2024-01-02T03:04:05Z`, with `.ffffff` when there are microseconds), doubles
/// in Swift's shortest round-trip form (`NaN`, `inf`, `-inf` for the special
/// values), integers in decimal, booleans as `true`/`false`, strings quoted per
/// RFC 4180 when they hold a comma, a quote or a line break. Lines end with `\n`.
/// Memory stays bounded by one output buffer (1 MiB) whatever the row count.
public final class CSVTableWriter {
    /// The declared columns.
    public let columns: [ColumnSpec]
    private let sink: FileSink
    private var closed = false

    /// Creates the file and writes the header.
    /// - Parameters:
    ///   - path: the file to create (truncated if it exists).
    ///   - columns: the columns, in order.
    ///   - gzip: whether to gzip the output; default `false`.
    /// - Throws: ``ExportError`` (`.io`, `.compression`).
    public init(path: String, columns: [ColumnSpec], gzip: Bool = false) throws(ExportError) {
        self.columns = columns
        sink = try FileSink(path: path, gzip: gzip)
        var header: [UInt8] = []
        for (i, c) in columns.enumerated() {
            if i > 0 { header.append(44) }
            Self.appendField(c.name, to: &header)
        }
        header.append(10)
        try sink.write(header)
    }

    /// Appends rows: one column per declared column, in order, all of the same length.
    /// - Parameter batch: the columns.
    /// - Throws: ``ExportError`` (`.schema` when the batch does not match, `.io`).
    public func write(_ batch: [ExportColumn]) throws(ExportError) {
        if closed { throw ExportError(.closed, path: sink.path, reason: "writer closed") }
        try checkBatch(batch, against: columns, path: sink.path)
        let rows = batch.first?.values.count ?? 0
        // Up to 64 bytes per non-string value (a timestamp is 27, a double at most 24).
        for r in 0..<rows {
            for (c, column) in batch.enumerated() {
                if c > 0 { try putByte(44) }
                switch column.values {
                case .timestamp(let v):
                    let p = try sink.reserve(32)
                    sink.commit(UTCTime.formatISO8601(v[r], into: p))
                case .double(let v):
                    try putASCII(v[r].description)
                case .int64(let v):
                    try putASCII(v[r].description)
                case .bool(let v):
                    try putASCII(v[r] ? "true" : "false")
                case .string(let v):
                    try putString(v[r])
                }
            }
            try putByte(10)
        }
    }

    /// Flushes and closes the file (ending the gzip stream). Calling it again does nothing.
    /// - Throws: ``ExportError`` (`.io`).
    public func close() throws(ExportError) {
        if closed { return }
        closed = true
        try sink.close()
    }

    @inline(__always)
    private func putByte(_ b: UInt8) throws(ExportError) {
        let p = try sink.reserve(1)
        p[0] = b
        sink.commit(1)
    }

    @inline(__always)
    private func putASCII(_ s: String) throws(ExportError) {
        var s = s
        let failure: ExportError? = s.withUTF8 { u in
            do throws(ExportError) { try sink.write(UnsafeRawBufferPointer(u)) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    private func putString(_ s: String) throws(ExportError) {
        var needsQuotes = false
        for b in s.utf8 where b == 44 || b == 34 || b == 10 || b == 13 {
            needsQuotes = true
            break
        }
        if !needsQuotes { return try putASCII(s) }
        var field: [UInt8] = []
        Self.appendField(s, to: &field)
        try sink.write(field)
    }

    static func appendField(_ s: String, to out: inout [UInt8]) {
        let needsQuotes = s.utf8.contains { $0 == 44 || $0 == 34 || $0 == 10 || $0 == 13 }
        if !needsQuotes { out.append(contentsOf: s.utf8); return }
        out.append(34)
        for b in s.utf8 {
            if b == 34 { out.append(34) }
            out.append(b)
        }
        out.append(34)
    }
}

/// Checks that a batch has the declared names and types, and columns of one length.
func checkBatch(_ batch: [ExportColumn], against columns: [ColumnSpec], path: String) throws(ExportError) {
    guard batch.count == columns.count else {
        throw ExportError(.schema, path: path, reason: "batch has \(batch.count) columns, expected \(columns.count)")
    }
    let rows = batch.first?.values.count ?? 0
    for (b, c) in zip(batch, columns) {
        guard b.name == c.name, b.values.type == c.type else {
            throw ExportError(
                .schema, path: path,
                reason: "column '\(b.name)' (\(b.values.type)) does not match declared '\(c.name)' (\(c.type))")
        }
        guard b.values.count == rows else {
            throw ExportError(.schema, path: path, reason: "column '\(b.name)' has \(b.values.count) values, expected \(rows)")
        }
    }
}
