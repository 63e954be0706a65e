import Foundation
import Hashing
import Logging
import MarketData
import MicroHTTP
import PostgresClient
import Store
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// `/v1/datasets`: upload an OHLCV CSV (plain or gzip), list, read and delete.
///
/// An upload streams to `<dataDir>/datasets/.incoming/<id>.part` while it is
/// hashed and metered: a gzip body is inflated as it arrives (into a small
/// fixed buffer, never kept) so that the upload limit counts the bytes the
/// CSV holds, not the compressed bytes sent, and every line is measured
/// against the line limit; the first excess ends the upload at once, so
/// memory and CPU stay flat whatever the body expands to. Once complete,
/// every row is validated (``OHLCVCSVReader``, plus alignment of each
/// timestamp to the declared timeframe, and the bars' own timeframe inferred
/// and checked against it), and only then is the file renamed to
/// `<dataDir>/datasets/<id>.csv` (or `.csv.gz`) and its row inserted. A
/// rejected, aborted or oversized upload leaves nothing behind.
struct DatasetRoutes {
    let store: DatasetStore
    /// The data root; datasets live in `<dataDir>/datasets/`.
    let dataDir: String
    /// The largest accepted upload in bytes, counted decompressed (what the CSV holds).
    let maxUploadBytes: Int64
    /// The longest accepted line in bytes (line end excluded).
    let maxLineBytes: Int
    let logger: Logger

    init(pool: PostgresPool, dataDir: String, maxUploadBytes: Int64, maxLineBytes: Int = 64 << 10, logger: Logger) {
        store = DatasetStore(pool: pool)
        var root = dataDir.isEmpty ? "." : dataDir
        while root.count > 1, root.hasSuffix("/") { root.removeLast() }
        self.dataDir = root
        self.maxUploadBytes = maxUploadBytes
        self.maxLineBytes = maxLineBytes
        self.logger = logger
    }

    var datasetsDirectory: String { dataDir + "/datasets" }
    var incomingDirectory: String { datasetsDirectory + "/.incoming" }

    func register(_ r: inout Router) {
        sweepIncoming(olderThan: 24 * 3600)
        let routes = self
        r.post(
            "/v1/datasets", scope: Scope.operate.rawValue,
            body: .stream(limit: maxUploadBytes, makeSink: { req in try routes.makeSink(req) })
        ) { _ in
            // A streamed route is answered by its sink's `finish()`.
            Response.problem(500, "the upload sink did not answer")
        }
        r.get("/v1/datasets", scope: Scope.read.rawValue) { req in try list(req) }
        r.get("/v1/datasets/{id}", scope: Scope.read.rawValue) { req in try show(req) }
        r.delete("/v1/datasets/{id}", scope: Scope.operate.rawValue) { req in try delete(req) }
    }

    // MARK: upload

