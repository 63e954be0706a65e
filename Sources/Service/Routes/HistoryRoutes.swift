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
        var cancel = false
        if let raw = req.query["cancel"] {
            switch raw {
            case "true", "1": cancel = true
            case "false", "0", "": cancel = false
            default: throw APIError.invalid("cancel", "must be true or false")
            }
        }
        var mark = try database { try deletion.mark(id, reason: "api") }
        if case .active(let status) = mark, cancel {
            try stop(id, status: status, cause: ControlCause.api(token: try authenticator.identity(req)))
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

    /// Cancels the experiment and waits until no runner holds it (here: the
    /// engine let go of it; elsewhere: the row reached a final state).
    private func stop(_ id: UUID, status: String, cause: ControlCause) throws {
        if status != "cancelling" {
            do { _ = try database { try engine.cancel(id, cause: cause) } } catch is Engine.ControlError {
                // Finished meanwhile (the delete goes ahead), or gone (the 404 follows).
            }
        }
        let deadline = ContinuousClock.now + stopTimeout
        while ContinuousClock.now < deadline {
            let now = try database { try store.status(id) }
            guard let now else { return }
            if !ExperimentDeletion.activeStatuses.contains(now), !engine.runningIDs.contains(id) { return }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw APIError(409, "experiment is still stopping after the cancel; try the delete again", extra: [("current_state", "cancelling")])
    }

    private func pin(_ req: Request, _ pinned: Bool) throws -> Response {
        let id = try uuidParameter(req, "id")
        guard let record = try database({ try store.setPinned(id, pinned) }) else {
            throw APIError.notFound("experiment \(req.parameter("id"))")
        }
        return .json(Array(ExperimentRoutes.render(record).utf8))
    }
}
