import Foundation
import PostgresClient

/// A delivery claimed by this instance: one event for one subscription.
struct ClaimedDelivery: Sendable {
    var id: UUID
    var experimentID: UUID
    var event: String
    var eventID: Int64
    var occurredAt: Date
    var createdAt: Date
    /// This attempt's number (1 for the first).
    var attempt: Int
    /// The exact bytes sent by earlier attempts, or nil before the first.
    var body: [UInt8]?
    var url: String
    var secret: String?
}

/// What one attempt came to.
enum AttemptOutcome: String, Sendable {
    case delivered, retry, failed
}

/// A `notification_deliveries` row with its attempts, as the API shows it.
struct DeliveryRecord: Sendable {
    struct Attempt: Sendable {
        var attempt: Int
        var startedAt: Date
        var durationMs: Double
        var statusCode: Int?
        var error: String?
        var outcome: String
        var instance: String?
    }
    var id: UUID
    var event: String
    var eventID: Int64
    var occurredAt: Date
    var status: String
    var url: String
    var source: String
    var nextAttemptAt: Date?
    var lastError: String?
    var createdAt: Date
    var finishedAt: Date?
    var attemptList: [Attempt] = []
}

/// The notification tables: subscriptions, the outbox and attempts.
struct NotificationStore: Sendable {
    let pool: PostgresPool

    /// Writes an experiment's subscriptions, in the transaction that creates it.
    static func insertSubscriptions(
        _ tx: PostgresConnection, experiment id: UUID, request: [WebhookSubscription], server: [WebhookSubscription]
    ) throws {
        let all = request.map { ("request", $0) } + server.map { ("server", $0) }
        for (position, (source, s)) in all.enumerated() {
            try tx.execute(
                """
                INSERT INTO notification_subscriptions (experiment_id, source, position, url, events, secret)
                VALUES (\(id), \(source), \(position), \(s.url), string_to_array(\(s.events.joined(separator: ",")), ','), \(s.secret))
                """)
        }
    }

    /// Claims the oldest due delivery for `owner`, holding it for `leaseSeconds`
    /// (another instance takes it over if this one dies mid-attempt).
    func claim(owner: String, leaseSeconds: Double) throws -> ClaimedDelivery? {
        try pool.withConnection { c in
            try c.query(
                """
                UPDATE notification_deliveries d SET attempts = d.attempts + 1, lease_owner = \(owner),
                    next_attempt_at = now() + \(leaseSeconds) * INTERVAL '1 second'
                FROM (SELECT id FROM notification_deliveries
                      WHERE status = 'pending' AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED) q,
                     notification_subscriptions s
                WHERE d.id = q.id AND s.id = d.subscription_id
                RETURNING d.id, d.experiment_id, d.event, d.event_id, d.occurred_at, d.created_at, d.attempts, d.body, s.url, s.secret
                """
            ).first.map { r in
                ClaimedDelivery(
                    id: try r.decode(0, as: UUID.self), experimentID: try r.decode(1, as: UUID.self),
                    event: try r.decode(2, as: String.self),
                    eventID: try r.decode(3, as: Int64.self), occurredAt: try r.decode(4, as: Date.self),
                    createdAt: try r.decode(5, as: Date.self),
                    attempt: try r.decode(6, as: Int.self), body: try r.decode(7, as: [UInt8]?.self), url: try r.decode(8, as: String.self),
                    secret: try r.decode(9, as: String?.self))
            }
        }
    }

    /// Keeps the first attempt's body so that every retry sends the same
    /// bytes (and signature); returns the stored body.
    func keepBody(_ id: UUID, _ body: [UInt8]) throws -> [UInt8] {
        try pool.withConnection { c in
            try c.query("UPDATE notification_deliveries SET body = COALESCE(body, \(body)) WHERE id = \(id) RETURNING body")
                .first?.decode(0, as: [UInt8].self) ?? body
        }
    }

