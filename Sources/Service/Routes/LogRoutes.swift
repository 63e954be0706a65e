import Foundation
import MicroHTTP
import Pipeline
import Stages
import Store

/// `GET /v1/experiments/{id}/logs`: history pages, or a live stream.
struct LogRoutes {
    let store: ExperimentStore
    let hub: LogFollowHub

    func register(_ r: inout Router) {
        r.get("/v1/experiments/{id}/logs", scope: Scope.read.rawValue) { req in try logs(req) }
    }

    func logs(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        var filter = LogFilter()
        if let level = req.query["level"], !level.isEmpty {
            guard let levels = LogFilter.levels(atLeast: level) else {
                throw APIError(
                    400, "level: '\(level)' is not one of \(LogFilter.order.joined(separator: ", "))", field: "level",
                    extra: [("allowed", LogFilter.order.joined(separator: ", "))])
            }
            filter.levels = levels
        }
        if let stage = req.query["stage"], !stage.isEmpty {
            guard BuiltInStages.names.contains(stage) else {
                throw APIError(
                    400, "stage: '\(stage)' is not one of \(BuiltInStages.names.joined(separator: ", "))", field: "stage",
                    extra: [("allowed", BuiltInStages.names.joined(separator: ", "))])
            }
            filter.stage = stage
        }
        var after: Int64 = 0
        if let a = req.headers["Last-Event-ID"] ?? req.query["after"], !a.isEmpty {
            // Plain decimal digits only: no sign, spaces, hex or trailing bytes ("5\0", "+5", "0x5", "5a").
            guard a.utf8.count <= 19, a.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int64(a) else {
                throw APIError.invalid(
                    req.headers["Last-Event-ID"] != nil ? "Last-Event-ID" : "after", "must be a log id written as plain decimal digits")
            }
            after = n
        }
        let follow: Bool
        switch req.query["follow"] {
        case nil, "", "false", "0": follow = false
        case "true", "1": follow = true
        case let v?: throw APIError.invalid("follow", "'\(v)' is not true or false")
        }
        let limit = try intQuery(req, "limit", default: 500, range: 1...5000)
        let tail: Int? = req.query["tail"] == nil ? nil : try intQuery(req, "tail", default: 1, range: 1...5000)
        if tail != nil, req.query["after"] != nil || req.headers["Last-Event-ID"] != nil {
            throw APIError.invalid("tail", "cannot be combined with after or Last-Event-ID")
        }
        guard try database({ try store.status(id) }) != nil else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        // `tail=N`: the newest N lines (and, with follow, what comes after them).
        var tailRows: [LogRecord]?
        if let tail {
            let rows = try database { try store.logsTail(id, levels: filter.levels, stage: filter.stage, count: tail) }
            tailRows = rows
            if follow { after = max(0, (rows.first?.id ?? Int64.max) - 1) }
            if follow, rows.isEmpty { after = 0 }
        }

        if follow {
            let accept = req.headers["Accept"]?.lowercased() ?? ""
            let format: LogFollowHub.Format = accept.contains("application/x-ndjson") ? .ndjson : .sse
            let stream = ResponseStream()
            try database { try hub.add(.init(experimentID: id, after: after, filter: filter, format: format, stream: stream)) }
            let type = format == .sse ? "text/event-stream" : "application/x-ndjson"
            return Response(
                status: 200, headers: ["Content-Type": type, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"],
                body: .stream(stream))
        }
        if let tailRows {
            return .json(Array("{\"items\":[\(tailRows.map(\.json).joined(separator: ","))],\"next_cursor\":null}".utf8))
        }
        let rows = try database { try store.logs(id, after: after, levels: filter.levels, stage: filter.stage, limit: limit + 1) }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? "\"\(page.last!.id)\"" : "null"
        return .json(Array("{\"items\":[\(page.map(\.json).joined(separator: ","))],\"next_cursor\":\(next)}".utf8))
    }
}
