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
    /// Works on the UTF-8 bytes (Foundation's `trimmingCharacters` went
    /// through `NSString` and UTF-16: a few per cent of a cached read).
    static func bearer(_ header: String) -> String? {
        let bytes = header.utf8
        let scheme = "bearer".utf8
        guard bytes.count > scheme.count + 1 else { return nil }
        var i = bytes.startIndex
        for expected in scheme {
            // ASCII letters only: `| 0x20` folds A-Z onto a-z.
            guard bytes[i] | 0x20 == expected else { return nil }
            i = bytes.index(after: i)
        }
        guard bytes[i] == UInt8(ascii: " ") else { return nil }
        func isBlank(_ b: UInt8) -> Bool { b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") }
        var start = bytes.index(after: i)
        var end = bytes.endIndex
        while start < end, isBlank(bytes[start]) { start = bytes.index(after: start) }
        while end > start, isBlank(bytes[bytes.index(before: end)]) { end = bytes.index(before: end) }
        return String(header[start..<end])
    }

    private func challenge(_ detail: String) -> Response {
        var e = APIError(401, detail)
        e.headers = [("WWW-Authenticate", "Bearer realm=\"signalforge\"")]
        return e.response
    }
}
