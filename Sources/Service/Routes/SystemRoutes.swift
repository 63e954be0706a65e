import MicroHTTP

/// `GET /v1/system` (scope `read`): this instance, its process and host
/// resources, the PostgreSQL pool and the experiment counts, as JSON — the
/// figures `/metrics` exposes to Prometheus, for people and scripts
/// (`signalforge experiments system`, the web view's header).
struct SystemRoutes {
    let status: SystemStatus

    func register(_ r: inout Router) {
        r.get("/v1/system", scope: Scope.read.rawValue) { _ in .json(Array(status.json().utf8)) }
    }
}