    /// Checks the query and headers, then opens the temporary file the body streams into.
    func makeSink(_ req: Request) throws -> any BodySink {
        let symbol = try Self.symbol(req.query["symbol"])
        let timeframe = try Self.timeframe(req.query["timeframe"])
        let declaredGzip: Bool
        switch req.headers["Content-Encoding"]?.trimmingCharacters(in: .whitespaces).lowercased() {
        case nil, "", "identity": declaredGzip = false
        case "gzip", "x-gzip": declaredGzip = true
        case let other?:
            throw APIError(
                415, "Content-Encoding '\(other)' is not supported: send the CSV as it is or gzip-compressed",
                field: "Content-Encoding")
        }
        if let type = req.headers["Content-Type"]?.lowercased(), type.hasPrefix("multipart/") {
            throw APIError(
                415, "send the file itself as the body (curl --data-binary @file.csv), not a multipart form",
                field: "Content-Type")
        }
        if let charset = Self.charset(req.headers["Content-Type"]), !["utf-8", "utf8", "us-ascii", "ascii"].contains(charset) {
            throw APIError(
                415, "Content-Type: charset '\(charset)' is not supported: send the CSV as UTF-8 (or US-ASCII)",
                field: "Content-Type", extra: [("allowed", "utf-8, us-ascii")])
        }
        try FileManager.default.createDirectory(atPath: incomingDirectory, withIntermediateDirectories: true)
        let id = UUID()
        let temp = incomingDirectory + "/" + id.uuidString.lowercased() + ".part"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let e = errno
            logger.error("cannot create upload file", metadata: ["path": "\(temp)", "errno": "\(e)"])
            throw APIError(500, "cannot store the upload (the server log has the details)")
        }
        return DatasetUpload(
            id: id, symbol: symbol, timeframe: timeframe, declaredGzip: declaredGzip, fd: fd, tempPath: temp, routes: self)
    }

    /// The `charset` parameter of a `Content-Type`, lowercased and unquoted; nil when absent.
    static func charset(_ contentType: String?) -> String? {
        guard let contentType else { return nil }
        for parameter in contentType.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "charset" else { continue }
            var value = pair[1].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            return value.lowercased()
        }
        return nil
    }

    /// Validates the complete temporary file, publishes it and inserts its row.
    /// On any failure the caller removes the temporary file.
    func publish(
        id: UUID, symbol: String, timeframe: Timeframe, tempPath: String, size: Int64, sha256: String, isGzip: Bool
    ) throws -> Response {
        let summary = try Self.validate(path: tempPath, timeframe: timeframe, isGzip: isGzip, maxLineBytes: maxLineBytes)
        let relative = "datasets/" + id.uuidString.lowercased() + (isGzip ? ".csv.gz" : ".csv")
        let final = dataDir + "/" + relative
        guard rename(tempPath, final) == 0 else {
            let e = errno
            logger.error("cannot publish upload", metadata: ["from": "\(tempPath)", "to": "\(final)", "errno": "\(e)"])
            throw APIError(500, "cannot store the upload (the server log has the details)")
        }
        let record: DatasetRecord
        do {
            record = try database {
                try store.insert(
                    DatasetRecord(
                        id: id, symbol: symbol, timeframe: timeframe.rawValue, path: relative, sizeBytes: size,
                        rowCount: summary.rows, firstMicros: summary.first, lastMicros: summary.last, sha256: sha256))
            }
        } catch {
            unlink(final)
            throw error
        }
        logger.info(
            "dataset uploaded",
            metadata: [
                "dataset_id": "\(id.uuidString.lowercased())", "symbol": "\(symbol)", "timeframe": "\(timeframe)",
                "rows": "\(summary.rows)", "bytes": "\(size)",
            ])
        var response = Response.json(Array(Self.render(record).utf8), status: 201)
        response.headers.add("Location", "/v1/datasets/\(id.uuidString.lowercased())")
        return response
    }

    /// What validation learnt of a good file.
    struct Summary: Equatable {
        var rows: Int64
        var first: Int64
        var last: Int64
    }

    /// Reads every row of the file at `path`: the reader's checks (numbers,
    /// strictly increasing timestamps, `low ≤ open, close ≤ high`, volume ≥ 0),
    /// at least one row, and every timestamp on the timeframe's UTC grid (the
    /// open time of a bar: a multiple of the bar length since the epoch, or a
    /// Monday 00:00 UTC for `1w`). Gaps are allowed.
    /// - Throws: `DatasetRejection` (422) for a bad file.
    static func validate(
        path: String, timeframe: Timeframe, isGzip: Bool, maxLineBytes: Int = OHLCVCSVReader.defaultMaxRecordBytes
    ) throws -> Summary {
        do {
            let reader = try OHLCVCSVReader(
                path: path, fileName: "body", timeframe: timeframe, bufferSize: 1 << 20, maxRecordBytes: maxLineBytes)
            var inference = TimeframeInference()
            var rows: Int64 = 0
            var first = Int64.min
            var last = Int64.min
            while let chunk = try reader.next(maxRows: 1 << 16) {
                let misaligned = chunk.timestamps.withUnsafeBufferPointer { ts -> Int? in
                    for i in 0..<ts.count where !timeframe.isAligned(ts[i]) { return i }
                    return nil
                }
                if let i = misaligned {
                    let t = chunk.timestamps[i]
                    let line = (try? CSVLineLocator.line(ofRecord: rows + Int64(i), path: path, isGzip: isGzip)) ?? 0
                    let grid =
                        timeframe == .w1
                        ? "weeks open on Monday 00:00 UTC"
                        : timeframe == .mo1
                            ? "months open on the 1st, 00:00 UTC"
                            : "bars open at multiples of \(timeframe) since 1970-01-01 UTC"
                    throw DatasetRejection(
                        line: line,
                        reason: "timestamp \(Timestamps.iso8601(Date(timeIntervalSince1970: Double(t) / 1_000_000))) "
                            + "is not the open time of a \(timeframe) bar (\(grid))")
                }
                inference.feed(chunk.timestamps)
                if rows == 0 { first = chunk.timestamps[0] }
                last = chunk.timestamps[chunk.count - 1]
                rows += Int64(chunk.count)
            }
            guard rows > 0 else { throw DatasetRejection(line: 0, reason: "the file has a header but no rows") }
            try checkTimeframe(inference.verdict, declared: timeframe, path: path, isGzip: isGzip)
            return Summary(rows: rows, first: first, last: last)
        } catch let e as MarketDataError {
            if e.code == .io { throw e }
            throw DatasetRejection(line: e.line, reason: e.reason)
        }
    }

    /// Checks the bars' own timeframe (``TimeframeInference``) against the
    /// declared one, whose grid every bar is already known to be on: bars that
    /// fit no timeframe, or are another timeframe's, are refused; bars that never
    /// are one bar of any timeframe apart (or a single bar) take the declared one.
    /// - Throws: `DatasetRejection` (422) naming the first gap that fits no timeframe (its later bar's line).
    static func checkTimeframe(
        _ verdict: TimeframeInference.Verdict, declared: Timeframe, path: String, isGzip: Bool
    ) throws {
        func line(_ record: Int64) -> Int { (try? CSVLineLocator.line(ofRecord: record, path: path, isGzip: isGzip)) ?? 0 }
        switch verdict {
        case .timeframe(let tf) where tf != declared:
            throw DatasetRejection(
                line: 0,
                reason: "the bars are \(tf) bars (the timeframe most gaps are one bar of), not \(declared) as declared: "
                    + "upload them with timeframe=\(tf)")
        case .timeframe, .undetermined:
            return
        case .irregular(_, let gap, _, _):
            let reason = verdict.problem(naming: { "line \(line($0))" }) ?? "the bars fit no timeframe"
            throw DatasetRejection(line: line(max(gap.row + 1, 0)), reason: reason)
        }
    }

    // MARK: list, show, delete

    func list(_ req: Request) throws -> Response {
        let symbol = try req.query["symbol"].flatMap { $0.isEmpty ? nil : $0 }.map { v throws(APIError) in try Self.symbol(v) }
        let timeframe = try req.query["timeframe"].flatMap { $0.isEmpty ? nil : $0 }.map { v throws(APIError) in try Self.timeframe(v) }
        let limit = try intQuery(req, "limit", default: 50, range: 1...500)
        let cursor = try req.query["cursor"].flatMap { $0.isEmpty ? nil : $0 }.map { c throws(APIError) -> ListCursor in
            guard let cur = ExperimentRoutes.decodeCursor(c) else { throw APIError.invalid("cursor", "is not a cursor this server issued") }
            return cur
        }
        let rows = try database { try store.list(symbol: symbol, timeframe: timeframe?.rawValue, after: cursor, limit: limit + 1) }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? JSONText.quote(Self.encodeCursor(page.last!)) : "null"
        let items = page.map(Self.render).joined(separator: ",")
        return .json(Array("{\"items\":[\(items)],\"next_cursor\":\(next)}".utf8))
    }

    func show(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        guard let record = try database({ try store.get(id) }) else { throw APIError.notFound("dataset \(req.parameter("id"))") }
        return .json(Array(Self.render(record).utf8))
    }

    func delete(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        switch try database({ try store.delete(id) }) {
        case .notFound:
            throw APIError.notFound("dataset \(req.parameter("id"))")
        case .inUse(let experiments):
            let ids = experiments.map { $0.uuidString.lowercased() }.joined(separator: ", ")
            throw APIError(
                409, "the dataset is named by experiments that have not finished (\(ids)); cancel them or wait",
                extra: [("experiments", ids)])
        case .deleted(let record):
            let file = dataDir + "/" + record.path
            if unlink(file) != 0, errno != ENOENT {
                let e = errno
                logger.warning("cannot remove a deleted dataset's file", metadata: ["path": "\(file)", "errno": "\(e)"])
            }
            return Response(status: 204)
        }
    }

    // MARK: helpers

    static func symbol(_ value: String?) throws(APIError) -> String {
        guard let value, !value.isEmpty else { throw APIError.invalid("symbol", "is required (e.g. ?symbol=EURUSD)") }
        guard value.count <= 32, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw APIError.invalid("symbol", "must be 1 to 32 letters, digits, '.', '_' or '-'")
        }
        return value
    }

    static func timeframe(_ value: String?) throws(APIError) -> Timeframe {
        let allowed = Timeframe.allCases.map(\.rawValue).joined(separator: ", ")
        guard let value, !value.isEmpty else {
            throw APIError(400, "timeframe: is required (one of \(allowed))", field: "timeframe", extra: [("allowed", allowed)])
        }
        guard let tf = try? Timeframe(parsing: value) else {
            throw APIError(
                400, "timeframe: '\(value)' is not one of \(allowed) (case-sensitive: 1m is a minute, 1M a month)",
                field: "timeframe", extra: [("allowed", allowed)])
        }
        return tf
    }

    static func render(_ d: DatasetRecord) -> String {
        func micros(_ m: Int64?) -> String {
            m.map { JSONText.quote(Timestamps.iso8601(Date(timeIntervalSince1970: Double($0) / 1_000_000))) } ?? "null"
        }
        let format = d.path.hasSuffix(".gz") ? "csv.gz" : "csv"
        return """
            {"id":"\(d.id.uuidString.lowercased())","symbol":\(JSONText.quote(d.symbol)),"timeframe":\(JSONText.quote(d.timeframe)),\
            "format":"\(format)","size_bytes":\(d.sizeBytes),"row_count":\(d.rowCount.map(String.init) ?? "null"),\
            "first_ts":\(micros(d.firstMicros)),"last_ts":\(micros(d.lastMicros)),\
            "sha256":\(d.sha256.map(JSONText.quote) ?? "null"),"created_at":\(JSONText.quote(Timestamps.iso8601(d.createdAt)))}
            """
    }

    static func encodeCursor(_ d: DatasetRecord) -> String {
        Data("\(d.createdMicros)/\(d.id.uuidString.lowercased())".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// Removes temporary upload files left by a crash (older than `age` seconds:
    /// another instance sharing the data root may be receiving younger ones).
    func sweepIncoming(olderThan age: TimeInterval) {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: incomingDirectory) else { return }
        let cutoff = Date().addingTimeInterval(-age)
        for name in names where name.hasSuffix(".part") {
            let path = incomingDirectory + "/" + name
            if let modified = (try? fm.attributesOfItem(atPath: path))?[.modificationDate] as? Date, modified < cutoff {
                unlink(path)
                logger.info("removed a stale upload", metadata: ["path": "\(path)"])
            }
        }
    }
}

