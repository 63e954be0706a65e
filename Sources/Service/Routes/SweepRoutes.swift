import Foundation
import Hashing
import MicroHTTP
import Pipeline
import PostgresClient
import Store

/// `/v1/sweeps`: a grid or random search over config paths, one child
/// experiment per point; its leaderboard; pause, resume and cancel fanned out
/// to the children through the engine's normal control path; and its
/// deletion with every child (admin).
struct SweepRoutes {
    let sweeps: SweepStore
    let engine: Engine
    let authenticator: Authenticator
    /// Checks each point's body as `POST /v1/experiments` would.
    let experiments: ExperimentRoutes
    let deletion: SweepDeletion
    /// What `DELETE …?cancel=true` cancels the children with (as for an experiment).
    let stopper: ExperimentStopper
    let counters: HistoryCounters

    /// The headline figures a leaderboard may sort by.
    static let metrics = ["deflated_sharpe", "sharpe", "total_return", "trades", "p_value"]
    static let headline = ["total_return", "sharpe", "deflated_sharpe", "trades", "verdict", "p_value"]
    static let terminal: Set<String> = ["succeeded", "failed", "cancelled"]
    static let states = ["queued", "running", "pausing", "paused", "cancelling", "succeeded", "failed", "cancelled", "interrupted"]

    func register(_ r: inout Router) {
        let operate = Scope.operate.rawValue
        let read = Scope.read.rawValue
        r.post("/v1/sweeps", scope: operate) { req in try create(req) }
        r.get("/v1/sweeps", scope: read) { req in try list(req) }
        r.get("/v1/sweeps/{id}", scope: read) { req in try show(req) }
        r.get("/v1/sweeps/{id}/leaderboard", scope: read) { req in try leaderboard(req) }
        r.post("/v1/sweeps/{id}/pause", scope: operate) { req in try pause(req) }
        r.post("/v1/sweeps/{id}/resume", scope: operate) { req in try resume(req) }
        r.post("/v1/sweeps/{id}/cancel", scope: operate) { req in try cancel(req) }
        r.delete("/v1/sweeps/{id}", scope: Scope.admin.rawValue) { req in try delete(req) }
    }

    // MARK: create

