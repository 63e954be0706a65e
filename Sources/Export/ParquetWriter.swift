/// Writes a Parquet file, batch by batch, in Swift.
///
/// Every column is REQUIRED (no nulls; doubles may hold NaN, strings may be
/// empty) and PLAIN-encoded. Types: `timestamp` → INT64 with logical type
/// TIMESTAMP(MICROS, isAdjustedToUTC = true); `double` → DOUBLE; `int64` →
/// INT64; `string` → BYTE_ARRAY with logical type STRING; `bool` → BOOLEAN.
/// Rows are buffered until a row group holds `rowGroupRows` rows, then the row
/// group is written (pages of `pageRows` values, each compressed on its own)
/// and its memory reused, so memory is bounded by one row group. Every column
/// chunk carries min/max statistics (NaN excluded; none when a double column
/// is all NaN) and the footer declares the type-defined column order. A file
/// with zero rows is valid (a schema and no row groups).
public final class ParquetWriter {
    /// The declared columns.
    public let columns: [ColumnSpec]
    /// The most rows in one row group.
    public let rowGroupRows: Int
    /// The page compression.
    public let compression: ParquetCompression

    private let sink: FileSink
    private let buffers: [ParquetColumnBuffer]
    private var bufferedRows = 0
    private var totalRows: Int64 = 0
    private var rowGroups: [[UInt8]] = []  // each RowGroup, Thrift-encoded without its list framing
    private let zstd: ZstdCompressor?
    private var scratch: UnsafeMutableRawPointer? = nil
    private var scratchCapacity = 0
    private var closed = false

    /// Called before each page while a row group is written (by ``write(_:)``
    /// when it fills, and by ``close()``), so that a long write reaches a
    /// checkpoint every page — a few milliseconds — where its thread may park
    /// (a pause) or stop: when it throws, the write ends with
    /// ``ExportError/Code/interrupted`` and the file is incomplete. Default: none.
    public var checkpoint: (() throws -> Void)?

    /// Creates the file.
    /// - Parameters:
    ///   - path: the file to create (truncated if it exists).
    ///   - columns: the columns, in order.
    ///   - compression: the page compression; default zstd level 1.
    ///   - rowGroupRows: the most rows per row group; default 1,048,576.
    ///   - pageRows: the most values per data page; default 131,072.
    /// - Throws: ``ExportError`` (`.io`, `.compression`, `.schema` for no columns or duplicate names).
    public init(
        path: String, columns: [ColumnSpec], compression: ParquetCompression = .zstd(level: 1),
        rowGroupRows: Int = 1 << 20, pageRows: Int = 1 << 17
    ) throws(ExportError) {
        guard !columns.isEmpty, Set(columns.map(\.name)).count == columns.count else {
            throw ExportError(.schema, path: path, reason: "a Parquet file needs columns with distinct names")
        }
        precondition(rowGroupRows > 0 && pageRows > 0)
        self.columns = columns
        self.rowGroupRows = rowGroupRows
        self.compression = compression
        if case .zstd(let level) = compression { zstd = try ZstdCompressor(level: level) } else { zstd = nil }
        sink = try FileSink(path: path)
        buffers = columns.map {
            ParquetColumnBuffer(spec: $0, pageRows: min(pageRows, rowGroupRows), expectedRows: min(rowGroupRows, 1 << 20))
        }
        try sink.write(Array("PAR1".utf8))
    }

    deinit { scratch?.deallocate() }

    /// Appends rows: one column per declared column, in order, all of the same length.
    /// Row groups are written as they fill.
    /// - Parameter batch: the columns.
    /// - Throws: ``ExportError`` (`.schema` when the batch does not match, `.io`, `.compression`).
    public func write(_ batch: [ExportColumn]) throws(ExportError) {
        if closed { throw ExportError(.closed, path: sink.path, reason: "writer closed") }
        try checkBatch(batch, against: columns, path: sink.path)
        let rows = batch.first?.values.count ?? 0
        var start = 0
        while start < rows {
            let take = min(rows - start, rowGroupRows - bufferedRows)
            for (buffer, column) in zip(buffers, batch) { buffer.append(column.values, start..<(start + take)) }
            bufferedRows += take
            start += take
            if bufferedRows == rowGroupRows { try flushRowGroup() }
        }
    }