/// A 422 for an uploaded file that is not a valid OHLCV CSV: the problem
/// carries `field: "body"`, the 1-based `line` (when the problem is about one)
/// and the `reason`.
struct DatasetRejection: Error, HTTPResponseError, CustomStringConvertible {
    var line: Int
    var reason: String

    var description: String { line > 0 ? "line \(line): \(reason)" : reason }

    var response: Response {
        let problem = ProblemDetails(status: 422, detail: "the body is not a valid OHLCV CSV: \(description)")
        var json = problem.json
        json.removeLast()
        json += ",\"field\":\"body\""
        if line > 0 { json += ",\"line\":\(line)" }
        json += ",\"reason\":\(JSONText.quote(reason))}"
        return Response(status: 422, headers: ["Content-Type": "application/problem+json"], body: Array(json.utf8))
    }
}

/// The body sink of one upload: appends to the temporary file, hashes and
/// meters (``UploadMeter``, through a ``GzipInflater`` for gzip); `finish`
/// validates and publishes; `abort` (too large, client gone, or a failure)
/// removes the temporary file.
final class DatasetUpload: BodySink {
    private struct State {
        var fd: Int32
        var hasher = SHA256.Hasher()
        var size: Int64 = 0
        /// The first bytes, to recognize gzip by its magic number.
        var head: [UInt8] = []
        var ended = false
        var meter: UploadMeter
        /// Set once the first two bytes said gzip.
        var inflater: Inflater?
        /// Whether the first two bytes have been seen (and metered since).
        var decided = false
    }

