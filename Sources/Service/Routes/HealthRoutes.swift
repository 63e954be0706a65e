import MicroHTTP
import PostgresClient

/// Liveness, readiness, metrics and the contract. Exempt from auth.
struct HealthRoutes {
    let pool: PostgresPool
    let metrics: ServiceMetrics
    /// More exposition text (engine and log pipeline figures), appended at scrape time.
    var extra: @Sendable () -> String = { "" }

    func register(_ r: inout Router) {
        let ok = Array("{\"status\":\"ok\"}".utf8)
        r.get("/healthz") { _ in .json(ok) }
        r.get("/readyz") { _ in readiness() }
        r.get("/metrics") { _ in
            Response(
                status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: metrics.render(pool: pool.statistics) + Array(extra().utf8))
        }
        let spec = Array((EmbeddedFiles.files["openapi.yaml"] ?? "").utf8)
        r.get("/openapi.yaml") { _ in Response(status: 200, headers: ["Content-Type": "application/yaml"], body: spec) }
    }

    /// 200 when a pooled connection answers `SELECT 1`, else 503 with the reason.
    func readiness() -> Response {
        do {
            let alive = try pool.withConnection { $0.ping() }
            if alive { return .json(Array("{\"status\":\"ready\",\"database\":\"ok\"}".utf8)) }
            var r = Response.problem(503, "PostgreSQL did not answer")
            r.headers.add("Retry-After", "1")
            return r
        } catch {
            var r = Response.problem(503, "PostgreSQL is unreachable: \(error)")
            r.headers.add("Retry-After", "1")
            return r
        }
    }
}