    /// Writes the last row group and the footer, and closes the file. Calling it again does nothing.
    /// - Throws: ``ExportError`` (`.io`, `.compression`).
    public func close() throws(ExportError) {
        if closed { return }
        closed = true
        if bufferedRows > 0 { try flushRowGroup() }
        let footer = fileMetadata()
        try sink.write(footer)
        let n = UInt32(footer.count)
        try sink.write([UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)] + Array("PAR1".utf8))
        try sink.close()
    }

    // MARK: - Row groups

    private func flushRowGroup() throws(ExportError) {
        var chunks: [[UInt8]] = []
        var totalUncompressed: Int64 = 0
        var totalCompressed: Int64 = 0
        let groupOffset = sink.offset
        for buffer in buffers {
            let chunkStart = sink.offset
            var uncompressed: Int64 = 0
            for page in 0..<buffer.pageStarts.count {
                try pause()
                let values = min(buffer.pageRows, buffer.count - page * buffer.pageRows)
                let from = buffer.pageStarts[page]
                let to = page + 1 < buffer.pageStarts.count ? buffer.pageStarts[page + 1] : buffer.data.count
                uncompressed += try writePage(buffer, from..<to, values: values)
            }
            let compressed = sink.offset - chunkStart
            totalUncompressed += uncompressed
            totalCompressed += compressed
            chunks.append(columnChunk(buffer, offset: chunkStart, uncompressed: uncompressed, compressed: compressed))
        }
        var w = ThriftCompactWriter()
        w.listHeader(1, .struct, chunks.count)
        for c in chunks { w.appendRaw(c) }
        w.i64(2, totalUncompressed)
        w.i64(3, Int64(bufferedRows))
        w.i64(5, groupOffset)
        w.i64(6, totalCompressed)
        rowGroups.append(w.finish())
        totalRows += Int64(bufferedRows)
        bufferedRows = 0
        for b in buffers { b.reset() }
    }

    /// Runs ``checkpoint``; an error it throws becomes ``ExportError/Code/interrupted``.
    private func pause() throws(ExportError) {
        guard let checkpoint else { return }
        do { try checkpoint() } catch {
            closed = true
            throw ExportError(.interrupted, path: sink.path, reason: "\(error)")
        }
    }

    /// Writes one data page; returns its uncompressed size including the header.
    private func writePage(_ buffer: ParquetColumnBuffer, _ range: Range<Int>, values: Int) throws(ExportError) -> Int64 {
        var payload: [UInt8]? = nil
        if buffer.spec.type == .bool {
            // PLAIN booleans: bit-packed, least significant bit first.
            var packed = [UInt8](repeating: 0, count: (values + 7) / 8)
            for i in 0..<values where buffer.data[range.lowerBound + i] != 0 { packed[i >> 3] |= 1 << UInt8(i & 7) }
            payload = packed
        }
        return try withPayload(buffer, range, payload) { (raw) throws(ExportError) -> Int64 in
            var body = raw
            if let zstd {
                let bound = zstd.bound(raw.count)
                if bound > scratchCapacity {
                    scratch?.deallocate()
                    scratch = .allocate(byteCount: bound, alignment: 16)
                    scratchCapacity = bound
                }
                let n = try zstd.compress(
                    raw.baseAddress ?? UnsafeRawPointer(scratch!), count: raw.count, into: scratch!, capacity: scratchCapacity)
                body = UnsafeRawBufferPointer(start: scratch, count: n)
            }
            var h = ThriftCompactWriter()
            h.i32(1, 0)  // DATA_PAGE
            h.i32(2, Int32(raw.count))
            h.i32(3, Int32(body.count))
            h.beginStruct(5)  // DataPageHeader
            h.i32(1, Int32(values))
            h.i32(2, 0)  // PLAIN
            h.i32(3, 3)  // RLE definition levels (none: the column is required)
            h.i32(4, 3)  // RLE repetition levels (none)
            h.endStruct()
            let header = h.finish()
            try sink.write(header)
            try sink.write(body)
            return Int64(header.count + raw.count)
        }
    }

    private func withPayload(
        _ buffer: ParquetColumnBuffer, _ range: Range<Int>, _ payload: [UInt8]?,
        _ body: (UnsafeRawBufferPointer) throws(ExportError) -> Int64
    ) throws(ExportError) -> Int64 {
        var result: Result<Int64, ExportError> = .success(0)
        if let payload {
            payload.withUnsafeBytes { raw in
                do throws(ExportError) { result = .success(try body(raw)) } catch { result = .failure(error) }
            }
        } else {
            buffer.data.withUnsafeBytes { all in
                let raw = UnsafeRawBufferPointer(rebasing: all[range])
                do throws(ExportError) { result = .success(try body(raw)) } catch { result = .failure(error) }
            }
        }
        return try result.get()
    }

    // MARK: - Metadata

    /// Thrift type of each column.
    private static func physicalType(_ t: ColumnType) -> Int32 {
        switch t {
        case .bool: return 0  // BOOLEAN
        case .timestamp, .int64: return 2  // INT64
        case .double: return 5  // DOUBLE
        case .string: return 6  // BYTE_ARRAY
        }
    }

    private func columnChunk(_ b: ParquetColumnBuffer, offset: Int64, uncompressed: Int64, compressed: Int64) -> [UInt8] {
        var w = ThriftCompactWriter()
        w.i64(2, offset)  // file_offset
        w.beginStruct(3)  // ColumnMetaData
        w.i32(1, Self.physicalType(b.spec.type))
        w.i32List(2, [0, 3])  // PLAIN, RLE
        w.stringList(3, [b.spec.name])
        w.i32(4, compression.codec)
        w.i64(5, Int64(b.count))
        w.i64(6, uncompressed)
        w.i64(7, compressed)
        w.i64(9, offset)  // data_page_offset
        w.beginStruct(12)  // Statistics
        if let s = b.statistics() {
            if b.spec.type != .string && b.spec.type != .bool {
                w.binary(1, s.max)  // legacy max/min: signed order, right for numbers
                w.binary(2, s.min)
            }
            w.i64(3, 0)  // null_count
            w.binary(5, s.max)
            w.binary(6, s.min)
        } else {
            w.i64(3, 0)
        }
        w.endStruct()
        w.endStruct()
        return w.finish()
    }

    private func fileMetadata() -> [UInt8] {
        var w = ThriftCompactWriter()
        w.i32(1, 1)  // version
        w.listHeader(2, .struct, columns.count + 1)
        w.beginListElement()
        w.string(4, "schema")
        w.i32(5, Int32(columns.count))
        w.endStruct()
        for c in columns {
            w.beginListElement()
            w.i32(1, Self.physicalType(c.type))
            w.i32(3, 0)  // REQUIRED
            w.string(4, c.name)
            switch c.type {
            case .timestamp:
                w.i32(6, 10)  // TIMESTAMP_MICROS
                w.beginStruct(10)  // LogicalType
                w.beginStruct(8)  // TimestampType
                w.bool(1, true)  // isAdjustedToUTC
                w.beginStruct(2)  // TimeUnit
                w.emptyStruct(2)  // MICROS
                w.endStruct()
                w.endStruct()
                w.endStruct()
            case .string:
                w.i32(6, 0)  // UTF8
                w.beginStruct(10)
                w.emptyStruct(1)  // STRING
                w.endStruct()
            case .int64:
                w.i32(6, 18)  // INT_64
                w.beginStruct(10)
                w.beginStruct(10)  // IntType
                w.fieldHeader(1, .byte)
                w.appendRaw([64])  // bitWidth
                w.bool(2, true)  // isSigned
                w.endStruct()
                w.endStruct()
            case .double, .bool:
                break
            }
            w.endStruct()
        }
        w.i64(3, totalRows)
        w.listHeader(4, .struct, rowGroups.count)
        for g in rowGroups { w.appendRaw(g) }
        w.string(6, "SignalForge Parquet writer")
        w.listHeader(7, .struct, columns.count)  // column_orders
        for _ in columns {
            w.beginListElement()
            w.emptyStruct(1)  // TYPE_ORDER
            w.endStruct()
        }
        return w.finish()
    }
}

extension ThriftCompactWriter {
    /// Appends bytes that are already a complete encoded value (a list element struct).
    mutating func appendRaw(_ encoded: [UInt8]) { appendBytes(encoded) }
}