    let id: UUID
    let symbol: String
    let timeframe: Timeframe
    let declaredGzip: Bool
    let tempPath: String
    let routes: DatasetRoutes
    private let state: Mutex<State>

    init(id: UUID, symbol: String, timeframe: Timeframe, declaredGzip: Bool, fd: Int32, tempPath: String, routes: DatasetRoutes) {
        self.id = id
        self.symbol = symbol
        self.timeframe = timeframe
        self.declaredGzip = declaredGzip
        self.tempPath = tempPath
        self.routes = routes
        state = Mutex(State(fd: fd, meter: UploadMeter(maxBytes: routes.maxUploadBytes, maxLineBytes: routes.maxLineBytes)))
    }

    deinit { abort() }

    func write(_ chunk: UnsafeRawBufferPointer) throws {
        let failure: Int32? = try state.withLock { s throws -> Int32? in
            guard !s.ended else { return EBADF }
            let headBefore = s.head.count
            if s.head.count < 2 { s.head.append(contentsOf: chunk.prefix(2 - s.head.count)) }
            try Self.meter(chunk, headFromEarlierChunks: headBefore, &s)
            s.hasher.update(chunk)
            s.size += Int64(chunk.count)
            var offset = 0
            while offset < chunk.count {
                let n = Glibc.write(s.fd, chunk.baseAddress! + offset, chunk.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                offset += n
            }
            return nil
        }
        if let failure {
            routes.logger.error("cannot write an upload", metadata: ["path": "\(tempPath)", "errno": "\(failure)"])
            if failure == ENOSPC || failure == EDQUOT { throw InsufficientStorage() }
            throw APIError(500, "cannot store the upload (the server log has the details)")
        }
    }

    /// Counts `chunk` (decompressed, once the first two bytes have said
    /// whether it is gzip) against the limits.
    /// - Throws: ``UploadTooLarge`` (413), ``DatasetRejection`` (422: a line too long, damaged gzip).
    private static func meter(_ chunk: UnsafeRawBufferPointer, headFromEarlierChunks earlier: Int, _ s: inout State) throws {
        if !s.decided {
            guard s.head.count == 2 else { return }  // the first byte alone: wait for the second
            s.decided = true
            if s.head == [0x1F, 0x8B] { s.inflater = Inflater(try GzipInflater()) }
            // The byte of the head that came in an earlier chunk is metered now.
            if earlier > 0 {
                let head = s.head
                try head.prefix(earlier).withUnsafeBytes { try feed($0, &s) }
            }
        }
        try feed(chunk, &s)
    }

    private static func feed(_ bytes: UnsafeRawBufferPointer, _ s: inout State) throws {
        guard let inflater = s.inflater else {
            try s.meter.count(bytes)
            return
        }
        do {
            try inflater.inflater.inflate(bytes) { try s.meter.count($0) }
        } catch let e as MarketDataError {
            throw DatasetRejection(line: 0, reason: e.reason)
        }
    }

    /// The upload's inflater. It is only ever used inside `state`'s lock
    /// (one server thread at a time), which is what makes sharing it sound.
    private final class Inflater: @unchecked Sendable {
        let inflater: GzipInflater
        init(_ inflater: GzipInflater) { self.inflater = inflater }
    }

    func finish() throws -> Response {
        let closed = try state.withLock { s throws -> (size: Int64, sha256: String, gzip: Bool, ok: Bool)? in
            guard !s.ended else { return nil }
            if !s.decided {
                // A body of fewer than two bytes.
                s.decided = true
                let head = s.head
                try head.withUnsafeBytes { try s.meter.count($0) }
            }
            s.ended = true
            let synced = fsync(s.fd) == 0
            let closed = close(s.fd) == 0
            s.fd = -1
            return (s.size, SHA256.hexString(s.hasher.finalize()), s.head == [0x1F, 0x8B], synced && closed)
        }
        guard let closed else { throw APIError(500, "the upload already ended") }
        do {
            guard closed.ok else { throw APIError(500, "cannot store the upload (fsync or close failed)") }
            if declaredGzip && !closed.gzip {
                throw DatasetRejection(line: 0, reason: "Content-Encoding says gzip but the body is not gzip data")
            }
            return try routes.publish(
                id: id, symbol: symbol, timeframe: timeframe, tempPath: tempPath, size: closed.size, sha256: closed.sha256,
                isGzip: closed.gzip)
        } catch {
            unlink(tempPath)
            throw error
        }
    }

    func abort() {
        let wasOpen = state.withLock { s -> Bool in
            if s.fd >= 0 {
                close(s.fd)
                s.fd = -1
            }
            let was = !s.ended
            s.ended = true
            return was
        }
        // After `finish` the file was published or already removed.
        if wasOpen { unlink(tempPath) }
    }
}

/// Meters an upload's content (decompressed) as it streams in: the total
/// bytes against the upload limit and each line against the line limit,
/// counting lines as ``OHLCVCSVReader`` does (LF, CR or CRLF), so an error can
/// name the line. It keeps nothing but counters.
struct UploadMeter {
    let maxBytes: Int64
    let maxLineBytes: Int
    /// Bytes counted so far.
    private(set) var bytes: Int64 = 0
    /// The 1-based line of the next byte.
    private(set) var line = 1
    private var lineLength = 0
    private var previousWasCR = false

