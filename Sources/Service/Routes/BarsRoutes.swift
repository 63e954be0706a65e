import Foundation
import MarketData
import MicroHTTP
import Stages
import Store

/// `GET /v1/experiments/{id}/bars`: the OHLCV bars of one symbol at one
/// timeframe, as the experiment's merge stage aligned them (for the web view's
/// chart).
///
/// The bars come from the stage registry (``BuiltInStages/chartBars``): the
/// tables the stage that aligns the bars leaves in the experiment's folder,
/// `<data dir>/experiments/<id>` (the folder the engine gives each experiment,
/// see `Engine.Configuration.dataDirectory`). Rows where the symbol has no bar
/// (an outer join's gaps) are left out.
struct BarsRoutes {
    let store: ExperimentStore
    /// The engine's data directory.
    let dataDirectory: URL
    /// Where the bars come from (nil: no stage leaves any, every request is a 404).
    var source: ChartBars? = BuiltInStages.chartBars
    /// The stage that leaves them, as the 404 names it.
    var sourceStage = BuiltInStages.descriptors.first { $0.bars != nil }?.name ?? "no stage"

    static let defaultLimit = 1000
    static let maxLimit = 100_000

    func register(_ r: inout Router) {
        r.get("/v1/experiments/{id}/bars", scope: Scope.read.rawValue) { req in try bars(req) }
    }

    /// Query: `symbol` and `timeframe` (required), `from` and `to` (bar open
    /// times, RFC 3339 or µs since the epoch, inclusive), `limit` (default
    /// 1000, at most 100000; when more bars fall in the range, the latest
    /// `limit` are answered and `truncated` is true).
    func bars(_ req: Request) throws -> Response {
        let id = try uuidParameter(req, "id")
        guard let symbol = req.query["symbol"]?.trimmingCharacters(in: .whitespaces), !symbol.isEmpty else {
            throw APIError.invalid("symbol", "is required (one of the experiment's symbols, e.g. EURUSD)")
        }
        guard let raw = req.query["timeframe"], !raw.isEmpty else {
            throw APIError.invalid("timeframe", "is required (one of the experiment's timeframes, e.g. 1h)")
        }
        guard let timeframe = Timeframe(rawValue: raw) else {
            let allowed = Timeframe.allCases.map(\.rawValue)
            throw APIError(
                400, "timeframe: '\(raw)' is not one of \(allowed.joined(separator: ", "))", field: "timeframe",
                extra: [("allowed", allowed.joined(separator: ", "))])
        }
        let from = try timeQuery(req, "from")
        let to = try timeQuery(req, "to")
        if let from, let to, from > to { throw APIError.invalid("from", "must not be after to") }
        let limit = try intQuery(req, "limit", default: Self.defaultLimit, range: 1...Self.maxLimit)

        guard try database({ try store.status(id) }) != nil else { throw APIError.notFound("experiment \(req.parameter("id"))") }
        let folder = dataDirectory.appendingPathComponent("experiments/\(id.uuidString.lowercased())")
        guard let table = source?.table(folder, timeframe) else {
            let have = source?.timeframes(folder).map(\.rawValue) ?? []
            let which = have.isEmpty ? "none yet: the \(sourceStage) stage writes them" : "it has \(have.joined(separator: ", "))"
            throw APIError(404, "experiment \(req.parameter("id")) has no \(timeframe.rawValue) bars (\(which))", field: "timeframe")
        }
        let prefix = symbol.lowercased() + "_"
        guard let open = table.column(prefix + "open"), let high = table.column(prefix + "high"),
            let low = table.column(prefix + "low"), let close = table.column(prefix + "close")
        else {
            let symbols = table.columns.compactMap { c in c.name.hasSuffix("_close") ? c.name.dropLast(6).uppercased() : nil }
            throw APIError(
                404, "no symbol '\(symbol)' in the \(timeframe.rawValue) bars (symbols: \(symbols.joined(separator: ", ")))",
                field: "symbol")
        }
        let volume = table.column(prefix + "volume")

        var rows: [Int] = []
        for i in table.timestamps.indices {
            let t = table.timestamps[i]
            if let from, t < from { continue }
            if let to, t > to { break }
            if open[i].isFinite || high[i].isFinite || low[i].isFinite || close[i].isFinite { rows.append(i) }
        }
        let truncated = rows.count > limit
        if truncated { rows.removeFirst(rows.count - limit) }

        var out = "{\"experiment_id\":\"\(id.uuidString.lowercased())\",\"symbol\":\(JSONText.quote(symbol.uppercased())),"
        out += "\"timeframe\":\"\(timeframe.rawValue)\",\"count\":\(rows.count),\"truncated\":\(truncated),"
        out.reserveCapacity(out.utf8.count + rows.count * 100)
        func array(_ name: String, _ value: (Int) -> String) {
            out += "\"\(name)\":["
            for (n, i) in rows.enumerated() {
                if n > 0 { out += "," }
                out += value(i)
            }
            out += "]"
        }
        array("timestamps") { String(table.timestamps[$0]) }
        for (name, column) in [("open", open), ("high", high), ("low", low), ("close", close)] {
            out += ","
            array(name) { JSONText.number(column[$0]) }
        }
        out += ","
        array("volume") { i in volume.map { JSONText.number($0[i]) } ?? "null" }
        out += "}"
        return .json(Array(out.utf8))
    }
}
