#if canImport(Glibc)
internal import Glibc
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Reads an OHLCV CSV file in chunks, with no per-row allocation, validating as it goes.
///
/// The file may be plain or gzip-compressed (detected by its magic bytes). Its
/// first non-blank line is a header; names are case-insensitive and may be
/// quoted. The timestamp column is called `timestamp`, `date`, `datetime` or
/// `time`, or is an unnamed first column; `open`, `high`, `low`, `close` and
/// `volume` are required; every other column is an extra numeric column (an
/// empty value there is NaN). Timestamps take the forms ``TimestampParser``
/// describes (ISO-8601 with or without zone or fraction, a date alone, or Unix
/// seconds/milliseconds decided by magnitude). A UTF-8 BOM, CRLF or CR line
/// ends, quoted fields (with `""` escapes), spaces around fields and blank lines
/// are accepted.
///
/// Each row is validated: every number parses, prices and volume are finite,
/// prices (open, high, low, close) are > 0, timestamps strictly increase
/// (across chunks too), `low ≤ min(open, close)`, `high ≥ max(open, close)`,
/// `volume ≥ 0`. The first failure throws a ``MarketDataError`` naming the
/// file and the 1-based line.
///
/// The reader owns one byte buffer (default 4 MiB; it grows only for a single
/// record longer than that, and a record longer than ``maxRecordBytes``
/// (default 64 KiB) is refused as soon as that many of its bytes are buffered,
/// so memory stays bounded whatever the input) and one set of column buffers
/// sized to the chunk.
public final class OHLCVCSVReader {
    /// The file name used in errors.
    public let fileName: String
    /// The symbol given to every chunk.
    public let symbol: String
    /// The timeframe given to every chunk.
    public let timeframe: Timeframe?
    /// Names of the extra columns, lowercase, in file order.
    public private(set) var extraNames: [String] = []
    /// The longest record (line, or lines of one record with quoted line
    /// breaks) accepted, in bytes, line end excluded.
    public let maxRecordBytes: Int

    /// The default ``maxRecordBytes``: 64 KiB, far beyond any OHLCV row.
    public static let defaultMaxRecordBytes = 64 << 10

    private let file: ReadableFile
    private let fd: Int32
    private var gzip: GzipReader?
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    private var position = 0
    private var end = 0
    private var eof = false
    /// 1-based line number of the byte at `position`.
    private var line = 1
    private var lastTimestamp = Int64.min
    private var targets: [Int] = []  // per field: -1 timestamp, 0…4 OHLCV, 5+k extra k
    private var targetPointer: UnsafeMutablePointer<Int> = .allocate(capacity: 1)  // the same, for the hot loop
    private var columnCount = 5  // 5 + extras

    /// Per value column, where the chunk being built stores it (the arrays' own storage).
    private var columnTable: UnsafeMutablePointer<UnsafeMutablePointer<Double>> = .allocate(capacity: 1)
    private var unquoteScratch: UnsafeMutablePointer<UInt8>
    private var unquoteCapacity = 256
    /// 10⁰ … 10²² for the number fast path.
    private let powersOfTen: UnsafeMutablePointer<Double>
    /// 128-bit powers of five for the number fast path.
    private let powersOfFive: UnsafeMutablePointer<UInt64>
    /// The last date parsed by the timestamp fast path.
    private var dateCache = TimestampParser.DateCache()

    /// Opens `path` and reads its header.
    /// - Parameters:
    ///   - path: the file (plain or gzip).
    ///   - fileName: the name used in errors; default `path`.
    ///   - symbol: the symbol of the series; default empty.
    ///   - timeframe: the timeframe of the series; default `nil` (unknown).
    ///   - bufferSize: the read buffer size in bytes; default 4 MiB.
    ///   - maxRecordBytes: the longest record; default ``defaultMaxRecordBytes`` (64 KiB).
    /// - Throws: ``MarketDataError`` (`.io`, `.header`, `.compression`, `.lineTooLong`).
    public convenience init(
        path: String, fileName: String? = nil, symbol: String = "", timeframe: Timeframe? = nil,
        bufferSize: Int = 4 << 20, maxRecordBytes: Int = OHLCVCSVReader.defaultMaxRecordBytes
    ) throws(MarketDataError) {
        let file = try ReadableFile.open(path: path, displayName: fileName ?? path)
        try self.init(
            file: file, fileName: fileName ?? path, symbol: symbol, timeframe: timeframe, bufferSize: bufferSize,
            maxRecordBytes: maxRecordBytes)
    }