    init(maxBytes: Int64, maxLineBytes: Int) {
        self.maxBytes = maxBytes
        self.maxLineBytes = maxLineBytes
    }

    /// Counts `chunk`.
    /// - Throws: ``UploadTooLarge`` past `maxBytes`; ``DatasetRejection``
    ///   (422) for a line longer than `maxLineBytes`, naming it.
    mutating func count(_ chunk: UnsafeRawBufferPointer) throws {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        let room = maxBytes - bytes
        let n = Int(min(Int64(chunk.count), max(room, 0)))
        try scan(UnsafeRawBufferPointer(start: base, count: n))
        bytes += Int64(n)
        if n < chunk.count { throw UploadTooLarge(limit: maxBytes, line: line) }
    }

    /// Line ends found with `memchr` (so the cost per byte is C's, even in a
    /// debug build), each position looked up once.
    private mutating func scan(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        let n = bytes.count
        func next(_ c: Int32, from i: Int) -> Int {
            guard i < n, let hit = memchr(base + i, c, n - i) else { return n }
            return base.distance(to: UnsafeRawPointer(hit))
        }
        var p = 0
        var lf = next(10, from: 0)
        var cr = next(13, from: 0)
        while p < n {
            let stop = min(lf, cr)
            if stop > p {
                lineLength += stop - p
                previousWasCR = false
            }
            if lineLength > maxLineBytes {
                throw DatasetRejection(line: line, reason: "the line is longer than the limit of \(maxLineBytes) bytes")
            }
            if stop == n { break }
            let isLF = stop == lf
            // LF right after CR ends the same line (CRLF).
            if !(isLF && previousWasCR && stop == p) { line += 1 }
            previousWasCR = !isLF
            lineLength = 0
            p = stop + 1
            if isLF { lf = next(10, from: p) } else { cr = next(13, from: p) }
        }
    }
}

/// 413: the upload holds more than the limit once decompressed. Names the
/// line reached and the limit; the connection is closed (the rest of the
/// body is not read into anything).
struct UploadTooLarge: Error, HTTPResponseError {
    var limit: Int64
    var line: Int

