import Foundation
import MarketData
import MicroHTTP
import Store

/// `GET /v1/experiments/compare?ids=a,b,…`: what differs between 2 to 20
/// experiments' requests, their headline figures side by side (overall and per
/// symbol × timeframe), and their equity curves on one time grid.
struct CompareRoutes {
    let store: ExperimentStore
    let signals: SignalStore
    let artifacts: ArtifactStore

    /// At most this many points per resampled equity curve.
    static let gridPoints = 500
    static let headline = ["total_return", "sharpe", "deflated_sharpe", "trades", "verdict", "p_value", "max_drawdown", "win_rate"]

    func register(_ r: inout Router) {
        r.get("/v1/experiments/compare", scope: Scope.read.rawValue) { req in try compare(req) }
    }

    func compare(_ req: Request) throws -> Response {
        let ids = try Self.ids(req.query["ids"])
        let records = try database { try store.get(ids) }
        var requests: [JSONValue] = []
        for id in ids {
            guard let r = records.first(where: { $0.id == id }) else { throw APIError.notFound("experiment \(id.uuidString.lowercased())") }
            requests.append((try? JSONParser.parse(Array(r.request.utf8))) ?? .object([]))
        }
        let reports = try ids.map { id in
            try database { try signals.report(experiment: id) }.flatMap { try? JSONParser.parse(Array($0.utf8)) }
        }
        let curves = try ids.map { id in try equity(of: id) }

        let experiments = ids.enumerated().map { k, id in
            let r = records.first { $0.id == id }!
            return JSONValue.object([
                ("id", .string(id.uuidString.lowercased())), ("name", .string(r.name)), ("status", .string(r.status)),
                ("has_report", .bool(reports[k] != nil)),
            ])
        }
        let diff = Self.configDiff(requests).map { d in JSONValue.object([("path", .string(d.0)), ("values", .array(d.1))]) }
        let body = JSONValue.object([
            ("ids", .array(ids.map { .string($0.uuidString.lowercased()) })),
            ("experiments", .array(experiments)),
            ("config_diff", .array(diff)),
            ("metrics", Self.metrics(reports)),
            ("equity", Self.resample(curves)),
        ])
        return .json(Array(body.serialized.utf8))
    }

