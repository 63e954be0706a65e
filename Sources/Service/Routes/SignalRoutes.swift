import Foundation
import MarketData
import MicroHTTP
import Pipeline
import Store

/// `GET /v1/experiments/{id}/signals` and `GET /v1/experiments/{id}/report`.
struct SignalRoutes {
    let store: ExperimentStore
    let signals: SignalStore

    func register(_ r: inout Router) {
        r.get("/v1/experiments/{id}/signals", scope: Scope.read.rawValue) { req in try list(req) }
        r.get("/v1/experiments/{id}/report", scope: Scope.read.rawValue) { req in try report(req) }
    }

    /// Filters `symbol`, `timeframe`, `min_quality`, `accepted`, `outcome`, `from`, `to`
    /// (RFC 3339 times or µs since the epoch), pages with `after` (a signal id,
    /// also in `next_cursor`) and `limit`; `format=csv` answers a CSV page.
    func list(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        var q = SignalQuery()
        if let s = req.query["symbol"], !s.isEmpty { q.symbol = s }
        if let s = req.query["timeframe"], !s.isEmpty { q.timeframe = try DatasetRoutes.timeframe(s).rawValue }
        if let s = req.query["min_quality"], !s.isEmpty {
            guard let v = Double(s), v >= 0, v <= 1 else { throw APIError.invalid("min_quality", "must be a number in 0…1") }
            q.minQuality = v
        }
        switch req.query["accepted"] {
        case nil, "": break
        case "true", "1": q.accepted = true
        case "false", "0": q.accepted = false
        case let v?: throw APIError.invalid("accepted", "'\(v)' is not true or false")
        }
        switch req.query["outcome"] {
        case nil, "": break
        case let v? where ["target", "stop", "horizon", "open"].contains(v): q.outcome = v
        case let v?: throw APIError.invalid("outcome", "'\(v)' is not one of target, stop, horizon, open")
        }
        q.fromMicros = try timeQuery(req, "from")
        q.toMicros = try timeQuery(req, "to")
        if let a = req.query["after"] ?? req.query["cursor"], !a.isEmpty {
            guard let n = Int64(a), n >= 0 else { throw APIError.invalid("after", "must be a signal id (a non-negative integer)") }
            q.after = n
        }
        let csv: Bool
        switch req.query["format"] {
        case nil, "", "json": csv = false
        case "csv": csv = true
        case let v?: throw APIError.invalid("format", "'\(v)' is not json or csv")
        }
        let limit = try intQuery(req, "limit", default: 500, range: 1...(csv ? 1_000_000 : 5000))
        q.limit = limit + 1
        guard try database({ try store.status(id) }) != nil else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        let rows = try database { try signals.list(experiment: id, q) }
        let page = rows.prefix(limit)
        let next = rows.count > limit ? page.last.map { String($0.id) } : nil
        if csv {
            var out =
                "id,symbol,timeframe,timestamp,direction,entry,stop,target,horizon_bars,quality,accepted,"
                + SignalRecord.componentNames.joined(separator: ",") + ",sources,quality_prior,outcome,outcome_r,resolved_at\n"
            for s in page {
                let c = ServiceStageEnvironment.record(s)
                out += "\(s.id),\(Self.csvField(s.symbol)),\(s.timeframe),\(Timestamps.iso8601(micros: s.timestampMicros)),\(s.direction),"
                out += "\(s.entry),\(s.stop),\(s.target),\(s.horizonBars),\(s.quality),\(s.accepted),"
                out += c.components.map { $0.isFinite ? "\($0)" : "" }.joined(separator: ",")
                out += "," + Self.csvField(c.sources.joined(separator: ";"))
                out += ",\(s.qualityPrior),\(s.outcome),\(s.outcomeR.map { "\($0)" } ?? ""),"
                out += (s.resolvedAtMicros.map { Timestamps.iso8601(micros: $0) } ?? "") + "\n"
            }
            var r = Response(status: 200, headers: ["Content-Type": "text/csv; charset=utf-8"], body: Array(out.utf8))
            if let next {
                r.headers.add("Link", "</v1/experiments/\(id.uuidString.lowercased())/signals?after=\(next)&format=csv>; rel=\"next\"")
            }
            return r
        }
        let items = page.map(Self.render).joined(separator: ",")
        return .json(Array("{\"items\":[\(items)],\"next_cursor\":\(next.map { "\"\($0)\"" } ?? "null")}".utf8))
    }

    func report(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        guard try database({ try store.status(id) }) != nil else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        guard let body = try database({ try signals.report(experiment: id) }) else {
            throw APIError(404, "experiment \(req.parameter("id")) has no report yet (the analysis stage writes it)")
        }
        return .json(Array(body.utf8))
    }

    static func render(_ s: StoredSignal) -> String {
        """
        {"id":\(s.id),"symbol":\(JSONText.quote(s.symbol)),"timeframe":"\(s.timeframe)",\
        "timestamp":"\(Timestamps.iso8601(micros: s.timestampMicros))","direction":"\(s.direction)",\
        "entry":\(JSONText.number(s.entry)),"stop":\(JSONText.number(s.stop)),"target":\(JSONText.number(s.target)),\
        "horizon_bars":\(s.horizonBars),"quality":\(JSONText.number(s.quality)),"accepted":\(s.accepted),\
        "components":\(s.components),"sources":\(s.sources),"quality_prior":\(JSONText.number(s.qualityPrior)),\
        "outcome":{"exit":"\(s.outcome)","r":\(s.outcomeR.map { JSONText.number($0) } ?? "null"),\
        "resolved_at":\(s.resolvedAtMicros.map { "\"\(Timestamps.iso8601(micros: $0))\"" } ?? "null")}}
        """
    }

    static func csvField(_ s: String) -> String {
        s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }
}

extension Timestamps {
    static func iso8601(micros: Int64) -> String { iso8601(Date(timeIntervalSince1970: Double(micros) / 1_000_000)) }
}
