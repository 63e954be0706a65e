import Foundation
import MicroHTTP
import Pipeline
import PostgresClient
import Stages
import Store

/// Pause, resume, cancel and retry; the progress tree; lifecycle events.
struct ControlRoutes {
    let engine: Engine
    let store: ExperimentStore
    let pool: PostgresPool
    let authenticator: Authenticator

    func register(_ r: inout Router) {
        let operate = Scope.operate.rawValue
        r.post("/v1/experiments/{id}/pause", scope: operate) { req in
            try control(req) { id, cause in try engine.pause(id, cause: cause) }
        }
        r.post("/v1/experiments/{id}/resume", scope: operate) { req in
            try control(req) { id, cause in try engine.resume(id, cause: cause) }
        }
        r.post("/v1/experiments/{id}/cancel", scope: operate) { req in
            try control(req) { id, cause in try engine.cancel(id, cause: cause) }
        }
        r.post("/v1/experiments/{id}/retry", scope: operate) { req in
            var fromStage: String?
            if !req.body.isEmpty {
                try requireJSON(req)
                let body = try parseJSON(req.body)
                guard case .object(let members) = body else { throw APIError(400, "the body must be a JSON object, not \(body.typeName)") }
                if let unknown = members.first(where: { $0.0 != "from_stage" }) {
                    throw APIError.invalid(unknown.0, "unknown member (known: from_stage)")
                }
                if let v = body["from_stage"] {
                    guard case .string(let s) = v, BuiltInStages.names.contains(s) else {
                        throw APIError(
                            400, "from_stage: must be one of \(BuiltInStages.names.joined(separator: ", "))", field: "from_stage",
                            extra: [("allowed", BuiltInStages.names.joined(separator: ", "))])
                    }
                    fromStage = s
                }
            }
            return try control(req) { id, cause in try engine.retry(id, fromStage: fromStage, cause: cause) }
        }
        r.get("/v1/experiments/{id}/progress", scope: Scope.read.rawValue) { req in try progress(req) }
        r.get("/v1/experiments/{id}/events", scope: Scope.read.rawValue) { req in try events(req) }
        r.get("/v1/experiments/{id}/metrics", scope: Scope.read.rawValue) { req in try metrics(req) }
    }

    /// Runs a control request: 202 with the experiment, 404, or 409 naming the
    /// current state and what it allows (`allowed`, as `allowed_actions` has it).
    /// The body's `status` is the state the request produced (the scheduler
    /// may already have moved on, e.g. claimed a requeued experiment). The
    /// events it records name the token that asked (`cause: api`).
    private func control(_ req: Request, _ action: (UUID, ControlCause) throws -> ExperimentState) throws -> Response {
        let id = try uuidParameter(req, "id")
        let cause = ControlCause.api(token: try authenticator.identity(req))
        let produced: ExperimentState
        do {
            produced = try database { try action(id, cause) }
        } catch let e as Engine.ControlError {
            switch e {
            case .notFound: throw APIError.notFound("experiment \(req.parameter("id"))")
            case .illegal(let t):
                let allowed = Lifecycle.allowedActions(in: t.state)
                throw APIError(
                    409, t.description,
                    extra: [("current_state", t.state.rawValue), ("allowed", allowed.isEmpty ? "none" : allowed.joined(separator: ", "))])
            case .unknownStage(let s): throw APIError.invalid("from_stage", "unknown stage '\(s)'")
            }
        }
        guard var record = try database({ try store.get(id) }) else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        record.status = produced.rawValue
        return .json(Array(ExperimentRoutes.render(record).utf8), status: 202)
    }

    private func progress(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        if let tree = engine.progress(of: id) {
            return .json(Array(Self.render(tree.snapshot()).utf8))
        }
        // Not running here: the tree as last stored, else as the database knows it.
        guard let record = try database({ try store.get(id) }) else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        let stored = try database { try store.progress(id) }
        if !stored.isEmpty { return .json(Array(Self.render(stored, status: record.status).utf8)) }
        let stages = ((try? JSONSerialization.jsonObject(with: Data(record.request.utf8))) as? [String: Any])?["stages"] as? [String] ?? []
        let done = try database { try store.completedStages(id) }
        let tree = ProgressTree(stages: stages)
        for s in stages where done.contains(s) { tree.finish("pipeline/\(s)") }
        if record.status == "succeeded" { tree.finish("pipeline") }
        return .json(Array(Self.render(tree.snapshot(), status: record.status).utf8))
    }

