import Foundation
import Stages

/// Checks a request's JSON against a ``ConfigSchema``: unknown keys (with a
/// did-you-mean when a known key is close), wrong types and values out of
/// range, each named by its path (`config.forecast.ar_order`). Pure: no I/O.
enum ConfigChecker {
    /// The first fault found: the member's path and why.
    struct Fault: Error, Equatable, CustomStringConvertible {
        var path: String
        var reason: String
        /// The known key suggested for an unknown one.
        var suggestion: String?

        var description: String { "\(path): \(reason)" }

        var apiError: APIError {
            APIError(400, description, field: path, extra: suggestion.map { [("did_you_mean", $0)] } ?? [])
        }
    }

    /// Checks `value` against `schema`; object members are visited in key order.
    /// - Parameters:
    ///   - value: the JSON value.
    ///   - schema: what it must be.
    ///   - path: its path in the request (`config.forecast`).
    /// - Returns: the first fault, or nil when the value conforms.
    static func check(_ value: JSONValue, against schema: ConfigSchema, path: String) -> Fault? {
        func wrong() -> Fault { Fault(path: path, reason: "expected \(schema.expectation), got \(got(value))") }
        switch schema {
        case .integer(let range):
            guard case .number(let n) = value, n == n.rounded(), n.isFinite,
                n >= Double(range.lowerBound), n <= Double(range.upperBound), abs(n) < 9.0e15
            else { return wrong() }
            return nil
        case .number(let range):
            guard case .number(let n) = value, range.contains(n) else { return wrong() }
            return nil
        case .boolean:
            guard case .bool = value else { return wrong() }
            return nil
        case .choice(let values, let ignoringCase):
            guard case .string(let s) = value, values.contains(ignoringCase ? s.lowercased() : s) else { return wrong() }
            return nil
        case .duration:
            switch value {
            case .number(let n) where n.isFinite && n >= 0: return nil
            case .string(let s) where MergeOptions.parseDuration(s).map({ $0 >= 0 }) == true: return nil
            default: return wrong()
            }
        case .list(let item):
            guard case .array(let items) = value, !items.isEmpty else { return wrong() }
            for (i, x) in items.enumerated() {
                if let fault = check(x, against: item, path: "\(path)[\(i)]") { return fault }
            }
            return nil
        case .oneOrList(let item):
            if case .array = value { return check(value, against: .list(item), path: path) }
            return check(value, against: item, path: path).map { _ in wrong() }
        case .either(let a, let b):
            if check(value, against: a, path: path) == nil || check(value, against: b, path: path) == nil { return nil }
            return wrong()
        case .object(let known):
            guard case .object(let members) = value else { return wrong() }
            for (key, _) in members.sorted(by: { $0.0 < $1.0 }) where known[key] == nil {
                return unknownKey(key, known: known.keys, path: path.isEmpty ? key : "\(path).\(key)")
            }
            for (key, member) in members.sorted(by: { $0.0 < $1.0 }) {
                if let fault = check(member, against: known[key]!, path: path.isEmpty ? key : "\(path).\(key)") { return fault }
            }
            return nil
        case .map(let item):
            guard case .object(let members) = value else { return wrong() }
            for (key, member) in members.sorted(by: { $0.0 < $1.0 }) {
                if let fault = check(member, against: item, path: path.isEmpty ? key : "\(path).\(key)") { return fault }
            }
            return nil
        }
    }

    /// The fault for an unknown key: `unknown key; did you mean model_timeout_s?`,
    /// or the known keys when none is close.
    /// - Parameter noun: what the key is (`section` for `config.<name>`); default `key`.
    static func unknownKey(_ key: String, known: some Collection<String>, path: String, noun: String = "key") -> Fault {
        if let near = suggestion(for: key, among: known) {
            return Fault(path: path, reason: "unknown \(noun); did you mean \(near)?", suggestion: near)
        }
        let list = known.isEmpty ? "none" : known.sorted().joined(separator: ", ")
        return Fault(path: path, reason: "unknown \(noun) (known: \(list))")
    }

    /// The known key closest to `key`: within edit distance 2, or one a prefix
    /// of the other (at least 3 characters); the nearest wins, then the first
    /// in alphabetical order. Case is ignored.
    /// - Returns: the suggestion, or nil when none is close.
    static func suggestion(for key: String, among known: some Collection<String>) -> String? {
        let k = key.lowercased()
        var best: (distance: Int, name: String)?
        for name in known.sorted() {
            let n = name.lowercased()
            var d = editDistance(k, n)
            let prefix = min(k.count, n.count) >= 3 && (n.hasPrefix(k) || k.hasPrefix(n))
            if d > 2 {
                guard prefix else { continue }
                d = 3  // a prefix match ranks after every near miss
            }
            if best == nil || d < best!.distance { best = (d, name) }
        }
        return best?.name
    }

    /// The Levenshtein distance (insertions, deletions, substitutions) between
    /// two strings, by Unicode scalar.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.unicodeScalars), y = Array(b.unicodeScalars)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var previous = Array(0...y.count)
        var current = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            current[0] = i
            for j in 1...y.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[y.count]
    }

    /// A short rendering of the value found: `1e20`, `"abc"`, `true`, `an object`.
    static func got(_ value: JSONValue) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let n):
            if n == n.rounded(), abs(n) < 1e15 { return String(Int64(n)) }
            return "\(n)".replacingOccurrences(of: "e+", with: "e")
        case .string(let s):
            let short = s.count > 40 ? String(s.prefix(40)) + "…" : s
            return JSONValue.string(short).serialized
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}
