import Foundation
import MicroHTTP
import Store

/// `GET /v1/experiments/{id}/notifications`: the webhook deliveries of an
/// experiment with every attempt (never a secret).
struct NotificationRoutes {
    let store: ExperimentStore
    let notifications: NotificationStore

    func register(_ r: inout Router) {
        r.get("/v1/experiments/{id}/notifications", scope: Scope.read.rawValue) { req in try list(req) }
    }

    func list(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        guard try database({ try store.status(id) }) != nil else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        let rows = try database { try notifications.deliveries(of: id) }
        let items = rows.map(Self.render).joined(separator: ",")
        return .json(Array("{\"items\":[\(items)]}".utf8))
    }

    static func render(_ d: DeliveryRecord) -> String {
        func date(_ v: Date?) -> String { v.map { JSONText.quote(Timestamps.iso8601($0)) } ?? "null" }
        func text(_ v: String?) -> String { v.map(JSONText.quote) ?? "null" }
        let attempts = d.attemptList.map { a in
            """
            {"attempt":\(a.attempt),"started_at":\(date(a.startedAt)),"duration_ms":\(a.durationMs),\
            "status_code":\(a.statusCode.map(String.init) ?? "null"),"error":\(text(a.error)),"outcome":"\(a.outcome)","instance":\(text(a.instance))}
            """
        }.joined(separator: ",")
        return """
            {"id":"\(d.id.uuidString.lowercased())","event":"\(d.event)","event_id":\(d.eventID),\
            "occurred_at":\(date(d.occurredAt)),"status":"\(d.status)","url":\(JSONText.quote(WebhookSubscription.redactedURL(d.url))),\
            "source":"\(d.source)","next_attempt_at":\(date(d.nextAttemptAt)),"last_error":\(text(d.lastError)),\
            "created_at":\(date(d.createdAt)),"finished_at":\(date(d.finishedAt)),"attempts":[\(attempts)]}
            """
    }
}
