public import Foundation
import MarketData
import Stages

/// A validated `POST /v1/experiments` body, with every default filled in.
public struct ExperimentRequest: Sendable, Equatable {
    public struct DatasetRef: Sendable, Equatable {
        public var symbol: String
        public var datasetID: UUID?
        public var path: String?
    }

    public var name: String
    public var priority: String
    public var datasets: [DatasetRef]
    public var timeframes: [String]
    public var stages: [String]
    public var config: JSONValue
    /// Webhooks of this experiment (`notify`); their secrets stay out of `json`.
    public var notify: [WebhookSubscription] = []

    public static let priorities = ["high", "medium", "low"]
    /// The timeframe names, finest first (case-sensitive: `1m` is a minute, `1M` a month).
    public static let timeframeNames = ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1M"]
    /// The stage names, in pipeline order (the built-in stage registry's, ``BuiltInStages``).
    public static var stageNames: [String] { BuiltInStages.names }
    /// The members a request body may have.
    static let topLevelKeys = ["name", "priority", "datasets", "timeframes", "stages", "config", "notify"]
    /// The `config` sections: one per built-in stage, named after it.
    static var configSections: [String] { BuiltInStages.descriptors.map { $0.options.section } }

    /// Validates a parsed body.
    /// - Throws: `APIError` 400 naming the member and the reason.
    public static func validate(_ json: JSONValue) throws(APIError) -> ExperimentRequest {
        guard case .object(let members) = json else {
            throw APIError(400, "the body must be a JSON object, not \(json.typeName)")
        }
        if let path = firstNULString(json, path: "") {
            throw APIError.invalid(path.isEmpty ? "body" : path, "strings may not contain U+0000")
        }
        if let unknown = members.first(where: { !topLevelKeys.contains($0.0) }) {
            throw ConfigChecker.unknownKey(unknown.0, known: topLevelKeys, path: unknown.0).apiError
        }

        var name = ""
        if let v = json["name"] {
            guard case .string(let s) = v else { throw APIError.invalid("name", "must be a string, not \(v.typeName)") }
            let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty, trimmed.count <= 200 else { throw APIError.invalid("name", "must be 1 to 200 characters") }
            guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw APIError.invalid("name", "must not contain control characters")
            }
            name = trimmed
        }

        var priority = "medium"
        if let v = json["priority"] {
            guard case .string(let s) = v, priorities.contains(s) else {
                throw APIError(
                    400, "priority: must be one of \(priorities.joined(separator: ", "))", field: "priority",
                    extra: [("allowed", priorities.joined(separator: ", "))])
            }
            priority = s
        }