    var response: Response {
        let problem = ProblemDetails(
            status: 413,
            detail: "the upload holds more than the limit of \(limit) bytes (counted decompressed), passed at line \(line)")
        var json = problem.json
        json.removeLast()
        json += ",\"field\":\"body\",\"limit\":\(limit),\"line\":\(line)}"
        return Response(
            status: 413, headers: ["Content-Type": "application/problem+json", "Connection": "close"], body: Array(json.utf8))
    }
}

/// 507: the disk under the data root is full.
struct InsufficientStorage: Error, HTTPResponseError {
    var response: Response {
        ProblemDetails(status: 507, title: "Insufficient Storage", detail: "the server has no room left for the upload").response
    }
}

/// Finds the 1-based line where a CSV data record starts, following the same
/// rules as ``OHLCVCSVReader`` (BOM, blank lines, CR/LF/CRLF, quoted fields
/// that span lines). Used only to name the line of a problem found after
/// parsing, so it favours simplicity over speed.
enum CSVLineLocator {
    /// - Parameters:
    ///   - record: the 0-based index of the data record (the header is not one).
    ///   - path: the file; `isGzip` when it is gzip-compressed.
    /// - Returns: the line, or nil when the file has fewer records.
    static func line(ofRecord record: Int64, path: String, isGzip: Bool) throws -> Int? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let gzip = isGzip ? try GzipReader(fd: fd) : nil
        let capacity = 1 << 16
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        defer { buffer.deallocate() }
        var scanner = Scanner(target: record)
        var atStart = true
        while true {
            let n = try gzip.map { try $0.read(into: buffer, capacity: capacity) } ?? Glibc.read(fd, buffer, capacity)
            if n <= 0 { return nil }
            var i = 0
            if atStart {
                atStart = false
                if n >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF { i = 3 }
            }
            while i < n {
                if let line = scanner.feed(buffer[i]) { return line }
                i += 1
            }
        }
    }

