import Foundation

/// Why a client command stopped, and the exit status it stops with.
///
/// Exit statuses (stable; CI jobs gate on them):
/// - `0`: done (for `watch` and `start --wait`: the experiment succeeded);
/// - `1`: the experiment failed; `2`: it was cancelled; `3`: it was interrupted
///   (`watch`, `start --wait`);
/// - `4`: the server answered with an error (an RFC 9457 problem; its `detail`
///   and status are printed to stderr);
/// - `5`: no usable answer: the server is unreachable, the connection broke for
///   good, the answer is not what the API promises, or a local file failed;
/// - `64`: bad command-line usage (swift-argument-parser's usage error).
struct ClientError: Error, CustomStringConvertible {
    enum Code: Sendable, Equatable {
        /// The server answered 4xx/5xx.
        case problem
        /// No answer, or a broken one.
        case transport
        /// A local file could not be read or written.
        case local
    }

    var code: Code
    /// What to print after `error: `.
    var message: String
    /// The HTTP status of a problem.
    var status: Int?

    var description: String { message }

    var exitCode: Int32 {
        switch code {
        case .problem: ExitStatus.problem
        case .transport, .local: ExitStatus.unreachable
        }
    }

    static func transport(_ message: String) -> ClientError { ClientError(code: .transport, message: message) }
    static func local(_ message: String) -> ClientError { ClientError(code: .local, message: message) }

    /// The error for a non-2xx answer: the problem's `detail` and the status
    /// (`experiment 3f… not found (HTTP 404 Not Found)`), plus `allowed` and
    /// `current_state` when the problem has them. A body that is not a
    /// problem is quoted (its first 300 characters).
    static func problem(status: Int, body: [UInt8]) -> ClientError {
        let title: String
        var message: String
        var extras: [String] = []
        if let problem = try? JSONValue.parse(body), case .object = problem {
            title = problem["title"]?.string ?? HTTPStatus.reason(status)
            message = problem["detail"]?.string ?? problem["title"]?.string ?? "the server answered \(status)"
            if let state = problem["current_state"]?.string { extras.append("current state: \(state)") }
            if let allowed = problem["allowed"]?.string { extras.append("allowed: \(allowed)") }
        } else {
            title = HTTPStatus.reason(status)
            let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            message = text.isEmpty ? "the server answered \(status)" : text
        }
        message += " (HTTP \(status)\(title.isEmpty ? "" : " " + title))"
        for e in extras { message += "\n  " + e }
        return ClientError(code: .problem, message: message, status: status)
    }
}

/// The exit statuses of the client commands (see ``ClientError``).
enum ExitStatus {
    static let succeeded: Int32 = 0
    static let failed: Int32 = 1
    static let cancelled: Int32 = 2
    static let interrupted: Int32 = 3
    static let problem: Int32 = 4
    static let unreachable: Int32 = 5

    /// The exit status for an experiment's final state; nil while it is not final.
    static func outcome(_ status: String) -> Int32? {
        switch status {
        case "succeeded": succeeded
        case "failed": failed
        case "cancelled": cancelled
        case "interrupted": interrupted
        default: nil
        }
    }
}

/// Reason phrases for the statuses the API uses.
enum HTTPStatus {
    static func reason(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 409: "Conflict"
        case 413: "Content Too Large"
        case 415: "Unsupported Media Type"
        case 416: "Range Not Satisfiable"
        case 422: "Unprocessable Content"
        case 500: "Internal Server Error"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 507: "Insufficient Storage"
        default: ""
        }
    }

    /// Statuses worth retrying: the server (or a proxy in front of it) is
    /// restarting or its database is briefly away.
    static func isTransient(_ status: Int) -> Bool { [502, 503, 504].contains(status) }
}