    /// Records an attempt and what follows it: done, failed for good, or
    /// another attempt after `retryAfter` seconds. The delivery's row changes
    /// only if this instance still holds it.
    func record(
        _ d: ClaimedDelivery, owner: String, outcome: AttemptOutcome, startedAt: Date, durationMs: Double, statusCode: Int?,
        error: String?, retryAfter: Double
    ) throws {
        try pool.withTransaction { tx in
            try tx.execute(
                """
                INSERT INTO notification_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, outcome, instance)
                VALUES (\(d.id), \(d.attempt), \(startedAt), \(durationMs), \(statusCode), \(error), \(outcome.rawValue), \(owner))
                ON CONFLICT (delivery_id, attempt) DO NOTHING
                """)
            try tx.execute(
                """
                UPDATE notification_deliveries SET
                    status = CASE \(outcome.rawValue) WHEN 'retry' THEN 'pending' ELSE \(outcome.rawValue) END,
                    next_attempt_at = CASE WHEN \(outcome.rawValue) = 'retry' THEN now() + \(retryAfter) * INTERVAL '1 second'
                                           ELSE next_attempt_at END,
                    finished_at = CASE WHEN \(outcome.rawValue) = 'retry' THEN NULL ELSE now() END,
                    last_error = \(error), lease_owner = NULL
                WHERE id = \(d.id) AND lease_owner = \(owner) AND attempts = \(d.attempt)
                """)
        }
    }

    /// The deliveries of an experiment, oldest first, with their attempts.
    func deliveries(of experiment: UUID) throws -> [DeliveryRecord] {
        try pool.withConnection { c in
            var out = try c.query(
                """
                SELECT d.id, d.event, d.event_id, d.occurred_at, d.status, s.url, s.source,
                       CASE WHEN d.status = 'pending' THEN d.next_attempt_at END, d.last_error, d.created_at, d.finished_at
                FROM notification_deliveries d JOIN notification_subscriptions s ON s.id = d.subscription_id
                WHERE d.experiment_id = \(experiment)
                ORDER BY d.event_id, s.position
                """
            ).map { r in
                DeliveryRecord(
                    id: try r.decode(0, as: UUID.self), event: try r.decode(1, as: String.self), eventID: try r.decode(2, as: Int64.self),
                    occurredAt: try r.decode(3, as: Date.self), status: try r.decode(4, as: String.self),
                    url: try r.decode(5, as: String.self),
                    source: try r.decode(6, as: String.self), nextAttemptAt: try r.decode(7, as: Date?.self),
                    lastError: try r.decode(8, as: String?.self), createdAt: try r.decode(9, as: Date.self),
                    finishedAt: try r.decode(10, as: Date?.self))
            }
            var index: [UUID: Int] = [:]
            for (i, d) in out.enumerated() { index[d.id] = i }
            for r in try c.query(
                """
                SELECT a.delivery_id, a.attempt, a.started_at, a.duration_ms, a.status_code, a.error, a.outcome, a.instance
                FROM notification_attempts a JOIN notification_deliveries d ON d.id = a.delivery_id
                WHERE d.experiment_id = \(experiment)
                ORDER BY a.delivery_id, a.attempt
                """)
            {
                guard let i = index[try r.decode(0, as: UUID.self)] else { continue }
                out[i].attemptList.append(
                    DeliveryRecord.Attempt(
                        attempt: try r.decode(1, as: Int.self), startedAt: try r.decode(2, as: Date.self),
                        durationMs: try r.decode(3, as: Double.self), statusCode: try r.decode(4, as: Int?.self),
                        error: try r.decode(5, as: String?.self), outcome: try r.decode(6, as: String.self),
                        instance: try r.decode(7, as: String?.self)))
            }
            return out
        }
    }

    /// Records that a running experiment made no progress for `stalledSeconds`.
    func recordStuck(_ id: UUID, stage: String?, stalledSeconds: Double, threshold: Double) throws {
        let details = "{\"stalled_s\":\(Int(stalledSeconds)),\"stuck_after_s\":\(Int(threshold))}"
        try pool.withConnection { c in
            try c.execute(
                """
                INSERT INTO pipeline_events (experiment_id, kind, stage, details)
                VALUES (\(id), 'stuck', \(stage), \(PostgresJSON(details)))
                """)
        }
    }

    /// Records that a stuck experiment made progress again.
    func recordUnstuck(_ id: UUID, stage: String?) throws {
        try pool.withConnection { c in
            try c.execute("INSERT INTO pipeline_events (experiment_id, kind, stage) VALUES (\(id), 'progress_resumed', \(stage))")
        }
    }
}
