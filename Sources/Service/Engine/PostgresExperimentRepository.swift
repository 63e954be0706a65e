import Foundation
import Pipeline
import PostgresClient
import Stages
import Store

/// The engine's storage over PostgreSQL: every state change is a conditional
/// UPDATE of the `experiments` row plus a `pipeline_events` row, in one
/// transaction.
struct PostgresExperimentRepository: ExperimentRepository {
    let pool: PostgresPool

    private static let finished = "('succeeded', 'failed', 'cancelled')"

    /// States as one text parameter for `status = ANY(string_to_array($n, ','))`.
    static func list(_ states: some Collection<ExperimentState>) -> String {
        states.map(\.rawValue).sorted().joined(separator: ",")
    }

    func state(of id: UUID) throws -> ExperimentState? {
        try pool.withConnection { c in
            try c.query("SELECT status FROM experiments WHERE id = \(id)").first.flatMap {
                ExperimentState(rawValue: try $0.decode(0, as: String.self))
            }
        }
    }

    func states(of ids: [UUID]) throws -> [UUID: ExperimentState] {
        guard !ids.isEmpty else { return [:] }
        let list = ids.map { $0.uuidString.lowercased() }.joined(separator: ",")
        return try pool.withConnection { c in
            var out: [UUID: ExperimentState] = [:]
            for row in try c.query("SELECT id, status FROM experiments WHERE id = ANY(string_to_array(\(list), ',')::uuid[])") {
                out[try row.decode(0, as: UUID.self)] = ExperimentState(rawValue: try row.decode(1, as: String.self))
            }
            return out
        }
    }

    func transition(
        _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?, details: [String: String]
    ) throws -> TransitionResult {
        defer { ExperimentChanges.committed(id) }
        return try pool.withTransaction { tx in
            try Self.move(tx, id, from: from, to: to, event: event, error: error, details: details)
        }
    }

    func transition(
        _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?, details: [String: String],
        fence: Fence
    ) throws -> TransitionResult {
        defer { ExperimentChanges.committed(id) }
        return try pool.withTransaction { tx in
            try ExperimentStore.requireGeneration(tx, id, generation: fence.generation, owner: fence.owner)
            return try Self.move(tx, id, from: from, to: to, event: event, error: error, details: details)
        }
    }

    func abandon(_ id: UUID, reason: String, fence: Fence, details: [String: String]) throws -> ExperimentState? {
        defer { ExperimentChanges.committed(id) }
        return try pool.withTransaction { tx in
            try ExperimentStore.requireGeneration(tx, id, generation: fence.generation, owner: fence.owner)
            guard
                let current = try tx.query("SELECT status FROM experiments WHERE id = \(id)").first
                    .flatMap({ ExperimentState(rawValue: try $0.decode(0, as: String.self)) })
            else { return nil }
            // Running work: interrupted and requeued in this one transaction (both
            // events recorded), so no reader sees the passing `interrupted` and
            // takes it for the end; the moves and their states are `Lifecycle`'s.
            let (interrupt, requeue) = Lifecycle.interruptAndRequeue
            if interrupt.from.contains(current) {
                _ = try Self.move(
                    tx, id, from: interrupt.from, to: interrupt.to, event: interrupt.record, error: nil,
                    details: details.merging(["reason": reason]) { _, r in r })
                _ = try Self.move(
                    tx, id, from: requeue.from, to: requeue.to, event: requeue.record, error: nil, details: ["reason": reason])
                return requeue.to
            }
            if let stop = Lifecycle.move(from: current, on: .interrupt) {
                // A pending cancel completes.
                _ = try Self.move(tx, id, from: [current], to: stop.to, event: stop.record, error: nil, details: ["reason": reason])
                return stop.to
            }
            if current == .paused {
                // Paused work stays paused, without a lease: a resume requeues it.
                try tx.execute("UPDATE experiments SET lease_owner = NULL, lease_expires_at = NULL WHERE id = \(id)")
            }
            return current
        }
    }

