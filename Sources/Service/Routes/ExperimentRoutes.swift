import Foundation
import Hashing
import MarketData
import MicroHTTP
import Pipeline
import PostgresClient
import Stages
import Store

/// `/v1/experiments`: create, list and read experiments.
struct ExperimentRoutes {
    let store: ExperimentStore
    let engine: Engine
    let reader: ExperimentReadBatcher
    /// Who is calling: an `Idempotency-Key` belongs to the token that used it.
    let authenticator: Authenticator
    /// Server-wide webhooks, copied to each experiment created here.
    var webhooks: [WebhookSubscription] = []

    func register(_ r: inout Router) {
        r.post("/v1/experiments", scope: Scope.operate.rawValue) { req in try create(req) }
        r.get("/v1/experiments", scope: Scope.read.rawValue) { req in try list(req) }
        r.get("/v1/experiments/{id}", scope: Scope.read.rawValue) { req in try show(req) }
    }

    func create(_ req: Request) throws -> Response {
        try requireJSON(req)
        let body = try parseJSON(req.body)
        var experiment = try validated(body)
        let id = UUID()
        let (requested, serverWide) = (experiment.notify, webhooks)
        let subscribe: (PostgresConnection) throws -> Void = { tx in
            try NotificationStore.insertSubscriptions(tx, experiment: id, request: requested, server: serverWide)
        }
        if experiment.name.isEmpty { experiment.name = "experiment-" + id.uuidString.prefix(8).lowercased() }
        if let key = req.headers["Idempotency-Key"] {
            guard (1...255).contains(key.utf8.count), key.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw APIError.invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
            }
            // Same key, same request: the body as parsed (whitespace and key order do not matter).
            let hash = SHA256.hex(Array(body.canonical.utf8))
            let owner = try authenticator.identity(req)
            let outcome = try database {
                try store.create(
                    id: id, name: experiment.name, priority: experiment.priority, request: experiment.json.serialized,
                    idempotencyKey: key, owner: owner, requestHash: hash, alsoInTransaction: subscribe,
                    render: { Array(Self.render($0).utf8) })
            }
            switch outcome {
            case .created(let record):
                engine.wake()
                return Self.createdResponse(record)
            case .replay(let status, let bytes):
                var r = Response.json(bytes, status: status)
                if let replayed = try? JSONParser.parse(bytes), case .string(let rid)? = replayed["id"] {
                    r.headers.add("Location", "/v1/experiments/\(rid)")
                }
                r.headers.add("Idempotent-Replayed", "true")
                return r
            case .mismatch:
                throw APIError(422, "Idempotency-Key '\(key)' was already used with a different request body", field: "Idempotency-Key")
            }
        }
        let record = try database {
            try store.create(
                id: id, name: experiment.name, priority: experiment.priority, request: experiment.json.serialized,
                alsoInTransaction: subscribe)
        }
        engine.wake()
        return Self.createdResponse(record)
    }

    /// A body checked as `POST /v1/experiments` checks it: whole, decoded into
    /// its typed plan (every config section), its stages available in this
    /// build, its timeframes and files against the data.
    /// - Throws: `APIError` 400 naming the member and the reason.
    func validated(_ body: JSONValue) throws -> ExperimentRequest {
        var experiment = try ExperimentRequest.validate(body)
        try experiment.checkTimeframesAgainstData(engine.configuration.environment)
        // Stages this build does not have would fail the experiment later: say so now.
        let available = engine.registry.names
        if !available.isEmpty {
            let asked = body["stages"] != nil
            if !asked {
                experiment.stages = BuiltInStages.names.filter { available.contains($0) }
            } else if let missing = experiment.stages.first(where: { !available.contains($0) }) {
                throw APIError(
                    400, "stages: '\(missing)' is not available in this build (available: \(available.joined(separator: ", ")))",
                    field: "stages", extra: [("allowed", BuiltInStages.names.filter { available.contains($0) }.joined(separator: ", "))])
            }
        }
        // The files a load stage reads are checked now (when this engine's
        // load stage is the one that reads them: test stages read nothing).
        if experiment.stages.contains(where: { engine.registry.stage($0) is LoadStage }),
            let root = engine.configuration.environment?.dataRoot
        {
            try experiment.checkPaths(in: DataRoot(path: root.path))
        }
        return experiment
    }

    static func createdResponse(_ record: ExperimentRecord) -> Response {
        var response = Response.json(Array(render(record).utf8), status: 201)
        response.headers.add("Location", "/v1/experiments/\(record.id.uuidString.lowercased())")
        return response
    }

    func list(_ req: Request) throws -> Response {
        let statuses = ["queued", "running", "pausing", "paused", "cancelling", "succeeded", "failed", "cancelled", "interrupted"]
        if let s = req.query["status"], !statuses.contains(s) {
            throw APIError(
                400, "status: '\(s)' is not one of \(statuses.joined(separator: ", "))", field: "status",
                extra: [("allowed", statuses.joined(separator: ", "))])
        }
        let limit = try intQuery(req, "limit", default: 50, range: 1...500)
        let cursor = try req.query["cursor"].flatMap { $0.isEmpty ? nil : $0 }.map { c throws(APIError) -> ListCursor in
            guard let cur = Self.decodeCursor(c) else { throw APIError.invalid("cursor", "is not a cursor this server issued") }
            return cur
        }
        let rows = try database { try store.list(status: req.query["status"], after: cursor, limit: limit + 1) }
        let page = rows.prefix(limit)
        let next: String = rows.count > limit ? JSONText.quote(Self.encodeCursor(page.last!)) : "null"
        let items = page.map(Self.render).joined(separator: ",")
        return .json(Array("{\"items\":[\(items)],\"next_cursor\":\(next)}".utf8))
    }

    func show(_ req: Request) throws -> Response {
        reader.read(try uuidParameter(req, "id"))
    }

    static func render(_ e: ExperimentRecord) -> String {
        func date(_ d: Date?) -> String { d.map { JSONText.quote(Timestamps.iso8601($0)) } ?? "null" }
        return """
            {"id":"\(e.id.uuidString.lowercased())","name":\(JSONText.quote(e.name)),"status":"\(e.status)",\
            "priority":"\(e.priority)","stage":\(e.stage.map(JSONText.quote) ?? "null"),"percent":\(e.percent),\
            "created_at":\(date(e.createdAt)),"started_at":\(date(e.startedAt)),"finished_at":\(date(e.finishedAt)),\
            "error":\(e.error.map(JSONText.quote) ?? "null"),"pinned":\(e.pinned),"allowed_actions":\(allowedActions(e.status)),\
            \(sweepMembers(e))"request":\(e.request)}
            """
    }

    /// `"sweep_id":…,"point":{…},` for a sweep's child (its point's
    /// parameters: config path → value); nothing for a standalone experiment.
    static func sweepMembers(_ e: ExperimentRecord) -> String {
        guard let sweep = e.sweepID else { return "" }
        var parameters = "{}"
        if let text = e.sweepPoint, let point = try? JSONParser.parse(Array(text.utf8)), let p = point["parameters"] {
            parameters = p.serialized
        }
        return "\"sweep_id\":\"\(sweep.uuidString.lowercased())\",\"point\":\(parameters),"
    }

    /// The control requests the experiment's state allows, as `Lifecycle` decides: `["pause","cancel"]`.
    static func allowedActions(_ status: String) -> String {
        let names = ExperimentState(rawValue: status).map(Lifecycle.allowedActions(in:)) ?? []
        return "[" + names.map { "\"\($0)\"" }.joined(separator: ",") + "]"
    }

    static func encodeCursor(_ e: ExperimentRecord) -> String {
        Data("\(e.createdMicros)/\(e.id.uuidString.lowercased())".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func decodeCursor(_ s: String) -> ListCursor? {
        var b64 = s.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let data = Data(base64Encoded: b64), let text = String(data: data, encoding: .utf8) else { return nil }
        let parts = text.split(separator: "/")
        guard parts.count == 2, let micros = Int64(parts[0]), APITime.range.contains(micros),
            let id = UUID(uuidString: String(parts[1]))
        else { return nil }
        return ListCursor(micros: micros, id: id)
    }
}

// MARK: shared request helpers

/// Parses a JSON body; a syntax error is a 400 that says where it broke.
func parseJSON(_ body: [UInt8]) throws(APIError) -> JSONValue {
    do { return try JSONParser.parse(body) } catch {
        throw APIError(
            400, "malformed JSON at line \(error.line), column \(error.column): \(error.reason)", field: nil,
            extra: [("line", "\(error.line)"), ("column", "\(error.column)")])
    }
}

/// Requires `Content-Type: application/json` (parameters allowed) when a body is sent.
func requireJSON(_ req: Request) throws(APIError) {
    let type = req.headers["Content-Type"]?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased()
    guard type == nil || type == "application/json" || type?.hasSuffix("+json") == true else {
        throw APIError(415, "Content-Type must be application/json, not \(type!)")
    }
}

func uuidParameter(_ req: Request, _ name: String) throws(APIError) -> UUID {
    guard let id = parseUUID(req.parameter(name)) else {
        throw APIError(404, "\(name) '\(req.parameter(name))' is not a known id (ids are UUIDs)", field: name)
    }
    return id
}

/// `UUID(uuidString:)` without Foundation's detour through `NSString` and
/// `sscanf` (a few per cent of a cached `GET /v1/experiments/{id}`): the
/// canonical 8-4-4-4-12 form, hex digits in either case.
func parseUUID(_ text: String) -> UUID? {
    var text = text
    return text.withUTF8 { p -> UUID? in
        guard p.count == 36 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16)
        var i = 0
        while i < 36 {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard p[i] == UInt8(ascii: "-") else { return nil }
                i += 1
                continue
            }
            guard let hi = hexValue(p[i]), let lo = hexValue(p[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9], bytes[10],
                bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
    default: nil
    }
}

/// The instants a query parameter or a list cursor may hold: RFC 3339's
/// years, 0001-01-01T00:00:00Z … 9999-12-31T23:59:59.999999Z, in µs since
/// the epoch. PostgreSQL's `timestamptz` holds every one of them, so a value
/// outside is refused as the client's 400 before it reaches the database
/// (where it would be SQLSTATE 22008, a 500).
enum APITime {
    static let minMicros: Int64 = -62_135_596_800_000_000
    static let maxMicros: Int64 = 253_402_300_799_999_999
    static let range = minMicros...maxMicros
}

/// A time query parameter: RFC 3339 or µs since the epoch, within ``APITime/range``.
/// - Returns: µs since the epoch, or nil when the parameter is absent or empty.
/// - Throws: `APIError` 400 naming `name` (unparseable or out of range).
func timeQuery(_ req: Request, _ name: String) throws(APIError) -> Int64? {
    guard let raw = req.query[name], !raw.isEmpty else { return nil }
    let outOfRange = APIError.invalid(
        name, "'\(raw)' is outside 0001-01-01T00:00:00Z … 9999-12-31T23:59:59.999999Z (\(APITime.minMicros) … \(APITime.maxMicros) µs)")
    if raw.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "-" || $0 == "+") }), raw.contains(where: \.isNumber) {
        guard let n = Int64(raw), APITime.range.contains(n) else { throw outOfRange }
        return n
    }
    // RFC 3339's year has exactly four digits (0001 … 9999, as checked here; the
    // formatter would read more).
    let year = raw.utf8.prefix(5)
    guard year.count == 5, year.prefix(4).allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), year.last == UInt8(ascii: "-") else {
        throw APIError.invalid(name, "'\(raw)' is not an RFC 3339 time (2026-01-02T03:04:05Z) or microseconds since the epoch")
    }
    guard !raw.hasPrefix("0000") else { throw outOfRange }
    let fractional = ISO8601DateFormatter()
    fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    guard let d = fractional.date(from: raw) ?? ISO8601DateFormatter().date(from: raw) else {
        throw APIError.invalid(name, "'\(raw)' is not an RFC 3339 time (2026-01-02T03:04:05Z) or microseconds since the epoch")
    }
    // Years 0001 … 9999 are all well inside PostgreSQL's range (whatever
    // calendar the formatter uses before 1582).
    let micros = (d.timeIntervalSince1970 * 1_000_000).rounded()
    guard micros.isFinite, abs(micros) < 1e18 else { throw outOfRange }
    return Int64(micros)
}

