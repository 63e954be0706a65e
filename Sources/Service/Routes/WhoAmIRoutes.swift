import Foundation
import MicroHTTP

/// `GET /v1/whoami`: the caller's token name and scope, so a client (the web
/// view) can tell what it may do without trying.
struct WhoAmIRoutes {
    let authenticator: Authenticator

    func register(_ r: inout Router) {
        r.get("/v1/whoami", scope: Scope.read.rawValue) { req in try whoami(req) }
    }

    func whoami(_ req: Request) throws -> Response {
        guard let tokens = authenticator.registry.current, !tokens.entries.isEmpty else {
            // No tokens file: loopback only, everyone may do everything.
            return .json(Array(#"{"name":null,"scope":"admin","auth":false}"#.utf8))
        }
        // The preflight has already accepted the token; read who it is.
        let token = req.headers["Authorization"].flatMap(Authenticator.bearer) ?? ""
        guard let entry = tokens.authenticate(token) else { throw APIError(401, "the bearer token is not valid") }
        return .json(Array("{\"name\":\(JSONText.quote(entry.name)),\"scope\":\"\(entry.scope.rawValue)\",\"auth\":true}".utf8))
    }
}