        guard let dv = json["datasets"] else { throw APIError.invalid("datasets", "is required") }
        guard case .array(let items) = dv, !items.isEmpty else {
            throw APIError.invalid("datasets", "must be a non-empty array of {symbol, dataset_id | path}")
        }
        guard items.count <= 64 else { throw APIError.invalid("datasets", "at most 64 datasets") }
        var datasets: [DatasetRef] = []
        for (i, item) in items.enumerated() {
            let f = "datasets[\(i)]"
            guard case .object(let m) = item else { throw APIError.invalid(f, "must be an object, not \(item.typeName)") }
            if let unknown = m.first(where: { !["symbol", "dataset_id", "path"].contains($0.0) }) {
                throw ConfigChecker.unknownKey(unknown.0, known: ["symbol", "dataset_id", "path"], path: "\(f).\(unknown.0)").apiError
            }
            guard case .string(let symbol)? = item["symbol"] else {
                throw APIError.invalid("\(f).symbol", "is required and must be a string")
            }
            guard (1...32).contains(symbol.count), symbol.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) })
            else {
                throw APIError.invalid("\(f).symbol", "must be 1 to 32 letters, digits, '.', '_' or '-'")
            }
            if datasets.contains(where: { $0.symbol.lowercased() == symbol.lowercased() }) {
                throw APIError.invalid("\(f).symbol", "'\(symbol)' appears twice")
            }
            var ref = DatasetRef(symbol: symbol)
            switch (item["dataset_id"], item["path"]) {
            case (.some(.string(let id)), nil):
                guard let uuid = UUID(uuidString: id) else { throw APIError.invalid("\(f).dataset_id", "'\(id)' is not a UUID") }
                ref.datasetID = uuid
            case (nil, .some(.string(let path))):
                ref.path = try safeRelativePath(path, field: "\(f).path")
            case (nil, nil):
                throw APIError.invalid(f, "needs dataset_id or path")
            case (.some, .some):
                throw APIError.invalid(f, "give dataset_id or path, not both")
            case (.some(let v), nil):
                throw APIError.invalid("\(f).dataset_id", "must be a string, not \(v.typeName)")
            case (nil, .some(let v)):
                throw APIError.invalid("\(f).path", "must be a string, not \(v.typeName)")
            }
            datasets.append(ref)
        }

        var timeframes = ["1h"]
        if let v = json["timeframes"] {
            timeframes = try stringList(v, field: "timeframes", allowed: timeframeNames)
            guard !timeframes.isEmpty else { throw APIError.invalid("timeframes", "must not be empty") }
            timeframes.sort { timeframeNames.firstIndex(of: $0)! < timeframeNames.firstIndex(of: $1)! }
        }

        var stages = stageNames
        if let v = json["stages"] {
            stages = try stringList(v, field: "stages", allowed: stageNames)
            guard !stages.isEmpty else { throw APIError.invalid("stages", "must not be empty") }
            stages.sort { stageNames.firstIndex(of: $0)! < stageNames.firstIndex(of: $1)! }
            for s in stages {
                for p in BuiltInStages.prerequisites(of: s) where !stages.contains(p) {
                    throw APIError.invalid("stages", "'\(s)' needs '\(p)' to run first")
                }
            }
        }

        var config = JSONValue.object([])
        if let v = json["config"] {
            try validateConfig(v)
            config = v
        }
        var notify: [WebhookSubscription] = []
        if let v = json["notify"] { notify = try WebhookSubscription.parseRequest(v) }
        let request = ExperimentRequest(
            name: name, priority: priority, datasets: datasets, timeframes: timeframes, stages: stages, config: config, notify: notify)
        _ = try request.plan()
        return request
    }

    /// The typed plan of this request, as a runner will decode it from the
    /// stored JSON: every `config` section decoded into its stage's options
    /// type, whether or not the experiment runs that stage, so the rules that
    /// tie members together (`window ≥ min_train`, …) are checked at `POST` time.
    /// - Throws: `APIError` 400 whose `field` is the member's path and whose
    ///   detail says why (`config.forecast.window: must be …`).
    func plan() throws(APIError) -> ExperimentPlan {
        do { return try ExperimentPlan(request: Data(json.serialized.utf8)) } catch {
            let text = error.description
            let field = text.hasPrefix("config.") ? String(text.prefix { $0 != ":" }) : "config"
            throw APIError(400, text, field: field)
        }
    }

    private static func stringList(_ v: JSONValue, field: String, allowed: [String]) throws(APIError) -> [String] {
        guard case .array(let items) = v else { throw APIError.invalid(field, "must be an array of strings, not \(v.typeName)") }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let s) = item else { throw APIError.invalid("\(field)[\(i)]", "must be a string, not \(item.typeName)") }
            guard allowed.contains(s) else {
                throw APIError(
                    400, "\(field)[\(i)]: '\(s)' is not one of \(allowed.joined(separator: ", "))", field: "\(field)[\(i)]",
                    extra: [("allowed", allowed.joined(separator: ", "))])
            }
            guard !out.contains(s) else { throw APIError.invalid("\(field)[\(i)]", "'\(s)' appears twice") }
            out.append(s)
        }
        return out
    }

    /// The member path of the first string (or key) holding U+0000, which
    /// PostgreSQL cannot store.
    static func firstNULString(_ v: JSONValue, path: String) -> String? {
        switch v {
        case .string(let s): return s.utf8.contains(0) ? path : nil
        case .array(let items):
            for (i, item) in items.enumerated() { if let p = firstNULString(item, path: "\(path)[\(i)]") { return p } }
            return nil
        case .object(let members):
            for (k, item) in members {
                let p = path.isEmpty ? k : "\(path).\(k)"
                if k.utf8.contains(0) { return p }
                if let found = firstNULString(item, path: p) { return found }
            }
            return nil
        default: return nil
        }
    }

    /// A path under the data root: relative, no `..` that climbs out of it.
    static func safeRelativePath(_ path: String, field: String) throws(APIError) -> String {
        guard !path.isEmpty, path.utf8.count <= 1024, !path.contains("\0") else {
            throw APIError.invalid(field, "must be a non-empty relative path")
        }
        guard !path.hasPrefix("/") else { throw APIError.invalid(field, "must be relative to the data root, not absolute") }
        var depth = 0
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." {
                depth -= 1
                guard depth >= 0 else { throw APIError.invalid(field, "'\(path)' escapes the data root") }
                parts.removeLast()
            } else {
                depth += 1
                parts.append(part)
            }
        }
        guard !parts.isEmpty else { throw APIError.invalid(field, "must name a file under the data root") }
        return parts.joined(separator: "/")
    }

    /// Checks `config` whole, whichever stages the experiment runs: every
    /// key known (an unknown one is named with a did-you-mean when a known key
    /// is close), every value of its type and in its range (``ConfigSchema``,
    /// made of the options types' schemas). ``plan()`` then decodes every
    /// section into its options type, which checks the rules that tie members together.
    /// - Throws: `APIError` 400 whose `field` is the member's path
    ///   (`config.forecast.model_timeout`) and whose detail says why.
    static func validateConfig(_ config: JSONValue) throws(APIError) {
        guard case .object(let sections) = config else {
            throw APIError.invalid(
                "config", "expected an object (sections: \(configSections.joined(separator: ", "))), got \(config.typeName)")
        }
        if let unknown = sections.first(where: { !configSections.contains($0.0) }) {
            throw ConfigChecker.unknownKey(unknown.0, known: configSections, path: "config.\(unknown.0)", noun: "section").apiError
        }
        if let fault = ConfigChecker.check(config, against: ConfigSchema.config, path: "config") { throw fault.apiError }
    }

    /// The normalized request as stored and served (defaults filled in; no
    /// webhook secret).
    public var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .string(name)),
            ("priority", .string(priority)),
            (
                "datasets",
                .array(
                    datasets.map { d in
                        var m: [(String, JSONValue)] = [("symbol", .string(d.symbol))]
                        if let id = d.datasetID { m.append(("dataset_id", .string(id.uuidString.lowercased()))) }
                        if let p = d.path { m.append(("path", .string(p))) }
                        return .object(m)
                    })
            ),
            ("timeframes", .array(timeframes.map { .string($0) })),
            ("stages", .array(stages.map { .string($0) })),
            ("config", config),
        ]
        if !notify.isEmpty { members.append(("notify", .array(notify.map(\.publicJSON)))) }
        return .object(members)
    }
}

extension ExperimentRequest {
    /// Opens every dataset `path` beneath the data root, as the load stage
    /// will (``DataRoot``), so a file that is missing, a directory, not a
    /// regular file, unreadable, or reached through a symbolic link out of
    /// the root is refused when the experiment is created rather than when it
    /// runs. The file is closed again at once; the load stage opens it anew
    /// the same way (and fails the experiment if it has changed meanwhile).
    /// - Parameter root: the data root.
    /// - Throws: `APIError` 400 naming `datasets[i].path` and the reason.
    func checkPaths(in root: DataRoot) throws(APIError) {
        for (i, dataset) in datasets.enumerated() {
            guard let path = dataset.path else { continue }
            do { _ = try root.open(path) } catch {
                throw APIError(
                    400, "datasets[\(i)].path: '\(path)' \(error.reason)", field: "datasets[\(i)].path",
                    extra: [("reason", error.code.rawValue)])
            }
        }
    }
}