    /// Reads an open file from its start (for example one that ``DataRoot``
    /// opened beneath the data root), and reads its header.
    /// - Parameters:
    ///   - file: the file (plain or gzip); kept open while the reader lives.
    ///   - fileName: the name used in errors.
    ///   - symbol: the symbol of the series; default empty.
    ///   - timeframe: the timeframe of the series; default `nil` (unknown).
    ///   - bufferSize: the read buffer size in bytes; default 4 MiB.
    ///   - maxRecordBytes: the longest record; default ``defaultMaxRecordBytes`` (64 KiB).
    /// - Throws: ``MarketDataError`` (`.io`, `.header`, `.compression`, `.lineTooLong`).
    public init(
        file: ReadableFile, fileName: String, symbol: String = "", timeframe: Timeframe? = nil,
        bufferSize: Int = 4 << 20, maxRecordBytes: Int = OHLCVCSVReader.defaultMaxRecordBytes
    ) throws(MarketDataError) {
        precondition(maxRecordBytes > 0)
        self.fileName = fileName
        self.symbol = symbol
        self.timeframe = timeframe
        self.maxRecordBytes = maxRecordBytes
        self.file = file
        fd = file.descriptor
        capacity = max(bufferSize, 64)
        buffer = .allocate(capacity: capacity)
        unquoteScratch = .allocate(capacity: unquoteCapacity)
        powersOfTen = .allocate(capacity: DecimalParser.powersOfTen.count)
        powersOfTen.initialize(from: DecimalParser.powersOfTen, count: DecimalParser.powersOfTen.count)
        powersOfFive = .allocate(capacity: DecimalParser.powersOfFive128.count)
        powersOfFive.initialize(from: DecimalParser.powersOfFive128, count: DecimalParser.powersOfFive128.count)
        do throws(MarketDataError) {
            guard lseekStart(fd) else { throw MarketDataError(.io, reason: "cannot seek: errno \(lastErrno())") }
            try startInput()
            try readHeader()
        } catch {
            throw error.at(file: self.fileName)
        }
    }

    deinit {
        buffer.deallocate()
        columnTable.deallocate()
        unquoteScratch.deallocate()
        targetPointer.deallocate()
        powersOfTen.deallocate()
        powersOfFive.deallocate()
    }

    /// Reads a whole file into one series.
    /// - Parameters:
    ///   - path: the file (plain or gzip).
    ///   - fileName: the name used in errors; default `path`.
    ///   - symbol: the symbol; default empty.
    ///   - timeframe: the timeframe; default `nil`.
    /// - Returns: every row of the file.
    /// - Throws: ``MarketDataError`` at the first problem.
    public static func read(
        path: String, fileName: String? = nil, symbol: String = "", timeframe: Timeframe? = nil
    ) throws(MarketDataError) -> OHLCVSeries {
        let reader = try OHLCVCSVReader(path: path, fileName: fileName, symbol: symbol, timeframe: timeframe)
        return try reader.next(maxRows: Int.max)
            ?? .empty(symbol: symbol, timeframe: timeframe, extraNames: reader.extraNames)
    }

