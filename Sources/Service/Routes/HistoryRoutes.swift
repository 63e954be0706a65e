import Foundation
import MicroHTTP
import Pipeline
import Store

/// `DELETE /v1/experiments/{id}` (admin) and `POST …/pin` · `…/unpin`
/// (operate): removing an experiment with everything it owns, and exempting
/// one from retention.
struct HistoryRoutes {
    let engine: Engine
    let store: ExperimentStore
    let deletion: ExperimentDeletion
    let authenticator: Authenticator
    let counters: HistoryCounters
    /// How long `?cancel=true` waits for the runner to stop (default 60 s).
    var stopTimeout: Duration = .seconds(60)

    func register(_ r: inout Router) {
        r.delete("/v1/experiments/{id}", scope: Scope.admin.rawValue) { req in try delete(req) }
        r.post("/v1/experiments/{id}/pin", scope: Scope.operate.rawValue) { req in try pin(req, true) }
        r.post("/v1/experiments/{id}/unpin", scope: Scope.operate.rawValue) { req in try pin(req, false) }
    }

    /// 204 once the rows and files are gone; 404 when there is no such
    /// experiment (also after a delete); 409 while something may run it,
    /// unless `cancel=true`: then it is cancelled, and deleted once its
    /// runner has stopped.
    private func delete(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        let cancel = try Self.cancelFlag(req)
        var mark = try database { try deletion.mark(id, reason: "api") }
        if case .active(let status) = mark, cancel {
            try ExperimentStopper(engine: engine, store: store, timeout: stopTimeout).stop(
                [(id, status)], cause: ControlCause.api(token: try authenticator.identity(req)))
            mark = try database { try deletion.mark(id, reason: "api") }
        }
        switch mark {
        case .notFound:
            throw APIError.notFound("experiment \(req.parameter("id"))")
        case .active(let status):
            throw APIError(
                409, "experiment is \(status): cancel it first, or delete with ?cancel=true",
                extra: [("current_state", status), ("allowed", "cancel")])
        case .pinned, .marked:
            try database { try deletion.finish(id) }
            counters.deleted(reason: "api")
            return Response(status: 204)
        }
    }

    /// The `cancel` query parameter of a delete: `true`/`1` or `false`/`0`/absent.
    static func cancelFlag(_ req: Request) throws(APIError) -> Bool {
        switch req.query["cancel"] {
        case nil, "", "false", "0": false
        case "true", "1": true
        default: throw APIError.invalid("cancel", "must be true or false")
        }
    }

    private func pin(_ req: Request, _ pinned: Bool) throws -> Response {
        let id = try uuidParameter(req, "id")
        guard let record = try database({ try store.setPinned(id, pinned) }) else {
            throw APIError.notFound("experiment \(req.parameter("id"))")
        }
        return .json(Array(ExperimentRoutes.render(record).utf8))
    }
}
