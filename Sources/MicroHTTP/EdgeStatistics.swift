import Synchronization

/// Counters of what the HTTP edge refused or cut off, for `/metrics`.
///
/// Create one, hand it to `HTTPServer.init(statistics:)`, and read it from
/// any thread.
public final class EdgeStatistics: Sendable {
    let headerTimeouts = Atomic<Int>(0)
    let bodyTimeouts = Atomic<Int>(0)
    let refusedPerIP = Atomic<Int>(0)
    let refusedLimit = Atomic<Int>(0)
    let malformedHeads = Atomic<Int>(0)

    public init() {}

    /// Connections closed because their request head was not complete within the header deadline.
    public var headerTimeoutCount: Int { headerTimeouts.load(ordering: .relaxed) }
    /// Connections closed because their request body arrived slower than the minimum rate.
    public var bodyTimeoutCount: Int { bodyTimeouts.load(ordering: .relaxed) }
    /// Connections refused because their address already had its share of connections.
    public var refusedPerIPCount: Int { refusedPerIP.load(ordering: .relaxed) }
    /// Connections refused because the server had its connection limit open.
    public var refusedLimitCount: Int { refusedLimit.load(ordering: .relaxed) }
    /// Requests refused at the edge for a malformed or oversized head or ambiguous framing.
    public var malformedHeadCount: Int { malformedHeads.load(ordering: .relaxed) }

    /// The counters in Prometheus text format.
    public var prometheusText: String {
        """
        # HELP signalforge_http_connections_timed_out_total HTTP connections closed for missing a deadline (headers: the request head; body: the minimum body rate)
        # TYPE signalforge_http_connections_timed_out_total counter
        signalforge_http_connections_timed_out_total{phase="headers"} \(headerTimeoutCount)
        signalforge_http_connections_timed_out_total{phase="body"} \(bodyTimeoutCount)
        # HELP signalforge_http_connections_refused_total HTTP connections refused at accept
        # TYPE signalforge_http_connections_refused_total counter
        signalforge_http_connections_refused_total{reason="per_ip"} \(refusedPerIPCount)
        signalforge_http_connections_refused_total{reason="limit"} \(refusedLimitCount)
        # HELP signalforge_http_malformed_requests_total Requests refused for a malformed or oversized head or ambiguous framing
        # TYPE signalforge_http_malformed_requests_total counter
        signalforge_http_malformed_requests_total \(malformedHeadCount)

        """
    }
}
