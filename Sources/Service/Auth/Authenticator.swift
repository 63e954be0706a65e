import Foundation
import MicroHTTP

/// Checks bearer tokens against a route's scope before the body is read.
/// With no tokens configured (loopback only) every request is allowed. The
/// tokens are those in force at the moment of the request (see ``TokenRegistry``).
struct Authenticator: Sendable {
    let registry: TokenRegistry

    func check(_ request: Request, _ route: Route) -> Response? {
        guard let required = route.scope.flatMap(Scope.init(rawValue:)), let tokens = registry.current, !tokens.entries.isEmpty else {
            return nil
        }
        guard let header = request.headers["Authorization"] else {
            return challenge("a bearer token is required (Authorization: Bearer TOKEN)")
        }
        guard let token = Self.bearer(header) else {
            return challenge("the Authorization header must be 'Bearer TOKEN'")
        }
        guard let entry = tokens.authenticate(token) else {
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

    /// Who sent `request`: the name of its token, `""` when the server runs
    /// without tokens. The preflight has accepted the token; it is looked up
    /// again here because a reload may have removed it since.
    /// - Throws: `APIError` 401 when the token is no longer valid.
    func identity(_ request: Request) throws(APIError) -> String {
        guard let tokens = registry.current, !tokens.entries.isEmpty else { return "" }
        guard let token = request.headers["Authorization"].flatMap(Self.bearer), let entry = tokens.authenticate(token) else {
            var e = APIError(401, "the bearer token is not valid")
            e.headers = [("WWW-Authenticate", "Bearer realm=\"signalforge\"")]
            throw e
        }
        return entry.name
    }

    /// The token of an `Authorization: Bearer TOKEN` header.
    static func bearer(_ header: String) -> String? {
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }

    private func challenge(_ detail: String) -> Response {
        var e = APIError(401, detail)
        e.headers = [("WWW-Authenticate", "Bearer realm=\"signalforge\"")]
        return e.response
    }
}
