public import MicroHTTP
public import PostgresClient
public import Prometheus
import Synchronization

/// Prometheus figures of the service: requests by route, method and status,
/// latency histograms by route, and the database pool.
///
/// Collectors are cached per label set, so recording a request is two
/// uncontended lookups and two atomic updates.
public final class ServiceMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    private struct CounterKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    private let collectors = Mutex<[CounterKey: (Counter, ValueHistogram)]>([:])
    static let buckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    public init() {}

    /// Experiments that ended on this instance, by outcome: `succeeded`,
    /// `failed`, or `stopped` (cancelled, or interrupted by a drain).
    private let outcomes = Mutex<[String: Int]>(["succeeded": 0, "failed": 0, "stopped": 0])

    /// Counts an experiment that ended here.
    /// - Parameter outcome: `succeeded`, `failed` or `stopped`.
    func recordOutcome(_ outcome: String) { outcomes.withLock { $0[outcome, default: 0] += 1 } }

    /// `signalforge_experiments_finished_total{outcome}` as exposition text.
    func renderOutcomes() -> String {
        let counts = outcomes.withLock { $0 }
        var s = "# HELP signalforge_experiments_finished_total Experiments that ended on this instance, by outcome\n"
        s += "# TYPE signalforge_experiments_finished_total counter\n"
        for (outcome, n) in counts.sorted(by: { $0.key < $1.key }) {
            s += "signalforge_experiments_finished_total{outcome=\"\(outcome)\"} \(n)\n"
        }
        return s
    }

    /// Records one finished request (called by the HTTP server's observer).
    public func record(_ r: AccessRecord) {
        let key = CounterKey(route: r.route, method: r.method.rawValue, status: r.status)
        let (counter, histogram) = collectors.withLock { map -> (Counter, ValueHistogram) in
            if let c = map[key] { return c }
            let c = registry.makeCounter(
                descriptor: MetricNameDescriptor(
                    namespace: "signalforge", metricName: "http_requests", unitName: "total",
                    helpText: "HTTP requests by route pattern, method and status"),
                labels: [("route", r.route), ("method", r.method.rawValue), ("status", String(r.status))])
            // Registered once per route; the registry hands back the same one.
            let h = registry.makeValueHistogram(
                descriptor: MetricNameDescriptor(
                    namespace: "signalforge", metricName: "http_request_duration", unitName: "seconds",
                    helpText: "HTTP request latency by route pattern, from headers in to response done"),
                labels: [("route", r.route)], buckets: Self.buckets)
            map[key] = (c, h)
            return (c, h)
        }
        counter.increment()
        histogram.record(Double(r.microseconds) / 1_000_000)
    }

    /// The exposition text, with the pool's current figures appended.
    public func render(pool: PostgresPoolStatistics?) -> [UInt8] {
        var out = registry.emitToBuffer()
        if let p = pool {
            var s = ""
            s += "# HELP signalforge_db_pool_connections PostgreSQL pool connections by state\n"
            s += "# TYPE signalforge_db_pool_connections gauge\n"
            s += "signalforge_db_pool_connections{state=\"in_use\"} \(p.inUse)\n"
            s += "signalforge_db_pool_connections{state=\"idle\"} \(p.idle)\n"
            s += "# HELP signalforge_db_pool_max_connections PostgreSQL pool size limit\n"
            s += "# TYPE signalforge_db_pool_max_connections gauge\n"
            s += "signalforge_db_pool_max_connections \(p.max)\n"
            s += "# HELP signalforge_db_pool_waiting Checkouts waiting for a PostgreSQL connection now\n"
            s += "# TYPE signalforge_db_pool_waiting gauge\n"
            s += "signalforge_db_pool_waiting \(p.waiting)\n"
            s += "# HELP signalforge_db_pool_checkouts_total Connections handed out\n"
            s += "# TYPE signalforge_db_pool_checkouts_total counter\n"
            s += "signalforge_db_pool_checkouts_total \(p.checkouts)\n"
            s += "# HELP signalforge_db_pool_waits_total Checkouts that had to wait for a connection\n"
            s += "# TYPE signalforge_db_pool_waits_total counter\n"
            s += "signalforge_db_pool_waits_total \(p.waits)\n"
            s += "# HELP signalforge_db_pool_timeouts_total Checkouts that gave up waiting\n"
            s += "# TYPE signalforge_db_pool_timeouts_total counter\n"
            s += "signalforge_db_pool_timeouts_total \(p.timeouts)\n"
            s += "# HELP signalforge_db_pool_checkout_wait_seconds_total Time spent waiting for a connection\n"
            s += "# TYPE signalforge_db_pool_checkout_wait_seconds_total counter\n"
            s += "signalforge_db_pool_checkout_wait_seconds_total \(p.checkoutSecondsTotal)\n"
            s += "# HELP signalforge_db_pool_connect_failures_total Failed attempts to open a connection\n"
            s += "# TYPE signalforge_db_pool_connect_failures_total counter\n"
            s += "signalforge_db_pool_connect_failures_total \(p.connectsFailed)\n"
            out.append(contentsOf: s.utf8)
        }
        return out
    }
}
