public import MicroHTTP

/// A client error with its HTTP status and RFC 9457 body. `field` names the
/// request member at fault (JSON pointer-ish, e.g. `datasets[1].symbol`).
public struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    public var status: Int
    public var detail: String
    public var field: String?
    public var extra: [(String, String)] = []
    public var headers: [(String, String)] = []

    public init(_ status: Int, _ detail: String, field: String? = nil, extra: [(String, String)] = []) {
        self.status = status
        self.detail = detail
        self.field = field
        self.extra = extra
    }

    public var description: String { "\(status): \(detail)" }

    public var response: Response {
        var ext = extra
        if let field { ext.insert(("field", field), at: 0) }
        var r = ProblemDetails(status: status, detail: detail, extensions: ext).response
        for (k, v) in headers { r.headers.add(k, v) }
        return r
    }

    /// 400 for a request member with a bad value.
    public static func invalid(_ field: String, _ reason: String) -> APIError {
        APIError(400, "\(field): \(reason)", field: field)
    }

    public static func notFound(_ what: String) -> APIError { APIError(404, "\(what) not found") }
}