    func create(_ req: Request) throws -> Response {
        try requireJSON(req)
        let body = try parseJSON(req.body)
        let sweep = try SweepRequest.parse(body)
        let id = UUID()
        var baseName: String?
        if case .string(let s)? = sweep.base["name"] { baseName = s }
        let name = sweep.name ?? baseName ?? "sweep-" + id.uuidString.prefix(8).lowercased()
        let points = sweep.points()
        // Every point's body checked up front: a bad value is the parameter's 400.
        var children: [NewSweepChild] = []
        var notify: [UUID: [WebhookSubscription]] = [:]
        for point in points {
            let pointBody = sweep.body(of: point, name: "\(name) #\(point.index + 1)", trials: points.count)
            let experiment: ExperimentRequest
            do { experiment = try experiments.validated(pointBody) } catch let e as APIError { throw sweep.attribute(e, at: point) }
            let child = UUID()
            notify[child] = experiment.notify
            let pointJSON = JSONValue.object([("index", .number(Double(point.index))), ("parameters", point.parameters)])
            children.append(
                NewSweepChild(id: child, name: experiment.name, request: experiment.json.serialized, point: pointJSON.serialized))
        }
        var key: String?
        var hash: String?
        if let k = req.headers["Idempotency-Key"] {
            guard (1...255).contains(k.utf8.count), k.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw APIError.invalid("Idempotency-Key", "must be 1 to 255 visible ASCII characters")
            }
            key = k
            hash = SHA256.hex(Array(body.canonical.utf8))
        }
        var asked: [(String, JSONValue)] = []
        for p in sweep.parameters {
            switch p.values {
            case .list(let xs): asked.append((p.path, .array(xs)))
            case .range(let lo, let hi, let count, let integer):
                asked.append(
                    (
                        p.path,
                        .object([
                            ("min", .number(lo)), ("max", .number(hi)), ("count", .number(Double(count))), ("integer", .bool(integer)),
                        ])
                    ))
            }
        }
        let parameters = JSONValue.object(asked)
        let new = NewSweep(
            id: id, name: name, createdBy: try authenticator.identity(req), base: sweep.base.serialized, parameters: parameters.serialized,
            mode: sweep.mode, seed: sweep.mode == "random" ? sweep.seed : nil, maxParallel: sweep.maxParallel, priority: sweep.priority)
        let serverWide = experiments.webhooks
        let outcome = try database {
            try sweeps.create(new, children: children, idempotencyKey: key, requestHash: hash) { tx, child in
                try NotificationStore.insertSubscriptions(tx, experiment: child, request: notify[child] ?? [], server: serverWide)
            }
        }
        switch outcome {
        case .created(let record):
            engine.wake()
            return try detailResponse(record, status: 201)
        case .replay(let record):
            var r = try detailResponse(record, status: 201)
            r.headers.add("Idempotent-Replayed", "true")
            return r
        case .mismatch:
            throw APIError(422, "Idempotency-Key '\(key ?? "")' was already used with a different request body", field: "Idempotency-Key")
        }
    }

    private func detailResponse(_ record: SweepRecord, status: Int) throws -> Response {
        let children = try database { try sweeps.children(record.id) }
        var r = Response.json(Array(Self.renderDetail(record, children: children).utf8), status: status)
        r.headers.add("Location", "/v1/sweeps/\(record.id.uuidString.lowercased())")
        return r
    }

    // MARK: read

    func list(_ req: Request) throws -> Response {
        let limit = try intQuery(req, "limit", default: 50, range: 1...500)
        let cursor = try req.query["cursor"].flatMap { $0.isEmpty ? nil : $0 }.map { c throws(APIError) -> ListCursor in
            guard let cur = ExperimentRoutes.decodeCursor(c) else { throw APIError.invalid("cursor", "is not a cursor this server issued") }
            return cur
        }
        let rows = try database { try sweeps.list(after: cursor, limit: limit + 1) }
        let page = Array(rows.prefix(limit))
        let counts = try database { try sweeps.counts(page.map(\.id)) }
        let next: String = rows.count > limit ? JSONText.quote(Self.encodeCursor(page.last!)) : "null"
        let items = page.map { Self.renderSummary($0, counts: counts[$0.id] ?? [:]) }.joined(separator: ",")
        return .json(Array("{\"items\":[\(items)],\"next_cursor\":\(next)}".utf8))
    }

    func show(_ req: Request) throws -> Response {
        let record = try find(req)
        return try detailResponse(record, status: 200)
    }

    private func find(_ req: Request) throws -> SweepRecord {
        let id = try uuidParameter(req, "id")
        guard let record = try database({ try sweeps.get(id) }) else { throw APIError.notFound("sweep \(req.parameter("id"))") }
        return record
    }

    func leaderboard(_ req: Request) throws -> Response {
        let metric = req.query["metric"].flatMap { $0.isEmpty ? nil : $0 } ?? "deflated_sharpe"
        guard Self.metrics.contains(metric) else {
            throw APIError(
                400, "metric: '\(metric)' is not one of \(Self.metrics.joined(separator: ", "))", field: "metric",
                extra: [("allowed", Self.metrics.joined(separator: ", "))])
        }
        let order = req.query["order"].flatMap { $0.isEmpty ? nil : $0 } ?? (metric == "p_value" ? "asc" : "desc")
        guard order == "asc" || order == "desc" else {
            throw APIError(400, "order: must be asc or desc", field: "order", extra: [("allowed", "asc, desc")])
        }
        let csv: Bool
        switch req.query["format"] {
        case nil, "": csv = req.headers["Accept"]?.lowercased().contains("text/csv") == true
        case "json": csv = false
        case "csv": csv = true
        case let v?: throw APIError.invalid("format", "'\(v)' is not json or csv")
        }
        let record = try find(req)
        let rows = Self.ranked(try database { try sweeps.children(record.id) }, by: metric, ascending: order == "asc")
        if csv {
            let paths = Self.parameterPaths(record)
            var out = (["rank", "experiment_id", "index", "state"] + paths + Self.headline).map(SignalRoutes.csvField).joined(
                separator: ",")
            out += "\n"
            for (rank, row) in rows.enumerated() {
                var fields = ["\(rank + 1)", row.child.id.uuidString.lowercased(), "\(row.index)", row.child.status]
                fields += paths.map { p in Self.csvValue(row.parameters[p]) }
                fields += Self.headline.map { Self.csvValue(row.metrics[$0]) }
                out += fields.map(SignalRoutes.csvField).joined(separator: ",") + "\n"
            }
            return Response(status: 200, headers: ["Content-Type": "text/csv; charset=utf-8"], body: Array(out.utf8))
        }
        let items = rows.enumerated().map { rank, row in
            var members: [(String, JSONValue)] = [
                ("rank", .number(Double(rank + 1))), ("experiment_id", .string(row.child.id.uuidString.lowercased())),
                ("index", .number(Double(row.index))), ("state", .string(row.child.status)), ("parameters", row.parameters),
            ]
            for h in Self.headline { members.append((h, row.metrics[h] ?? .null)) }
            return JSONValue.object(members).serialized
        }.joined(separator: ",")
        return .json(
            Array(
                "{\"sweep_id\":\"\(record.id.uuidString.lowercased())\",\"metric\":\"\(metric)\",\"order\":\"\(order)\",\"items\":[\(items)]}"
                    .utf8))
    }

    // MARK: control

    /// Pauses the sweep: no child is claimed any more, and every running child pauses.
    func pause(_ req: Request) throws -> Response {
        try control(req, to: "paused", from: ["running"], verb: "pause") { child, status, cause in
            guard status == "running" else { return }
            _ = try engine.pause(child, cause: cause)
        }
    }

    /// Resumes the sweep: paused children resume, and queued ones are claimed again.
    func resume(_ req: Request) throws -> Response {
        try control(req, to: "running", from: ["paused"], verb: "resume") { child, status, cause in
            guard status == "paused" || status == "pausing" else { return }
            _ = try engine.resume(child, cause: cause)
        }
    }

    /// Cancels the sweep: every child that has not ended is cancelled.
    func cancel(_ req: Request) throws -> Response {
        try control(req, to: "cancelled", from: ["running", "paused"], verb: "cancel") { child, status, cause in
            guard !Self.terminal.contains(status), status != "cancelling" else { return }
            _ = try engine.cancel(child, cause: cause)
        }
    }

    /// Moves the sweep's state, then applies `action` to each child (a child
    /// whose own state moved on meanwhile is left as it is). 202 with the
    /// sweep, 404, or 409 naming the current state.
    private func control(
        _ req: Request, to state: String, from: [String], verb: String,
        _ action: (UUID, String, ControlCause) throws -> Void
    ) throws -> Response {
        let record = try find(req)
        let cause = ControlCause.api(token: try authenticator.identity(req))
        guard from.contains(record.state), try database({ try sweeps.setState(record.id, to: state, from: from) }) else {
            let current = try database { try sweeps.get(record.id) }?.state ?? record.state
            let allowed = Self.allowedActions(current)
            throw APIError(
                409, "cannot \(verb) a sweep that is \(current)",
                extra: [("current_state", current), ("allowed", allowed.isEmpty ? "none" : allowed.joined(separator: ", "))])
        }
        for (child, status) in try database({ try sweeps.childStates(record.id) }) {
            do { try database { try action(child, status, cause) } } catch is Engine.ControlError {
                // The child moved on (ended, or was controlled on its own): nothing to do.
            }
        }
        engine.wake()
        guard let now = try database({ try sweeps.get(record.id) }) else { throw APIError.notFound("sweep \(req.parameter("id"))") }
        return try detailResponse(now, status: 202)
    }

    // MARK: delete

    /// 204 once every child (rows and files, as `DELETE /v1/experiments/{id}`
    /// deletes them) and the sweep row are gone; 404 when there is no such
    /// sweep (also after a delete); 409 naming the children that may still
    /// run, unless `cancel=true`: then the sweep is cancelled (no child starts
    /// any more), its children too, and it is deleted once their runners
    /// have stopped. Pinned children go too (a pin spares from retention only).
    func delete(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        let cancel = try HistoryRoutes.cancelFlag(req)
        var mark = try database { try deletion.mark(id) }
        if case .active = mark, cancel {
            // Claims of its children need the sweep running: none starts after this.
            _ = try database { try sweeps.setState(id, to: "cancelled", from: ["running", "paused"]) }
            let active = try database { try sweeps.childStates(id) }.filter { ExperimentDeletion.activeStatuses.contains($0.1) }
            try stopper.stop(active.map { (id: $0.0, status: $0.1) }, cause: ControlCause.api(token: try authenticator.identity(req)))
            mark = try database { try deletion.mark(id) }
        }
        switch mark {
        case .notFound:
            throw APIError.notFound("sweep \(req.parameter("id"))")
        case .active(let children):
            let named = children.map { "\($0.id.uuidString.lowercased()) (\($0.status))" }.joined(separator: ", ")
            throw APIError(
                409,
                "sweep has \(children.count) \(children.count == 1 ? "child" : "children") that may still run: \(named); "
                    + "cancel the sweep first, or delete with ?cancel=true",
                extra: [
                    ("active_children", children.map { "\($0.id.uuidString.lowercased())=\($0.status)" }.joined(separator: ",")),
                    ("allowed", "cancel"),
                ])
        case .marked(let children):
            try database { try deletion.finish(id, children: children) }
            counters.deleted(reason: "sweep", count: children.count)
            return Response(status: 204)
        }
    }

    static func allowedActions(_ state: String) -> [String] {
        switch state {
        case "running": ["pause", "cancel"]
        case "paused": ["resume", "cancel"]
        default: []
        }
    }

    // MARK: rendering

    struct Row {
        var child: SweepChildRecord
        var index: Int
        var parameters: JSONValue
        var metrics: JSONValue
    }

    /// The children with their parsed point and figures, best first by
    /// `metric` (children without a figure last, then by point).
    static func ranked(_ children: [SweepChildRecord], by metric: String, ascending: Bool) -> [Row] {
        let rows = children.map { c in
            let point = (try? JSONParser.parse(Array(c.point.utf8))) ?? .object([])
            var index = 0
            if case .number(let n)? = point["index"] { index = Int(n) }
            return Row(
                child: c, index: index, parameters: point["parameters"] ?? .object([]),
                metrics: (try? JSONParser.parse(Array(c.metrics.utf8))) ?? .object([]))
        }
        func value(_ r: Row) -> Double? {
            if case .number(let n)? = r.metrics[metric], n.isFinite { return n }
            return nil
        }
        return rows.sorted { a, b in
            switch (value(a), value(b)) {
            case (let x?, let y?) where x != y: return ascending ? x < y : x > y
            case (.some, nil): return true
            case (nil, .some): return false
            default: return a.index < b.index
            }
        }
    }

    static func parameterPaths(_ record: SweepRecord) -> [String] {
        guard case .object(let m)? = try? JSONParser.parse(Array(record.parameters.utf8)) else { return [] }
        return m.map(\.0)
    }

    static func csvValue(_ v: JSONValue?) -> String {
        switch v {
        case nil, .null?: ""
        case .string(let s)?: s
        case let v?: v.serialized
        }
    }

    static func renderSummary(_ s: SweepRecord, counts: [String: Int]) -> String {
        let total = s.count
        let finished = terminal.reduce(0) { $0 + (counts[$1] ?? 0) }
        let countsJSON = states.map { "\"\($0)\":\(counts[$0] ?? 0)" }.joined(separator: ",")
        let allowed = "[" + allowedActions(s.state).map { "\"\($0)\"" }.joined(separator: ",") + "]"
        return """
            {"id":"\(s.id.uuidString.lowercased())","name":\(JSONText.quote(s.name)),"state":"\(s.state)","mode":"\(s.mode)",\
            "seed":\(s.seed.map { "\($0)" } ?? "null"),"count":\(total),"max_parallel":\(s.maxParallel),"priority":"\(s.priority)",\
            "created_at":\(JSONText.quote(Timestamps.iso8601(s.createdAt))),"created_by":\(JSONText.quote(s.createdBy)),\
            "allowed_actions":\(allowed),"counts":{\(countsJSON)},"finished":\(finished),\
            "parameters":\(s.parameters),"base":\(s.base)}
            """
    }

    /// The sweep with its counts by state, progress (children ended, mean
    /// percent) and the best point so far by the default metric (deflated Sharpe).
    static func renderDetail(_ s: SweepRecord, children: [SweepChildRecord]) -> String {
        var counts: [String: Int] = [:]
        for c in children { counts[c.status, default: 0] += 1 }
        let percent = children.isEmpty ? 0 : children.reduce(0) { $0 + $1.percent } / Double(children.count)
        let best = ranked(children.filter { $0.status == "succeeded" }, by: "deflated_sharpe", ascending: false).first
        var bestJSON = "null"
        if let best, case .number(let v)? = best.metrics["deflated_sharpe"] {
            bestJSON =
                JSONValue.object([
                    ("experiment_id", .string(best.child.id.uuidString.lowercased())), ("index", .number(Double(best.index))),
                    ("parameters", best.parameters), ("metric", .string("deflated_sharpe")), ("value", .number(v)),
                    ("metrics", best.metrics),
                ]).serialized
        }
        let summary = renderSummary(s, counts: counts)
        return String(summary.dropLast()) + ",\"percent\":\(String(format: "%.3f", percent)),\"best\":\(bestJSON)}"
    }

    static func encodeCursor(_ s: SweepRecord) -> String {
        Data("\(s.createdMicros)/\(s.id.uuidString.lowercased())".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
