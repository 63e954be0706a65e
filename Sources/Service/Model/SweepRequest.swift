import Foundation

/// A validated `POST /v1/sweeps` body: a base experiment body and the values
/// each config path takes. ``points()`` expands it into one experiment body
/// per point.
struct SweepRequest: Sendable {
    /// The values of one parameter: a list, or a range with a count.
    enum Values: Sendable, Equatable {
        case list([JSONValue])
        case range(min: Double, max: Double, count: Int, integer: Bool)
    }

    struct Parameter: Sendable, Equatable {
        /// `config.fusion.quality_threshold`, `timeframes`, …
        var path: String
        var values: Values
    }

    /// One point: each parameter's value, and where it came from (its index in
    /// the parameter's list or grid range; nil when drawn at random from a range).
    struct Point: Sendable {
        var index: Int
        var values: [(path: String, value: JSONValue, position: Int?)]

        /// `{"config.fusion.quality_threshold": 0.6, …}` in parameter order.
        var parameters: JSONValue { .object(values.map { ($0.path, $0.value) }) }
    }

    var name: String?
    var base: JSONValue
    var parameters: [Parameter]
    var mode: String
    var seed: Int64
    /// Random mode: how many points to draw.
    var count: Int?
    var maxParallel: Int
    var priority: String

    static let modes = ["grid", "random"]
    static let keys = ["name", "base", "parameters", "mode", "seed", "count", "max_parallel", "priority"]
    /// Paths outside `config` a parameter may set.
    static let topLevelPaths = ["timeframes", "stages"]
    /// At most this many points (children) per sweep.
    static let maxPoints = 500