    /// Renders stored progress rows (sorted by path) as the same nested JSON.
    static func render(_ rows: [ProgressRecord], status: String) -> String {
        func snapshot(_ path: String) -> ProgressTree.Snapshot? {
            guard let r = rows.first(where: { $0.path == path }) else { return nil }
            let children = rows.filter { $0.path.hasPrefix(path + "/") && !$0.path.dropFirst(path.count + 1).contains("/") }
            return ProgressTree.Snapshot(
                path: r.path, kind: ProgressTree.Kind(rawValue: r.kind) ?? .step, name: r.name,
                status: ProgressTree.Status(rawValue: r.status) ?? .pending, unitsDone: r.unitsDone, unitsTotal: r.unitsTotal,
                percent: r.percent, rate: r.rate, etaSeconds: r.etaSeconds, children: children.compactMap { snapshot($0.path) })
        }
        guard let root = snapshot("pipeline") else { return "null" }
        return render(root, status: status)
    }

    static func render(_ n: ProgressTree.Snapshot, status override: String? = nil) -> String {
        func num(_ d: Double?) -> String {
            guard let d, d.isFinite else { return "null" }
            return String(format: "%.3f", d)
        }
        let total = n.unitsTotal.map(String.init) ?? "null"
        let children = n.children.map { render($0) }.joined(separator: ",")
        let status = override ?? n.status.rawValue
        return """
            {"path":\(JSONText.quote(n.path)),"kind":"\(n.kind.rawValue)","name":\(JSONText.quote(n.name)),"status":"\(status)",\
            "units_done":\(n.unitsDone),"units_total":\(total),"percent":\(num(n.percent)),"rate":\(num(n.rate)),\
            "eta_seconds":\(num(n.etaSeconds)),"children":[\(children)]}
            """
    }

    private func metrics(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        let limit = try intQuery(req, "limit", default: 500, range: 1...5000)
        var after: Int64 = 0
        if let a = req.query["after"], !a.isEmpty {
            guard let n = Int64(a), n >= 0 else { throw APIError.invalid("after", "must be a non-negative sample id") }
            after = n
        }
        guard try database({ try store.get(id) }) != nil else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        let rows = try database { try store.metrics(id, after: after, limit: limit + 1) }
        let page = rows.prefix(limit)
        func num(_ d: Double?) -> String { d.map { $0.isFinite ? "\($0)" : "null" } ?? "null" }
        let items = page.map { m in
            """
            {"id":\(m.id),"ts":\(JSONText.quote(Timestamps.iso8601(m.ts))),"stage":\(m.stage.map(JSONText.quote) ?? "null"),\
            "rss_bytes":\(m.rssBytes.map { "\($0)" } ?? "null"),"cpu_percent":\(num(m.cpuPercent)),"rows_per_second":\(num(m.rowsPerSecond))}
            """
        }.joined(separator: ",")
        let next = rows.count > limit ? "\"\(page.last!.id)\"" : "null"
        return .json(Array("{\"items\":[\(items)],\"next_cursor\":\(next)}".utf8))
    }

    private func events(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        let limit = try intQuery(req, "limit", default: 100, range: 1...1000)
        var after: Int64 = 0
        if let a = req.query["after"], !a.isEmpty {
            guard let n = Int64(a), n >= 0 else { throw APIError.invalid("after", "must be a non-negative event id") }
            after = n
        }
        guard try database({ try store.get(id) }) != nil else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        let rows = try database { try store.events(id, after: after, limit: limit + 1) }
        let page = rows.prefix(limit)
        let items = page.map { e in
            """
            {"id":\(e.id),"ts":\(JSONText.quote(Timestamps.iso8601(e.ts))),"kind":\(JSONText.quote(e.kind)),\
            "stage":\(e.stage.map(JSONText.quote) ?? "null"),"from_status":\(e.fromStatus.map(JSONText.quote) ?? "null"),\
            "to_status":\(e.toStatus.map(JSONText.quote) ?? "null"),"duration_ms":\(e.durationMs.map { "\($0)" } ?? "null"),\
            "details":\(e.details)}
            """
        }.joined(separator: ",")
        let next = rows.count > limit ? "\"\(page.last!.id)\"" : "null"
        return .json(Array("{\"items\":[\(items)],\"next_cursor\":\(next)}".utf8))
    }
}