    /// One conditional state change and its event, inside `tx`.
    private static func move(
        _ tx: PostgresConnection, _ id: UUID, from: [ExperimentState], to: ExperimentState, event: String, error: String?,
        details: [String: String]
    ) throws -> TransitionResult {
        let fromList = from.map(\.rawValue).joined(separator: ",")
        let fromStage = details["from_stage"]
        let order = BuiltInStages.names.joined(separator: ",")
        do {
            let rows = try tx.query(
                """
                WITH old AS (SELECT id, status FROM experiments WHERE id = \(id) FOR UPDATE)
                UPDATE experiments e SET
                    status = \(to.rawValue),
                    updated_at = now(),
                    error = CASE WHEN \(to.rawValue) = 'failed' THEN \(error) ELSE NULL END,
                    finished_at = CASE WHEN \(to.rawValue) IN \(unsafeSQL: Self.finished) THEN now()
                                       WHEN \(to.rawValue) = 'queued' THEN NULL ELSE e.finished_at END,
                    lease_owner = CASE WHEN \(to.rawValue) IN ('queued', 'interrupted', 'succeeded', 'failed', 'cancelled')
                                       THEN NULL ELSE e.lease_owner END,
                    lease_expires_at = CASE WHEN \(to.rawValue) IN ('queued', 'interrupted', 'succeeded', 'failed', 'cancelled')
                                       THEN NULL ELSE e.lease_expires_at END,
                    percent = CASE WHEN \(to.rawValue) = 'succeeded' THEN 100 ELSE e.percent END,
                    completed_stages = CASE WHEN \(fromStage)::text IS NULL THEN e.completed_stages
                        ELSE ARRAY(SELECT s FROM unnest(e.completed_stages) s
                                   WHERE array_position(string_to_array(\(order), ','), s)
                                       < array_position(string_to_array(\(order), ','), \(fromStage)::text)) END
                FROM old
                WHERE e.id = old.id AND old.status = ANY(string_to_array(\(fromList), ','))
                RETURNING old.status
                """)
            guard let row = rows.first else {
                let current = try tx.query("SELECT status FROM experiments WHERE id = \(id)").first
                return .conflict(current: try current.flatMap { ExperimentState(rawValue: try $0.decode(0, as: String.self)) })
            }
            let previous = try row.decode(0, as: String.self)
            if to.isFinished {
                // Live log followers close their streams on this.
                try tx.execute("SELECT pg_notify('sf_logs', \(id.uuidString.lowercased()))")
            }
            try tx.execute(
                """
                INSERT INTO pipeline_events (experiment_id, kind, from_status, to_status, details)
                VALUES (\(id), \(event), \(previous), \(to.rawValue), \(PostgresJSON(Self.json(details, error: error))))
                """)
            return .moved
        }
    }