    /// Reads up to `maxRows` further rows.
    /// - Parameter maxRows: the most rows in the chunk; default 1,048,576.
    /// - Returns: the chunk, or `nil` when the file has no more rows.
    /// - Throws: ``MarketDataError`` at the first problem, naming the line.
    public func next(maxRows: Int = 1 << 20) throws(MarketDataError) -> OHLCVSeries? {
        precondition(maxRows > 0)
        // Rows are parsed straight into the chunk's arrays, sized from the file when it is
        // plain; when they fill up, bigger ones take over the rows so far.
        let estimate = estimatedRemainingRows()
        var capacity = min(maxRows, estimate > 0 ? estimate : 1 << 16)
        var carried: (times: [Int64], values: [[Double]])? = nil
        while true {
            var failure: MarketDataError? = nil
            var finished = false
            let chunk = buildColumns(capacity: capacity) { columns -> Int in
                var rows = 0
                if let carried {
                    rows = carried.times.count
                    carried.times.withUnsafeBufferPointer { columns.times.update(from: $0.baseAddress!, count: rows) }
                    for (c, column) in carried.values.enumerated() {
                        column.withUnsafeBufferPointer { columns.values[c].update(from: $0.baseAddress!, count: rows) }
                    }
                }
                do throws(MarketDataError) {
                    (rows, finished) = try fill(columns, from: rows, maxRows: maxRows)
                } catch {
                    failure = error
                    return 0
                }
                return rows
            }
            if let failure { throw failure }
            if finished || capacity == maxRows { return makeChunk(chunk, capacity: capacity) }
            carried = chunk
            capacity = min(maxRows, capacity * 2)
        }
    }

    /// Parses rows from `rows` on into `columns` until the input ends, `maxRows` rows are
    /// done, or the columns are full.
    /// - Returns: the rows now in `columns`, and whether the chunk is complete (not just full).
    private func fill(_ columns: ChunkColumns, from rows: Int, maxRows: Int) throws(MarketDataError) -> (Int, Bool) {
        var rows = rows
        while rows < maxRows {
            if rows == columns.capacity { return (rows, false) }
            switch try parseRecord(row: rows, columns) {
            case .row: rows += 1
            case .blank: continue
            case .needMore:
                // More than the parser's window is buffered: the record is too long.
                if end - position >= maxRecordBytes + 2 { throw recordTooLong(line) }
                if try !refill() {
                    // At EOF with an incomplete record: parse it as the last one.
                    if position < end { continue }
                    return (rows, true)
                }
            case .endOfInput: return (rows, true)
            }
        }
        return (rows, true)
    }

    // MARK: - Input