func intQuery(_ req: Request, _ name: String, default value: Int, range: ClosedRange<Int>) throws(APIError) -> Int {
    guard let raw = req.query[name] else { return value }
    guard let n = Int(raw), range.contains(n) else {
        throw APIError.invalid(name, "must be an integer in \(range.lowerBound)…\(range.upperBound)")
    }
    return n
}

/// Runs a database call, turning database trouble into the right HTTP answer:
/// an unreachable or exhausted database is a 503 with `Retry-After`, never a
/// 5xx that blames the client's input; constraint violations are 409.
func database<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as PostgresError {
        switch e.code {
        case .connectionFailed, .poolExhausted, .poolClosed, .connectionClosed:
            var err = APIError(503, "the database is unavailable: \(e.description)")
            err.headers = [("Retry-After", "1")]
            throw err
        default:
            if e.sqlState == .uniqueViolation { throw APIError(409, "conflicts with an existing resource") }
            throw e
        }
    }
}

/// RFC 3339 timestamps in UTC with microseconds.
enum Timestamps {
    static func iso8601(_ d: Date) -> String {
        let micros = Int64((d.timeIntervalSince1970 * 1_000_000).rounded())
        var secs = micros / 1_000_000
        var frac = micros % 1_000_000
        if frac < 0 {
            frac += 1_000_000
            secs -= 1
        }
        var t = time_t(secs)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        let f = String(frac)
        return
            "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(String(repeating: "0", count: 6 - f.count) + f)Z"
    }
}