    /// The claim: the next claimable experiment (highest priority, then
    /// oldest) moves to `running` under `owner`'s lease with a new
    /// generation; its states are `Lifecycle`'s for `.claim`. The one place
    /// the claim's SQL lives.
    func claimNext(owner: String, leaseSeconds: Double) throws -> ClaimedExperiment? {
        let from = Lifecycle.sources(of: .claim)
        guard let claim = from.compactMap({ Lifecycle.move(from: $0, on: .claim) }).first else { return nil }
        let claimed: ClaimedExperiment? = try pool.withTransaction { tx in
            var passed: [UUID] = []
            var picked: UUID?
            while picked == nil {
                let skip = passed.map { $0.uuidString.lowercased() }.joined(separator: ",")
                guard
                    let candidate = try tx.query(
                        """
                        SELECT id, sweep_id FROM experiments x WHERE status = ANY(string_to_array(\(Self.list(from)), ','))
                          AND (x.sweep_id IS NULL OR EXISTS (\(unsafeSQL: Self.sweepAdmits)))
                          AND NOT x.id = ANY(string_to_array(\(skip), ',')::uuid[])
                        ORDER BY priority_rank DESC, created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
                        """
                    ).first
                else { return nil }
                let id = try candidate.decode(0, as: UUID.self)
                if let sweep = try candidate.decode(1, as: UUID?.self), try !admitsOneMore(tx, sweep) {
                    passed.append(id)
                } else {
                    picked = id
                }
            }
            guard let picked else { return nil }
            let rows = try tx.query(
                """
                UPDATE experiments e SET status = \(claim.to.rawValue), lease_owner = \(owner),
                    lease_expires_at = now() + \(leaseSeconds) * INTERVAL '1 second',
                    started_at = COALESCE(e.started_at, now()), updated_at = now(), error = NULL,
                    generation = e.generation + 1
                FROM (SELECT id, status FROM experiments WHERE id = \(picked)) q
                WHERE e.id = q.id
                RETURNING e.id, e.name, e.request::text, array_to_string(e.completed_stages, ','), e.generation, q.status
                """)
            guard let row = rows.first else { return nil }
            let id = try row.decode(0, as: UUID.self)
            let generation = try row.decode(4, as: Int64.self)
            let previous = try row.decode(5, as: String.self)
            try tx.execute(
                """
                INSERT INTO pipeline_events (experiment_id, kind, from_status, to_status, details)
                VALUES (\(id), \(claim.record), \(previous), \(claim.to.rawValue),
                        \(PostgresJSON(Self.json(["owner": owner, "generation": "\(generation)"], error: nil))))
                """)
            let request = try row.decode(2, as: String.self)
            let stages = (try? JSONSerialization.jsonObject(with: Data(request.utf8)) as? [String: Any])?["stages"] as? [String]
            let done = try row.decode(3, as: String.self)
            return ClaimedExperiment(
                id: id, name: try row.decode(1, as: String.self), stages: stages ?? BuiltInStages.names,
                completedStages: done.isEmpty ? [] : done.split(separator: ",").map(String.init), request: Data(request.utf8),
                generation: generation)
        }
        if let claimed { ExperimentChanges.committed(claimed.id) }
        return claimed
    }

    /// A sweep's child is a candidate only while its sweep runs and has fewer
    /// than `max_parallel` children running or pausing (as this statement's
    /// snapshot sees them: a first filter, not the decision).
    private static let sweepAdmits = """
        SELECT 1 FROM sweeps s WHERE s.id = x.sweep_id AND s.state = 'running'
          AND (SELECT count(*) FROM experiments r WHERE r.sweep_id = s.id AND r.status IN ('running', 'pausing')) < s.max_parallel
        """

    /// The decision for a sweep's child: the sweep row is locked first, so
    /// claims of one sweep's children take turns across instances, and the
    /// count that follows, a statement of its own, reads afresh and sees every
    /// claim committed before the lock was granted (one statement that counted
    /// under a shared lock let two instances both see `max_parallel - 1`).
    /// A sweep's pause (an UPDATE of that row) waits for a claim in flight, or
    /// the claim sees the pause, so no child starts after the pause has listed
    /// the running ones. `NO KEY UPDATE` leaves the key-share locks of the
    /// children's foreign key alone.
    private func admitsOneMore(_ tx: PostgresConnection, _ sweep: UUID) throws -> Bool {
        _ = try tx.query("SELECT 1 FROM sweeps WHERE id = \(sweep) FOR NO KEY UPDATE")
        return try tx.query(
            """
            SELECT 1 FROM sweeps s WHERE s.id = \(sweep) AND s.state = 'running'
              AND (SELECT count(*) FROM experiments r WHERE r.sweep_id = s.id AND r.status IN ('running', 'pausing')) < s.max_parallel
            """
        ).first != nil
    }

