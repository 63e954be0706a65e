import Foundation
import Hashing
import Logging
import PostgresClient
import Store
import Synchronization

/// Delivers webhook notifications from the outbox (`notification_deliveries`)
/// on threads it owns. Every instance runs one; they share the work through
/// `FOR UPDATE SKIP LOCKED` claims with a lease, so each delivery is attempted
/// by one instance at a time, and again by another if that one dies mid-way
/// (at least once). A failed attempt is retried after `base · 2^(n-1)`
/// (at most 5 min) until `giveUp` has passed since the event; each attempt is
/// recorded in `notification_attempts`. While PostgreSQL is away the workers
/// wait it out.
final class NotificationDispatcher: Sendable {
    struct Configuration: Sendable {
        var workers = 2
        /// First retry delay, in seconds.
        var backoffBase = 1.0
        /// Longest retry delay, in seconds.
        var backoffCap = 300.0
        /// Seconds after the event when a delivery is given up.
        var giveUp = 3600.0
        /// Connect and read timeout of an attempt, in seconds.
        var timeout = 10.0
        /// How often an idle worker looks for due deliveries, in seconds.
        var poll = 0.2
        /// This instance's name on its claims.
        var owner = "\(ProcessInfo.processInfo.hostName):\(getpid()):\(UInt32.random(in: 0...UInt32.max))"
    }

    let configuration: Configuration
    let store: NotificationStore
    let experiments: ExperimentStore
    let logger: Logger
    let client: WebhookClient
    let delivered = Atomic<Int>(0)
    let failed = Atomic<Int>(0)
    let retried = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let alive = Atomic<Int>(0)
    private let sleeper = DispatchSemaphore(value: 0)

    init(configuration: Configuration, pool: PostgresPool, logger: Logger) {
        self.configuration = configuration
        self.store = NotificationStore(pool: pool)
        self.experiments = ExperimentStore(pool: pool)
        self.logger = logger
        self.client = WebhookClient(timeout: configuration.timeout)
    }

    /// Seconds a claim is held: long enough for one attempt (connect + read,
    /// or URLSession's request and resource timeouts) and its bookkeeping.
    var leaseSeconds: Double { configuration.timeout * 3 + 5 }

    func start() {
        for i in 0..<configuration.workers {
            alive.add(1, ordering: .relaxed)
            let t = Thread { [self] in
                loop()
                alive.subtract(1, ordering: .releasing)
            }
            t.name = "notify-\(i)"
            t.start()
        }
    }

    /// Stops the workers after their current attempt (waits up to `timeout`).
    func stop(timeout: Duration = .seconds(5)) {
        stopping.store(true, ordering: .releasing)
        for _ in 0..<configuration.workers { sleeper.signal() }
        let deadline = ContinuousClock.now + timeout
        while alive.load(ordering: .acquiring) > 0, ContinuousClock.now < deadline { Thread.sleep(forTimeInterval: 0.01) }
    }

    private var isStopping: Bool { stopping.load(ordering: .acquiring) }

    private func idle(_ seconds: Double) {
        if !isStopping { _ = sleeper.wait(timeout: .now() + seconds) }
    }

    private func loop() {
        var waitingForDatabase = false
        while !isStopping {
            let claimed: ClaimedDelivery?
            do {
                claimed = try store.claim(owner: configuration.owner, leaseSeconds: leaseSeconds)
                if waitingForDatabase {
                    waitingForDatabase = false
                    logger.info("notifications: the database is back; delivering")
                }
            } catch {
                if !waitingForDatabase {
                    logger.warning("notifications: database call failed; waiting for it", metadata: ["error": "\(error)"])
                }
                waitingForDatabase = true
                idle(1)
                continue
            }
            guard let claimed else {
                idle(configuration.poll)
                continue
            }
            attempt(claimed)
        }
    }

    /// The delay before the attempt after attempt `n` (1-based).
    static func backoff(after n: Int, base: Double, cap: Double) -> Double {
        min(cap, base * pow(2, Double(min(max(n - 1, 0), 40))))
    }