    struct Scanner {
        enum Mode { case beforeHeader, header, recordStart, fieldStart, unquoted, quoted, quoteInQuoted, afterQuoted }
        let target: Int64
        var mode = Mode.beforeHeader
        var line = 1
        var recordLine = 1
        var extraLines = 0
        var record: Int64 = -1
        var skipLF = false

        init(target: Int64) { self.target = target }

        /// Consumes one byte; returns the target record's line when it starts.
        mutating func feed(_ c: UInt8) -> Int? {
            if skipLF {
                skipLF = false
                if c == 10 { return nil }
            }
            switch mode {
            case .beforeHeader, .recordStart:
                if c == 10 || c == 13 {
                    line += 1
                    skipLF = c == 13
                    return nil
                }
                if mode == .beforeHeader {
                    mode = .header
                    return nil
                }
                record += 1
                if record == target { return line }
                recordLine = line
                extraLines = 0
                mode = .fieldStart
                return field(c)
            case .header:
                if c == 10 || c == 13 {
                    line += 1
                    skipLF = c == 13
                    mode = .recordStart
                }
                return nil
            case .fieldStart:
                return field(c)
            case .unquoted, .afterQuoted:
                if c == 44 { mode = .fieldStart } else if c == 10 || c == 13 { endRecord(c) }
                return nil
            case .quoted:
                if c == 34 { mode = .quoteInQuoted } else if c == 10 { extraLines += 1 }
                return nil
            case .quoteInQuoted:
                if c == 34 {
                    mode = .quoted
                } else if c == 44 {
                    mode = .fieldStart
                } else if c == 10 || c == 13 {
                    endRecord(c)
                } else {
                    mode = .afterQuoted
                }
                return nil
            }
        }

        private mutating func field(_ c: UInt8) -> Int? {
            switch c {
            case 32, 9: break
            case 34: mode = .quoted
            case 44: mode = .fieldStart
            case 10, 13: endRecord(c)
            default: mode = .unquoted
            }
            return nil
        }

        private mutating func endRecord(_ c: UInt8) {
            line = recordLine + 1 + extraLines
            skipLF = c == 13
            mode = .recordStart
        }
    }
}