    /// `ids=a,b,…`: 2 to 20 distinct UUIDs.
    static func ids(_ raw: String?) throws(APIError) -> [UUID] {
        let parts = (raw ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard (2...20).contains(parts.count) else { throw APIError.invalid("ids", "must list 2 to 20 experiment ids, comma-separated") }
        var out: [UUID] = []
        for p in parts {
            guard let id = UUID(uuidString: p) else { throw APIError.invalid("ids", "'\(p)' is not an experiment id (a UUID)") }
            guard !out.contains(id) else { throw APIError.invalid("ids", "'\(p)' appears twice") }
            out.append(id)
        }
        return out
    }

    // MARK: config

    /// The leaf paths of the requests (`config.fusion.quality_threshold`,
    /// `timeframes`, `datasets`; arrays compare whole) whose values differ,
    /// with each experiment's value (null where it has none). `name` and
    /// `priority` are not compared.
    static func configDiff(_ requests: [JSONValue]) -> [(String, [JSONValue])] {
        var order: [String] = []
        var values: [String: [JSONValue?]] = [:]
        for (k, request) in requests.enumerated() {
            var leaves: [(String, JSONValue)] = []
            if case .object(let members) = request {
                for (key, v) in members where key != "name" && key != "priority" { flatten(v, path: key, into: &leaves) }
            }
            for (path, v) in leaves {
                if values[path] == nil {
                    order.append(path)
                    values[path] = Array(repeating: nil, count: requests.count)
                }
                values[path]![k] = v
            }
        }
        return order.compactMap { path in
            let vs = values[path]!
            let texts = Set(vs.map { $0?.canonical ?? "<absent>" })
            return texts.count > 1 ? (path, vs.map { $0 ?? .null }) : nil
        }
    }

    static func flatten(_ v: JSONValue, path: String, into out: inout [(String, JSONValue)]) {
        if case .object(let members) = v, !members.isEmpty {
            for (k, m) in members { flatten(m, path: "\(path).\(k)", into: &out) }
        } else {
            out.append((path, v))
        }
    }

    // MARK: metrics

    /// `{"overall": [per experiment figures], "series": [{"symbol", "timeframe", "values": [per experiment]}]}`.
    static func metrics(_ reports: [JSONValue?]) -> JSONValue {
        func number(_ v: JSONValue?) -> JSONValue {
            switch v {
            case .number(let n)?: .number(n)
            case .string(let s)?: .string(s)
            default: .null
            }
        }
        func figures(backtest: JSONValue?, evaluation: JSONValue?) -> JSONValue {
            .object([
                ("total_return", number(backtest?["total_return"])), ("sharpe", number(backtest?["sharpe"])),
                ("deflated_sharpe", number(evaluation?["deflated_sharpe"])), ("trades", number(backtest?["trades"])),
                ("verdict", number(evaluation?["verdict"])),
                ("p_value", number(evaluation?["baselines"]?["random_entries"]?["p_value"])),
                ("max_drawdown", number(backtest?["max_drawdown"])), ("win_rate", number(backtest?["win_rate"])),
            ])
        }
        let overall = reports.map { r in figures(backtest: r?["backtest"]?["summary"], evaluation: r?["evaluation"]?["overall"]) }
        var keys: [String] = []
        var bySeries: [String: [JSONValue]] = [:]
        for (k, r) in reports.enumerated() {
            guard case .array(let results)? = r?["backtest"]?["results"] else { continue }
            var evaluations: [String: JSONValue] = [:]
            if case .array(let series)? = r?["evaluation"]?["series"] {
                for s in series {
                    if case .string(let sym)? = s["symbol"], case .string(let tf)? = s["timeframe"] { evaluations["\(sym)/\(tf)"] = s }
                }
            }
            for result in results {
                guard case .string(let sym)? = result["symbol"], case .string(let tf)? = result["timeframe"] else { continue }
                let key = "\(sym)/\(tf)"
                if bySeries[key] == nil {
                    keys.append(key)
                    bySeries[key] = Array(repeating: .null, count: reports.count)
                }
                bySeries[key]![k] = figures(backtest: result["metrics"], evaluation: evaluations[key])
            }
        }
        let series = keys.map { key in
            let parts = key.split(separator: "/", maxSplits: 1).map(String.init)
            return JSONValue.object([("symbol", .string(parts[0])), ("timeframe", .string(parts[1])), ("values", .array(bySeries[key]!))])
        }
        return .object([("fields", .array(headline.map { .string($0) })), ("overall", .array(overall)), ("series", .array(series))])
    }

    // MARK: equity

    /// One experiment's equity series (symbol × timeframe curves) from its
    /// `equity.csv`, or the `equity.csv.gz` analysis writes when no CSV export
    /// was asked for; nil without either.
    func equity(of id: UUID) throws -> [[(Int64, Double)]]? {
        guard let data = try equityCSV(of: id) else { return nil }
        var series: [String: Int] = [:]
        var out: [[(Int64, Double)]] = []
        var first = true
        for line in data.split(separator: 10) {
            if first {
                first = false
                continue
            }
            let fields = line.split(separator: 44, omittingEmptySubsequences: false)
            guard fields.count >= 4, let t = Self.micros(fields[2]), let e = Double(String(decoding: fields[3], as: UTF8.self)), e.isFinite
            else { continue }
            let key = String(decoding: fields[0], as: UTF8.self) + "/" + String(decoding: fields[1], as: UTF8.self)
            let k: Int
            if let known = series[key] {
                k = known
            } else {
                k = out.count
                series[key] = k
                out.append([])
            }
            out[k].append((t, e))
        }
        return out
    }

    /// The bytes of the experiment's equity CSV, inflated when it is gzipped.
    func equityCSV(of id: UUID) throws -> Data? {
        if case .found(let record) = try database({ try artifacts.get(experiment: id, name: "equity.csv") }) {
            return FileManager.default.contents(atPath: record.path)
        }
        guard case .found(let record) = try database({ try artifacts.get(experiment: id, name: "equity.csv.gz") }),
            let gzipped = FileManager.default.contents(atPath: record.path)
        else { return nil }
        var csv = Data()
        let inflater = try GzipInflater()
        try gzipped.withUnsafeBytes { bytes in try inflater.inflate(bytes) { piece in csv.append(contentsOf: piece) } }
        return inflater.isComplete ? csv : nil
    }

    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` in µs since the epoch.
    static func micros(_ s: Data.SubSequence) -> Int64? {
        let b = Array(s)
        guard b.count >= 20, b[4] == 45, b[7] == 45, b[10] == 84, b[13] == 58, b[16] == 58 else { return nil }
        func num(_ from: Int, _ n: Int) -> Int64? {
            var v: Int64 = 0
            for i in from..<(from + n) {
                guard b[i] >= 48, b[i] <= 57 else { return nil }
                v = v * 10 + Int64(b[i] - 48)
            }
            return v
        }
        guard let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2), let mi = num(14, 2), let sec = num(17, 2)
        else { return nil }
        var frac: Int64 = 0
        if b[19] == 46 {
            var digits = 0
            var i = 20
            while i < b.count, b[i] >= 48, b[i] <= 57 {
                if digits < 6 {
                    frac = frac * 10 + Int64(b[i] - 48)
                    digits += 1
                }
                i += 1
            }
            while digits < 6 {
                frac *= 10
                digits += 1
            }
        }
        let days = UTCTime.daysFromCivil(year: y, month: mo, day: d)
        return ((days * 86400 + h * 3600 + mi * 60 + sec) * 1_000_000) + frac
    }

    /// Every experiment's combined curve on one grid of at most
    /// ``gridPoints`` instants from the earliest to the latest timestamp: at
    /// each instant the sum over its series of each one's latest equity at or
    /// before it (its first value before its first bar), as the backtest
    /// combines them. An experiment without an equity file has a null curve.
    static func resample(_ curves: [[[(Int64, Double)]]?]) -> JSONValue {
        let all = curves.compactMap { $0 }.flatMap { $0 }.filter { !$0.isEmpty }
        guard let lo = all.map({ $0[0].0 }).min(), let hi = all.map({ $0[$0.count - 1].0 }).max() else {
            return .object([("timestamps", .array([])), ("curves", .array(curves.map { _ in .null }))])
        }
        let n = hi > lo ? gridPoints : 1
        let grid: [Int64] = (0..<n).map { i in n == 1 ? lo : lo + Int64((Double(hi - lo) * Double(i) / Double(n - 1)).rounded()) }
        let resampled: [JSONValue] = curves.map { curve in
            guard let curve, !curve.isEmpty else { return .null }
            var total = [Double](repeating: 0, count: grid.count)
            for s in curve where !s.isEmpty {
                var j = 0
                for (g, t) in grid.enumerated() {
                    while j + 1 < s.count, s[j + 1].0 <= t { j += 1 }
                    total[g] += s[j].1
                }
            }
            return .array(total.map { .number($0) })
        }
        return .object([
            ("timestamps", .array(grid.map { .string(Timestamps.iso8601(Date(timeIntervalSince1970: Double($0) / 1_000_000))) })),
            ("curves", .array(resampled)),
        ])
    }
}