    /// Validates the shape of a parsed body (each point's experiment body is
    /// checked by the caller, see ``points()``).
    /// - Throws: `APIError` 400 naming the member and the reason.
    static func parse(_ json: JSONValue) throws(APIError) -> SweepRequest {
        guard case .object(let members) = json else { throw APIError(400, "the body must be a JSON object, not \(json.typeName)") }
        if let unknown = members.first(where: { !keys.contains($0.0) }) {
            throw ConfigChecker.unknownKey(unknown.0, known: keys, path: unknown.0).apiError
        }
        guard let base = json["base"] else { throw APIError.invalid("base", "is required (an experiment body)") }
        guard case .object = base else { throw APIError.invalid("base", "must be an experiment body (an object), not \(base.typeName)") }

        var name: String?
        if let v = json["name"] {
            guard case .string(let s) = v, !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, s.count <= 180 else {
                throw APIError.invalid("name", "must be a string of 1 to 180 characters")
            }
            name = s.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        var mode = "grid"
        if let v = json["mode"] {
            guard case .string(let s) = v, modes.contains(s) else {
                throw APIError(400, "mode: must be one of grid, random", field: "mode", extra: [("allowed", "grid, random")])
            }
            mode = s
        }
        var priority = "medium"
        if case .string(let p)? = base["priority"] { priority = p }
        if let v = json["priority"] {
            guard case .string(let s) = v, ExperimentRequest.priorities.contains(s) else {
                throw APIError(
                    400, "priority: must be one of high, medium, low", field: "priority", extra: [("allowed", "high, medium, low")])
            }
            priority = s
        }
        let seed = try integer(json["seed"], field: "seed", range: 0...Int(Int32.max)).map(Int64.init) ?? 1
        let maxParallel = try integer(json["max_parallel"], field: "max_parallel", range: 1...64) ?? 2
        let count = try integer(json["count"], field: "count", range: 1...maxPoints)
        if mode == "random", count == nil { throw APIError.invalid("count", "is required with mode random (1…\(maxPoints))") }
        if mode == "grid", count != nil {
            throw APIError.invalid("count", "is only for mode random (a grid has one point per combination)")
        }

        guard case .object(let items)? = json["parameters"] else {
            throw APIError.invalid("parameters", "is required: an object from config paths to values ([…] or {min, max, count})")
        }
        guard !items.isEmpty else { throw APIError.invalid("parameters", "must name at least one path") }
        var parameters: [Parameter] = []
        for (path, value) in items {
            let field = "parameters.\(path)"
            try checkPath(path, field: field)
            if parameters.contains(where: { $0.path == path }) { throw APIError.invalid(field, "appears twice") }
            if let clash = parameters.first(where: { path.hasPrefix($0.path + ".") || $0.path.hasPrefix(path + ".") }) {
                throw APIError.invalid(field, "overlaps parameters.\(clash.path)")
            }
            parameters.append(Parameter(path: path, values: try values(value, field: field)))
        }
        if mode == "grid" {
            var total = 1
            for p in parameters {
                total *= p.values.gridCount
                guard total <= maxPoints else {
                    throw APIError.invalid("parameters", "the grid has more than \(maxPoints) points")
                }
            }
        }
        return SweepRequest(
            name: name, base: base, parameters: parameters, mode: mode, seed: seed, count: count, maxParallel: maxParallel,
            priority: priority)
    }

    /// The points: a grid's every combination (the first parameter varies
    /// slowest), or `count` draws (each parameter uniformly from its list or
    /// range, from a generator seeded with `seed`).
    func points() -> [Point] {
        if mode == "random" {
            var rng = SplitMix64(seed: UInt64(seed))
            return (0..<(count ?? 1)).map { i in
                Point(
                    index: i,
                    values: parameters.map { (p) -> (path: String, value: JSONValue, position: Int?) in
                        switch p.values {
                        case .list(let xs):
                            let k = Int(rng.next() % UInt64(xs.count))
                            return (path: p.path, value: xs[k], position: Optional(k))
                        case .range(let lo, let hi, _, let integer):
                            let u = Double(rng.next() >> 11) / Double(UInt64(1) << 53)
                            let x = lo + (hi - lo) * u
                            return (path: p.path, value: JSONValue.number(integer ? x.rounded() : x), position: nil)
                        }
                    })
            }
        }
        var combos: [[(path: String, value: JSONValue, position: Int?)]] = [[]]
        for p in parameters {
            let vs = p.values.gridValues
            combos = combos.flatMap { prefix in
                vs.enumerated().map { item -> [(path: String, value: JSONValue, position: Int?)] in
                    prefix + [(path: p.path, value: item.element, position: Optional(item.offset))]
                }
            }
        }
        return combos.enumerated().map { Point(index: $0.offset, values: $0.element) }
    }

    /// The experiment body of `point`: the base with each parameter's value
    /// set at its path, the sweep's priority, a name, and
    /// `config.analysis.trials` = the number of points (what the deflated Sharpe corrects for).
    func body(of point: Point, name: String, trials: Int) -> JSONValue {
        var body = base
        for v in point.values { body = Self.setting(body, path: v.path.split(separator: ".").map(String.init), to: v.value) }
        body = Self.setting(body, path: ["config", "analysis", "trials"], to: .number(Double(trials)))
        body = Self.setting(body, path: ["priority"], to: .string(priority))
        body = Self.setting(body, path: ["name"], to: .string(name))
        return body
    }

    /// Maps a point's validation error to the parameter at fault:
    /// `parameters.config.fusion.quality_threshold[1]: must be ≤ 1`; an error
    /// no parameter explains is the base's (`base.datasets[0].path: …`).
    func attribute(_ error: APIError, at point: Point) -> APIError {
        let detail =
            error.field.map { f in error.detail.hasPrefix(f + ": ") ? String(error.detail.dropFirst(f.count + 2)) : error.detail }
            ?? error.detail
        if let field = error.field,
            let v = point.values.first(where: { field == $0.path || field.hasPrefix($0.path + ".") || field.hasPrefix($0.path + "[") })
        {
            let name = "parameters.\(v.path)" + (v.position.map { "[\($0)]" } ?? "")
            let value = v.position == nil ? " (value \(v.value.serialized) at point \(point.index))" : ""
            var e = APIError(error.status, "\(name): \(detail)\(value)", field: name, extra: error.extra)
            e.headers = error.headers
            return e
        }
        let name = error.field.map { "base.\($0)" } ?? "base"
        var e = APIError(error.status, "\(name): \(detail)", field: name, extra: error.extra)
        e.headers = error.headers
        return e
    }

    // MARK: helpers

    private static func checkPath(_ path: String, field: String) throws(APIError) {
        let parts = path.split(separator: ".", omittingEmptySubsequences: false)
        guard !parts.contains(where: \.isEmpty) else { throw APIError.invalid(field, "is not a dotted path") }
        if parts.count == 1, topLevelPaths.contains(path) { return }
        guard parts.first == "config", parts.count >= 3 else {
            throw APIError.invalid(
                field,
                "a parameter is a config path (config.<section>.<key>, e.g. config.fusion.quality_threshold) or one of \(topLevelPaths.joined(separator: ", "))"
            )
        }
        guard ExperimentRequest.configSections.contains(String(parts[1])) else {
            throw ConfigChecker.unknownKey(
                String(parts[1]), known: ExperimentRequest.configSections, path: "\(field)", noun: "section"
            ).apiError
        }
    }

    private static func values(_ v: JSONValue, field: String) throws(APIError) -> Values {
        switch v {
        case .array(let xs):
            guard !xs.isEmpty, xs.count <= maxPoints else { throw APIError.invalid(field, "must list 1 to \(maxPoints) values") }
            return .list(xs)
        case .object(let m):
            let known = ["min", "max", "count", "integer"]
            if let unknown = m.first(where: { !known.contains($0.0) }) {
                throw ConfigChecker.unknownKey(unknown.0, known: known, path: "\(field).\(unknown.0)").apiError
            }
            guard case .number(let lo)? = v["min"], lo.isFinite else { throw APIError.invalid("\(field).min", "is required (a number)") }
            guard case .number(let hi)? = v["max"], hi.isFinite else { throw APIError.invalid("\(field).max", "is required (a number)") }
            guard lo <= hi else { throw APIError.invalid("\(field).max", "must be ≥ min") }
            var integer = false
            if let i = v["integer"] {
                guard case .bool(let b) = i else { throw APIError.invalid("\(field).integer", "must be a boolean") }
                integer = b
            }
            let count = try Self.integer(v["count"], field: "\(field).count", range: 1...maxPoints) ?? 1
            return .range(min: lo, max: hi, count: count, integer: integer)
        default:
            throw APIError.invalid(field, "must be a list of values or a range {min, max, count, integer}, not \(v.typeName)")
        }
    }

    private static func integer(_ v: JSONValue?, field: String, range: ClosedRange<Int>) throws(APIError) -> Int? {
        guard let v else { return nil }
        guard case .number(let d) = v, d == d.rounded(), d >= Double(range.lowerBound), d <= Double(range.upperBound) else {
            throw APIError.invalid(field, "must be an integer in \(range.lowerBound)…\(range.upperBound)")
        }
        return Int(d)
    }

    /// `json` with `value` at `path`, creating objects on the way.
    static func setting(_ json: JSONValue, path: [String], to value: JSONValue) -> JSONValue {
        guard let key = path.first else { return value }
        var members: [(String, JSONValue)] = []
        if case .object(let m) = json { members = m }
        if let k = members.firstIndex(where: { $0.0 == key }) {
            members[k].1 = setting(members[k].1, path: Array(path.dropFirst()), to: value)
        } else {
            members.append((key, setting(.object([]), path: Array(path.dropFirst()), to: value)))
        }
        return .object(members)
    }
}

extension SweepRequest.Values {
    /// The values of a grid: the list, or `count` evenly spaced values from min to max.
    var gridValues: [JSONValue] {
        switch self {
        case .list(let xs): return xs
        case .range(let lo, let hi, let count, let integer):
            return (0..<count).map { i in
                let x = count == 1 ? lo : lo + (hi - lo) * Double(i) / Double(count - 1)
                return .number(integer ? x.rounded() : x)
            }
        }
    }

    var gridCount: Int {
        switch self {
        case .list(let xs): xs.count
        case .range(_, _, let count, _): count
        }
    }
}

/// A small seeded generator (SplitMix64): the same seed draws the same points.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
