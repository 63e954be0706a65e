import Foundation
import MicroHTTP

/// Checks bearer tokens against a route's scope before the body is read.
/// With no tokens configured (loopback only) every request is allowed.
struct Authenticator: Sendable {
    let tokens: TokenStore?

    func check(_ request: Request, _ route: Route) -> Response? {
        guard let required = route.scope.flatMap(Scope.init(rawValue:)), let tokens, !tokens.entries.isEmpty else { return nil }
        guard let header = request.headers["Authorization"] else {
            return challenge("a bearer token is required (Authorization: Bearer TOKEN)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            return challenge("the Authorization header must be 'Bearer TOKEN'")
        }
        guard let entry = tokens.authenticate(String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            return challenge("the bearer token is not valid")
        }
        guard entry.scope >= required else {
            return APIError(
                403, "token '\(entry.name)' has scope \(entry.scope.rawValue); this needs \(required.rawValue)",
                extra: [("required_scope", required.rawValue)]
            ).response
        }
        return nil
    }

    private func challenge(_ detail: String) -> Response {
        var e = APIError(401, detail)
        e.headers = [("WWW-Authenticate", "Bearer realm=\"signalforge\"")]
        return e.response
    }
}