    func renewLeases(owner: String, generations: [UUID: Int64], leaseSeconds: Double) throws -> Set<UUID> {
        guard !generations.isEmpty else { return [] }
        let pairs = generations.sorted { $0.key.uuidString < $1.key.uuidString }
        let ids = pairs.map { $0.key.uuidString.lowercased() }.joined(separator: ",")
        let gens = pairs.map { "\($0.value)" }.joined(separator: ",")
        return try pool.withConnection { c in
            Set(
                try c.query(
                    """
                    UPDATE experiments e SET lease_expires_at = now() + \(leaseSeconds) * INTERVAL '1 second'
                    FROM (SELECT unnest(string_to_array(\(ids), ',')::uuid[]) AS id,
                                 unnest(string_to_array(\(gens), ',')::bigint[]) AS generation) mine
                    WHERE e.id = mine.id AND e.generation = mine.generation AND e.lease_owner = \(owner)
                    RETURNING e.id
                    """
                ).map { try $0.decode(0, as: UUID.self) })
        }
    }

    func recordEvent(_ id: UUID, kind: String, stage: String?, details: [String: String], fence: Fence, key: String) throws {
        try pool.withTransaction { tx in
            try ExperimentStore.requireGeneration(tx, id, generation: fence.generation, owner: fence.owner)
            try tx.execute(
                """
                INSERT INTO pipeline_events (experiment_id, kind, stage, details, write_key)
                VALUES (\(id), \(kind), \(stage), \(PostgresJSON(Self.json(details, error: nil))), \(key))
                ON CONFLICT (write_key) WHERE write_key IS NOT NULL DO NOTHING
                """)
        }
    }

    func isFenced(_ error: any Error) -> Bool { error is StaleGeneration }

    func isTransient(_ error: any Error) -> Bool {
        guard let e = error as? PostgresError else { return false }
        return e.isConnectionLevel || [.connectionFailed, .connectionClosed, .poolExhausted].contains(e.code)
            || e.sqlState == .adminShutdown || e.sqlState == .cannotConnectNow
    }

    /// Lease-expiry recovery; the states it moves from and to, and its
    /// events, are `Lifecycle`'s `.interrupt` (then `.requeue`) moves.
    func recoverExpiredLeases() throws -> [UUID] {
        let (interrupt, requeue) = Lifecycle.interruptAndRequeue
        let stops = Lifecycle.sources(of: .interrupt).subtracting(interrupt.from).compactMap { from in
            Lifecycle.move(from: from, on: .interrupt).map { (from: from, move: $0) }
        }
        let reason = PostgresJSON(Self.json(["reason": "lease expired"], error: nil))
        let recovered: [UUID] = try pool.withTransaction { tx in
            // Paused work whose server is gone stays paused, without a lease.
            try tx.execute(
                """
                UPDATE experiments SET lease_owner = NULL, lease_expires_at = NULL, generation = generation + 1
                WHERE status = \(ExperimentState.paused.rawValue) AND lease_expires_at < now()
                """)
            // A pending cancel completes (cancelling → cancelled).
            for stop in stops {
                try tx.execute(
                    """
                    WITH gone AS (
                        UPDATE experiments SET status = \(stop.move.to.rawValue), finished_at = now(), updated_at = now(),
                            lease_owner = NULL, lease_expires_at = NULL, generation = generation + 1
                        WHERE status = \(stop.from.rawValue) AND lease_expires_at < now() RETURNING id)
                    INSERT INTO pipeline_events (experiment_id, kind, from_status, to_status, details)
                    SELECT id, \(stop.move.record), \(stop.from.rawValue), \(stop.move.to.rawValue), \(reason) FROM gone
                    """)
            }
            // Running (or pausing) work: interrupted, from the state it really
            // was in, then queued; two statements so the events' ids keep that order.
            let rows = try tx.query(
                """
                WITH gone AS (
                    SELECT id, status FROM experiments
                    WHERE status = ANY(string_to_array(\(Self.list(interrupt.from)), ',')) AND lease_expires_at < now()
                    ORDER BY id FOR UPDATE SKIP LOCKED)
                UPDATE experiments e SET status = \(requeue.to.rawValue), updated_at = now(), lease_owner = NULL,
                    lease_expires_at = NULL, generation = e.generation + 1
                FROM gone WHERE e.id = gone.id
                RETURNING e.id, gone.status
                """)
            var ids: [UUID] = []
            for row in rows {
                let id = try row.decode(0, as: UUID.self)
                let previous = try row.decode(1, as: String.self)
                try tx.execute(
                    """
                    INSERT INTO pipeline_events (experiment_id, kind, from_status, to_status, details)
                    VALUES (\(id), \(interrupt.record), \(previous), \(interrupt.to.rawValue), \(reason))
                    """)
                try tx.execute(
                    """
                    INSERT INTO pipeline_events (experiment_id, kind, from_status, to_status, details)
                    VALUES (\(id), \(requeue.record), \(interrupt.to.rawValue), \(requeue.to.rawValue), \(reason))
                    """)
                ids.append(id)
            }
            return ids
        }
        ExperimentChanges.committed(recovered)
        return recovered
    }