    private func attempt(_ d: ClaimedDelivery) {
        let meta: Logger.Metadata = [
            "experiment_id": "\(d.experimentID.uuidString.lowercased())", "event": "\(d.event)",
            "delivery_id": "\(d.id.uuidString.lowercased())", "attempt": "\(d.attempt)",
            "url": "\(WebhookSubscription.redactedURL(d.url))",
        ]
        let body: [UInt8]
        do {
            if let b = d.body {
                body = b
            } else {
                guard let record = try experiments.get(d.experimentID) else { return }
                body = try store.keepBody(d.id, Self.payload(d, experiment: ExperimentRoutes.render(record)))
            }
        } catch {
            // The claim lapses and the delivery is tried again later.
            logger.warning("notifications: could not prepare a delivery", metadata: meta.merging(["error": "\(error)"]) { $1 })
            idle(1)
            return
        }
        let startedAt = Date()
        let t0 = ContinuousClock.now
        var status: Int?
        var failure: String?
        do {
            status = try client.post(d.url, headers: Self.headers(d, body: body, at: startedAt), body: body)
        } catch {
            failure = "\(error)"
        }
        let elapsed = ContinuousClock.now - t0
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        let outcome: AttemptOutcome
        var retryAfter = 0.0
        if let status, (200..<300).contains(status) {
            outcome = .delivered
        } else {
            if failure == nil, let status { failure = "HTTP \(status)" }
            retryAfter = Self.backoff(after: d.attempt, base: configuration.backoffBase, cap: configuration.backoffCap)
            outcome = Date().timeIntervalSince(d.createdAt) + retryAfter > configuration.giveUp ? .failed : .retry
        }
        while true {
            do {
                try store.record(
                    d, owner: configuration.owner, outcome: outcome, startedAt: startedAt, durationMs: ms, statusCode: status,
                    error: failure, retryAfter: retryAfter)
                break
            } catch {
                // Without the record the claim lapses and the event goes again: at least once.
                if isStopping { return }
                logger.warning("notifications: could not record an attempt; retrying", metadata: meta.merging(["error": "\(error)"]) { $1 })
                idle(1)
            }
        }
        var m = meta
        m["outcome"] = "\(outcome.rawValue)"
        if let status { m["status"] = "\(status)" }
        switch outcome {
        case .delivered:
            delivered.add(1, ordering: .relaxed)
            logger.debug("webhook delivered", metadata: m)
        case .retry:
            retried.add(1, ordering: .relaxed)
            m["retry_in_s"] = "\(retryAfter)"
            if let failure { m["error"] = "\(failure)" }
            logger.info("webhook attempt failed; will retry", metadata: m)
        case .failed:
            failed.add(1, ordering: .relaxed)
            if let failure { m["error"] = "\(failure)" }
            logger.warning("webhook delivery given up", metadata: m)
        }
    }

    /// The body: the event and the experiment resource as of the first attempt.
    static func payload(_ d: ClaimedDelivery, experiment: String) -> [UInt8] {
        let text = """
            {"id":"\(d.id.uuidString.lowercased())","event":"\(d.event)","event_id":\(d.eventID),\
            "occurred_at":"\(Timestamps.iso8601(d.occurredAt))","experiment":\(experiment)}
            """
        return Array(text.utf8)
    }

    /// The request headers of an attempt; the signature covers the exact body.
    static func headers(_ d: ClaimedDelivery, body: [UInt8], at: Date) -> [(String, String)] {
        var h: [(String, String)] = [
            ("Content-Type", "application/json"),
            ("User-Agent", "SignalForge-Webhook/1"),
            ("X-SignalForge-Event", d.event),
            ("X-SignalForge-Delivery", d.id.uuidString.lowercased()),
            ("X-SignalForge-Attempt", "\(d.attempt)"),
            ("X-SignalForge-Timestamp", "\(Int(at.timeIntervalSince1970))"),
        ]
        if let secret = d.secret {
            h.append(("X-SignalForge-Signature", "sha256=" + HMACSHA256.hex(key: Array(secret.utf8), message: body)))
        }
        return h
    }

    /// Prometheus text of the delivery counters.
    var metricsText: String {
        """
        # HELP signalforge_notification_deliveries_total Webhook delivery attempts made by this instance, by outcome
        # TYPE signalforge_notification_deliveries_total counter
        signalforge_notification_deliveries_total{outcome="delivered"} \(delivered.load(ordering: .relaxed))
        signalforge_notification_deliveries_total{outcome="failed"} \(failed.load(ordering: .relaxed))
        signalforge_notification_deliveries_total{outcome="retry"} \(retried.load(ordering: .relaxed))

        """
    }
}
