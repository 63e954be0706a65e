/// An RFC 9457 problem: the body of every 4xx/5xx response.
public struct ProblemDetails: Sendable, Equatable {
    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    /// Extension members, rendered as JSON strings (e.g. `field`, `allowed`).
    public var extensions: [(String, String)]

    public init(status: Int, title: String? = nil, detail: String, type: String = "about:blank", extensions: [(String, String)] = []) {
        self.type = type
        self.title = title ?? HTTPStatus.reason(status)
        self.status = status
        self.detail = detail
        self.extensions = extensions
    }

    public static func == (a: ProblemDetails, b: ProblemDetails) -> Bool {
        a.type == b.type && a.title == b.title && a.status == b.status && a.detail == b.detail
            && a.extensions.elementsEqual(b.extensions, by: { $0 == $1 })
    }

    /// The problem as a JSON document.
    public var json: String {
        var s =
            "{\"type\":\(JSONText.quote(type)),\"title\":\(JSONText.quote(title)),\"status\":\(status),\"detail\":\(JSONText.quote(detail))"
        for (k, v) in extensions { s += ",\(JSONText.quote(k)):\(JSONText.quote(v))" }
        return s + "}"
    }

    /// A complete `application/problem+json` response.
    public var response: Response {
        Response(status: status, headers: ["Content-Type": "application/problem+json"], body: Array(json.utf8))
    }
}

/// Minimal JSON string quoting, shared by the places that write JSON by hand.
public enum JSONText {
    public static func quote(_ s: String) -> String {
        var out = "\""
        out.reserveCapacity(s.utf8.count + 2)
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// A JSON number, or `null` for NaN and infinities (JSON has neither).
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return "null" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }
}

/// Reason phrases of the status codes the service uses.
public enum HTTPStatus {
    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 206: "Partial Content"
        case 304: "Not Modified"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 411: "Length Required"
        case 412: "Precondition Failed"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 414: "URI Too Long"
        case 416: "Range Not Satisfiable"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 503: "Service Unavailable"
        case 505: "HTTP Version Not Supported"
        default: "HTTP \(status)"
        }
    }
}