    /// A generous estimate of the rows left in a plain file (from its size and the average
    /// line length in the buffer), so one chunk's columns are sized once instead of doubling
    /// and copying; 0 when unknown (gzip, not a regular file, nothing buffered).
    private func estimatedRemainingRows() -> Int {
        if gzip != nil || eof && position == end { return 0 }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return 0 }
        let offset = Int(lseek(fd, 0, SEEK_CUR))
        guard offset >= 0 else { return 0 }
        let remaining = Int(info.st_size) - offset + (end - position)
        let sampleEnd = min(end, position + (1 << 18))
        var lines = 0
        var i = position
        while i < sampleEnd {
            if buffer[i] == 10 { lines += 1 }
            i += 1
        }
        guard lines > 0, remaining > 0 else { return 0 }
        let perLine = max((sampleEnd - position) / lines, 1)
        let estimate = remaining / perLine
        return estimate + estimate / 16 + 16
    }

    private func startInput() throws(MarketDataError) {
        _ = try refill()
        if end - position >= 2 && buffer[position] == 0x1F && buffer[position + 1] == 0x8B {
            // gzip: restart the file through the inflater.
            _ = lseekStart(fd)
            gzip = try GzipReader(fd: fd)
            position = 0
            end = 0
            eof = false
            _ = try refill()
        }
        if end - position >= 3 && buffer[position] == 0xEF && buffer[position + 1] == 0xBB
            && buffer[position + 2] == 0xBF
        {
            position += 3
        }
    }

    /// Moves unread bytes to the front and reads more; grows the buffer when it is full.
    /// - Returns: `false` at the end of the input (nothing more was read).
    private func refill() throws(MarketDataError) -> Bool {
        if eof { return false }
        if position > 0 {
            let remaining = end - position
            if remaining > 0 { buffer.update(from: buffer + position, count: remaining) }
            position = 0
            end = remaining
        }
        if end == capacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity * 2)
            bigger.update(from: buffer, count: end)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        var total = 0
        while end < capacity {
            let n: Int
            if let gzip {
                // Damage after bytes already read this time: hand those over
                // first; the next read reports it (errors in stream order).
                do { n = try gzip.read(into: buffer + end, capacity: capacity - end) } catch {
                    if total > 0 { break }
                    throw error
                }
            } else {
                n = posixRead(fd, buffer + end, capacity - end)
                if n < 0 { throw MarketDataError(.io, file: fileName, reason: "read failed: errno \(lastErrno())") }
            }
            if n == 0 { eof = true; break }
            end += n
            total += n
        }
        return total > 0
    }

    // MARK: - Header

    private func readHeader() throws(MarketDataError) {
        // Skip blank lines, find the end of the header line.
        while true {
            var i = position
            while i < end && buffer[i] != 10 && buffer[i] != 13 { i += 1 }
            if i == end && !eof {
                if i - position > maxRecordBytes { throw recordTooLong(line) }
                if try !refill() && position == end { break }
                continue
            }
            // A CR last in the buffer may be half of a CRLF: read on before
            // counting the line end (else the LF counts as one more line).
            if i + 1 == end && buffer[i] == 13 && !eof {
                _ = try refill()
                continue
            }
            if i == position {
                if i == end { break }
                skipLineEnd()
                continue
            }
            if i - position > maxRecordBytes { throw recordTooLong(line) }
            let names = splitHeader(buffer + position, i - position)
            position = i
            skipLineEnd()
            try mapHeader(names)
            return
        }
        throw MarketDataError(.header, file: fileName, line: line, reason: "the file is empty (no header)")
    }

    /// The record starting at `line` is longer than ``maxRecordBytes``.
    private func recordTooLong(_ line: Int) -> MarketDataError {
        MarketDataError(
            .lineTooLong, file: fileName, line: line,
            reason: "the line is longer than the limit of \(maxRecordBytes) bytes")
    }

    private func skipLineEnd() {
        if position < end && buffer[position] == 13 {
            position += 1
            if position < end && buffer[position] == 10 { position += 1 }
            line += 1
        } else if position < end && buffer[position] == 10 {
            position += 1
            line += 1
        }
    }

    private func splitHeader(_ p: UnsafeMutablePointer<UInt8>, _ n: Int) -> [String] {
        var names: [String] = []
        var current: [UInt8] = []
        var inQuotes = false
        var i = 0
        while i < n {
            let c = p[i]
            if inQuotes {
                if c == 34 {
                    if i + 1 < n && p[i + 1] == 34 { current.append(34); i += 1 } else { inQuotes = false }
                } else {
                    current.append(c)
                }
            } else if c == 34 {
                inQuotes = true
            } else if c == 44 {
                names.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(c)
            }
            i += 1
        }
        names.append(String(decoding: current, as: UTF8.self))
        return names.map { $0.trimmingSpaces().lowercased() }
    }

    private func mapHeader(_ names: [String]) throws(MarketDataError) {
        let required = ["open", "high", "low", "close", "volume"]
        var targets = [Int](repeating: Int.min, count: names.count)
        var timestampField: Int? = nil
        for (i, name) in names.enumerated() where ["timestamp", "date", "datetime", "time"].contains(name) {
            timestampField = i
            break
        }
        if timestampField == nil, names.first == "" { timestampField = 0 }
        guard let timestampField else {
            throw MarketDataError(
                .header, file: fileName, line: line - 1,
                reason: "no timestamp column (expected 'timestamp', 'date', 'datetime', 'time' or an unnamed first column)")
        }
        targets[timestampField] = -1
        for (k, name) in required.enumerated() {
            guard let i = names.firstIndex(of: name) else {
                throw MarketDataError(.header, file: fileName, line: line - 1, reason: "no '\(name)' column")
            }
            targets[i] = k
        }
        var extras: [String] = []
        for (i, name) in names.enumerated() where targets[i] == Int.min {
            if name.isEmpty || extras.contains(name) || required.contains(name) {
                throw MarketDataError(
                    .header, file: fileName, line: line - 1,
                    reason: name.isEmpty ? "column \(i + 1) has no name" : "duplicate column '\(name)'")
            }
            targets[i] = 5 + extras.count
            extras.append(name)
        }
        self.targets = targets
        columnTable.deallocate()
        columnTable = .allocate(capacity: 5 + extras.count)
        targetPointer.deallocate()
        targetPointer = .allocate(capacity: targets.count)
        targetPointer.initialize(from: targets, count: targets.count)
        extraNames = extras
        columnCount = 5 + extras.count
    }

    // MARK: - Records

    private enum RecordResult { case row, blank, needMore, endOfInput }

    /// Parses one record at `position` into row `row` of the column buffers.
    @inline(__always)
    private func parseRecord(row: Int, _ columns: ChunkColumns) throws(MarketDataError) -> RecordResult {
        if position >= end { return eof ? .endOfInput : .needMore }
        let first = buffer[position]
        if first == 10 || first == 13 {
            if first == 13 && position + 1 == end && !eof { return .needMore }
            skipLineEnd()
            return .blank
        }
        let recordLine = line
        var p = position
        // The parser sees at most the longest record plus a CRLF: a longer
        // record looks incomplete, and `fill` refuses it (so the length check
        // does not depend on the buffer size).
        let endIndex = min(end, position + maxRecordBytes + 2)
        let atEnd = eof && endIndex == end
        let fieldCount = targets.count
        let sink = RowSink(targets: targetPointer, times: columns.times, values: columns.values, row: row)
        var field = 0
        var extraLines = 0
        var contentEnd = p
        let base = buffer
        let powers = powersOfTen
        let fives = powersOfFive
        let values = columns.values
        let times = columns.times
        var dates = dateCache
        defer { dateCache = dates }
        while true {
            // Skip leading spaces.
            while p < endIndex && (base[p] == 32 || base[p] == 9) { p += 1 }
            let start = p
            var length: Int
            if p < endIndex && base[p] == 34 {
                // Quoted field: copy unescaped bytes into the scratch buffer when needed.
                var q = p + 1
                var out = 0
                var closed = false
                while q < endIndex {
                    let c = base[q]
                    if c == 34 {
                        if q + 1 < endIndex && base[q + 1] == 34 {
                            appendScratch(34, at: out); out += 1; q += 2; continue
                        }
                        if q + 1 == endIndex && !atEnd { break }
                        closed = true
                        q += 1
                        break
                    }
                    if c == 10 { extraLines += 1 }
                    appendScratch(c, at: out); out += 1
                    q += 1
                }
                if !closed {
                    if !atEnd { return .needMore }
                    throw MarketDataError(.fieldCount, file: fileName, line: recordLine, reason: "unterminated quoted field")
                }
                while q < endIndex && (base[q] == 32 || base[q] == 9) { q += 1 }
                p = q
                if p == endIndex && !atEnd { return .needMore }
                if p < endIndex && base[p] != 44 && base[p] != 10 && base[p] != 13 {
                    throw MarketDataError(
                        .fieldCount, file: fileName, line: recordLine,
                        reason: "unexpected text after a quoted field in column \(field + 1)")
                }
                if field < fieldCount && !sink.store(unquoteScratch, out, field: field) {
                    try storeFailure(unquoteScratch, out, field: field, line: recordLine)
                }
            } else {
                // Fast path: parse a plain number or `YYYY-MM-DDTHH:MM:SSZ` while finding its end.
                var fastEnd = -1
                if field < fieldCount {
                    let target = targetPointer[field]
                    if target >= 0 {
                        var v = 0.0
                        fastEnd = DecimalParser.parseDelimited(
                            base, from: p, limit: endIndex, powers: powers, fives: fives, into: &v)
                        if fastEnd >= 0 { values[target][row] = v }
                    } else {
                        var t: Int64 = 0
                        fastEnd = TimestampParser.parseSecondsZ(
                            base, from: p, limit: endIndex, cache: &dates, into: &t)
                        if fastEnd >= 0 { times[row] = t }
                    }
                }
                if fastEnd >= 0 {
                    p = fastEnd
                } else {
                    while p < endIndex {
                        let c = base[p]
                        if c <= 44 && (c == 44 || c == 10 || c == 13) { break }
                        p += 1
                    }
                    if p == endIndex && !atEnd { return .needMore }
                    length = p - start
                    while length > 0 && (base[start + length - 1] == 32 || base[start + length - 1] == 9) {
                        length -= 1
                    }
                    if field < fieldCount && !sink.store(base + start, length, field: field) {
                        try storeFailure(base + start, length, field: field, line: recordLine)
                    }
                }
            }
            field += 1
            if p < endIndex && base[p] == 44 {
                p += 1
                continue
            }
            // End of record: newline or end of input.
            contentEnd = p
            if p < endIndex && base[p] == 13 {
                if p + 1 == endIndex && !atEnd { return .needMore }
                p += 1
                if p < endIndex && base[p] == 10 { p += 1 }
            } else if p < endIndex {
                p += 1
            } else if !atEnd {
                return .needMore
            }
            break
        }
        if contentEnd - position > maxRecordBytes { throw recordTooLong(recordLine) }
        if field != fieldCount {
            throw MarketDataError(
                .fieldCount, file: fileName, line: recordLine,
                reason: "expected \(fieldCount) fields, found \(field)")
        }
        position = p
        line = recordLine + 1 + extraLines
        try validate(row: row, columns, line: recordLine)
        return .row
    }

    @inline(__always)
    private func appendScratch(_ c: UInt8, at index: Int) {
        if index == unquoteCapacity {
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: unquoteCapacity * 2)
            bigger.update(from: unquoteScratch, count: unquoteCapacity)
            unquoteScratch.deallocate()
            unquoteScratch = bigger
            unquoteCapacity *= 2
        }
        unquoteScratch[index] = c
    }

    /// Where the fields of one row go: plain pointers, so the hot loop touches no class state.
    private struct RowSink {
        let targets: UnsafeMutablePointer<Int>
        let times: UnsafeMutablePointer<Int64>
        let values: UnsafeMutablePointer<UnsafeMutablePointer<Double>>
        let row: Int

        /// Parses and stores one field; `false` when it does not parse.
        @inline(__always)
        func store(_ start: UnsafeMutablePointer<UInt8>, _ length: Int, field: Int) -> Bool {
            let target = targets[field]
            if target < 0 {
                guard let t = TimestampParser.parse(start, length) else { return false }
                times[row] = t
                return true
            }
            if let v = DecimalParser.parse(start, length) {
                values[target][row] = v
                return true
            }
            if target >= 5 && length == 0 {
                values[target][row] = .nan
                return true
            }
            return false
        }
    }

    @inline(never)
    private func storeFailure(
        _ start: UnsafeMutablePointer<UInt8>, _ length: Int, field: Int, line: Int
    ) throws(MarketDataError) {
        let target = targets[field]
        if target < 0 {
            if let problem = TimestampParser.rangeProblem(start, length) {
                throw MarketDataError(
                    .unparseableTimestamp, file: fileName, line: line, reason: "timestamp '\(text(start, length))' \(problem)")
            }
            throw MarketDataError(
                .unparseableTimestamp, file: fileName, line: line,
                reason: "unparseable timestamp '\(text(start, length))'")
        }
        let name = target < 5 ? ["open", "high", "low", "close", "volume"][target] : extraNames[target - 5]
        throw MarketDataError(
            .unparseableNumber, file: fileName, line: line,
            reason: "unparseable number '\(text(start, length))' in column '\(name)'")
    }

    private func text(_ start: UnsafeMutablePointer<UInt8>, _ length: Int) -> String {
        String(decoding: UnsafeBufferPointer(start: start, count: min(length, 64)), as: UTF8.self)
    }

    @inline(__always)
    private func validate(row: Int, _ columns: ChunkColumns, line: Int) throws(MarketDataError) {
        let t = columns.times[row]
        let values = columns.values
        let o = values[0][row], h = values[1][row], l = values[2][row]
        let c = values[3][row], v = values[4][row]
        if t <= lastTimestamp {
            throw MarketDataError(
                .nonIncreasingTimestamp, file: fileName, line: line,
                reason: "timestamp \(t) µs is not after the previous one (\(lastTimestamp) µs)")
        }
        lastTimestamp = t
        if !(o.isFinite && h.isFinite && l.isFinite && c.isFinite) {
            throw MarketDataError(.notFinite, file: fileName, line: line, reason: "NaN or infinite price")
        }
        if !v.isFinite {
            throw MarketDataError(.notFinite, file: fileName, line: line, reason: "NaN or infinite volume")
        }
        if !(o > 0 && h > 0 && l > 0 && c > 0) {
            let (name, value) = o <= 0 ? ("open", o) : h <= 0 ? ("high", h) : l <= 0 ? ("low", l) : ("close", c)
            throw MarketDataError(
                .nonPositivePrice, file: fileName, line: line, reason: "\(name) \(value) is not a positive price")
        }
        if l > min(o, c) {
            throw MarketDataError(.lowAboveBody, file: fileName, line: line, reason: "low \(l) > min(open, close) \(min(o, c))")
        }
        if h < max(o, c) {
            throw MarketDataError(.highBelowBody, file: fileName, line: line, reason: "high \(h) < max(open, close) \(max(o, c))")
        }
        if v < 0 {
            throw MarketDataError(.negativeVolume, file: fileName, line: line, reason: "negative volume \(v)")
        }
    }

    // MARK: - Chunks

    /// Where one chunk's rows go while it is being built: the storage of its arrays.
    private struct ChunkColumns {
        let times: UnsafeMutablePointer<Int64>
        /// One pointer per value column (OHLCV, then the extras).
        let values: UnsafeMutablePointer<UnsafeMutablePointer<Double>>
        let capacity: Int
    }

    /// Creates the chunk's arrays with room for `capacity` rows and lets `body` fill them
    /// in place (no copy afterwards).
    /// - Parameter body: fills rows `0..<n` of every column and returns `n` (≤ `capacity`).
    /// - Returns: the timestamps and the value columns, `n` elements each.
    private func buildColumns(
        capacity: Int, _ body: (ChunkColumns) -> Int
    ) -> (times: [Int64], values: [[Double]]) {
        let table = columnTable
        let count = columnCount
        var rows = 0
        var innermostFirst: [[Double]] = []
        innermostFirst.reserveCapacity(count)
        let times = [Int64](unsafeUninitializedCapacity: capacity) { timeBuffer, timeCount in
            func level(_ k: Int) {
                if k == count {
                    rows = body(ChunkColumns(times: timeBuffer.baseAddress!, values: table, capacity: capacity))
                    return
                }
                let column = [Double](unsafeUninitializedCapacity: capacity) { buffer, n in
                    table[k] = buffer.baseAddress!
                    level(k + 1)
                    n = rows
                }
                innermostFirst.append(column)
            }
            level(0)
            timeCount = rows
        }
        return (times, innermostFirst.reversed())
    }

    private func makeChunk(_ chunk: (times: [Int64], values: [[Double]]), capacity: Int) -> OHLCVSeries? {
        let rows = chunk.times.count
        if rows == 0 { return nil }
        // Give back room well beyond the rows (an estimate that was too high, or doubling).
        let trim = capacity - rows > rows / 8 + 1024
        func fit<T>(_ a: [T]) -> [T] {
            trim ? a.withUnsafeBufferPointer { Array($0) } : a
        }
        let values = chunk.values.map(fit)
        return OHLCVSeries(
            symbol: symbol, timeframe: timeframe,
            timestamps: fit(chunk.times),
            open: values[0], high: values[1], low: values[2], close: values[3], volume: values[4],
            extras: extraNames.enumerated().map { NamedColumn(name: $1, values: values[5 + $0]) })
    }
}

extension MarketDataError {
    func at(file: String) -> MarketDataError {
        var copy = self
        if copy.file.isEmpty { copy.file = file }
        return copy
    }
}