    func stageStarted(_ id: UUID, stage: String, fence: Fence, key: String) throws {
        defer { ExperimentChanges.committed(id) }
        try pool.withTransaction { tx in
            try ExperimentStore.requireGeneration(tx, id, generation: fence.generation, owner: fence.owner)
            try tx.execute("UPDATE experiments SET stage = \(stage), updated_at = now() WHERE id = \(id)")
            try tx.execute(
                """
                INSERT INTO pipeline_events (experiment_id, kind, stage, write_key) VALUES (\(id), 'stage_started', \(stage), \(key))
                ON CONFLICT (write_key) WHERE write_key IS NOT NULL DO NOTHING
                """)
        }
    }

    func stageCompleted(_ id: UUID, stage: String, durationMs: Double, percent: Double, fence: Fence, key: String) throws {
        defer { ExperimentChanges.committed(id) }
        try pool.withTransaction { tx in
            try ExperimentStore.requireGeneration(tx, id, generation: fence.generation, owner: fence.owner)
            try tx.execute(
                """
                UPDATE experiments SET percent = \(min(100, max(0, percent))), updated_at = now(),
                    completed_stages = CASE WHEN \(stage) = ANY(completed_stages) THEN completed_stages
                                            ELSE array_append(completed_stages, \(stage)::text) END
                WHERE id = \(id)
                """)
            try tx.execute(
                """
                INSERT INTO pipeline_events (experiment_id, kind, stage, duration_ms, write_key)
                VALUES (\(id), 'stage_completed', \(stage), \(durationMs), \(key))
                ON CONFLICT (write_key) WHERE write_key IS NOT NULL DO NOTHING
                """)
        }
    }

    func stageSkipped(_ id: UUID, stage: String, reason: String, fence: Fence, key: String) throws {
        try pool.withTransaction { tx in
            try ExperimentStore.requireGeneration(tx, id, generation: fence.generation, owner: fence.owner)
            try tx.execute(
                """
                INSERT INTO pipeline_events (experiment_id, kind, stage, details, write_key)
                VALUES (\(id), 'stage_skipped', \(stage), \(PostgresJSON(Self.json(["reason": reason], error: nil))), \(key))
                ON CONFLICT (write_key) WHERE write_key IS NOT NULL DO NOTHING
                """)
        }
    }

    func hasLiveLease(_ id: UUID) throws -> Bool {
        try pool.withConnection { c in
            try c.query(
                "SELECT lease_owner IS NOT NULL AND lease_expires_at > now() FROM experiments WHERE id = \(id)"
            ).first?.decode(0, as: Bool?.self) ?? false
        }
    }

    func releaseLease(_ id: UUID) throws {
        try pool.withConnection { c in
            try c.execute("UPDATE experiments SET lease_owner = NULL, lease_expires_at = NULL WHERE id = \(id)")
        }
    }

    static func json(_ details: [String: String], error: String?) -> String {
        var members = details.sorted { $0.key < $1.key }.map {
            (JSONValue.string($0.key).serialized, JSONValue.string($0.value).serialized)
        }
        if let error { members.append(("\"error\"", JSONValue.string(error).serialized)) }
        return "{" + members.map { "\($0.0):\($0.1)" }.joined(separator: ",") + "}"
    }
}
