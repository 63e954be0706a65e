import Foundation

/// What a `config` member may hold: its JSON type and range. Pure data, read
/// by the request checker at `POST /v1/experiments` so that an unknown key, a
/// value of the wrong type or one out of range is refused with its path
/// before any stage runs. Each section's schema is its options type's
/// (``StageOptions/schema``); the options types then decode the section and
/// check the rules that tie members together, such as `window ≥ min_train`.
public indirect enum ConfigSchema: Sendable, Equatable {
    /// An integer within `range` (a JSON number with no fractional part).
    case integer(ClosedRange<Int>)
    /// A finite number within `range`.
    case number(NumberRange)
    /// `true` or `false`.
    case boolean
    /// One of these strings (`ignoringCase`: compared lowercased).
    case choice([String], ignoringCase: Bool = false)
    /// A duration: a string such as `"30s"`, `"500ms"`, or a number of seconds, ≥ 0.
    case duration
    /// A non-empty array whose items match the schema.
    case list(ConfigSchema)
    /// A single value or a non-empty array of them.
    case oneOrList(ConfigSchema)
    /// Either of two forms (`"expanding"` or an integer).
    case either(ConfigSchema, ConfigSchema)
    /// An object with exactly these optional members.
    case object([String: ConfigSchema])
    /// An object with members of any name, each matching the schema (`analysis.costs`).
    case map(ConfigSchema)

    /// A range of finite numbers, each end open, closed or absent.
    public struct NumberRange: Sendable, Equatable, CustomStringConvertible {
        public var lower: Double?
        public var lowerIncluded: Bool
        public var upper: Double?
        public var upperIncluded: Bool

        public init(lower: Double?, lowerIncluded: Bool = true, upper: Double?, upperIncluded: Bool = true) {
            self.lower = lower
            self.lowerIncluded = lowerIncluded
            self.upper = upper
            self.upperIncluded = upperIncluded
        }

        /// `[a, b]`.
        public static func closed(_ a: Double, _ b: Double) -> NumberRange { NumberRange(lower: a, upper: b) }
        /// `≥ a`.
        public static func atLeast(_ a: Double) -> NumberRange { NumberRange(lower: a, upper: nil) }
        /// `> a`.
        public static func above(_ a: Double) -> NumberRange { NumberRange(lower: a, lowerIncluded: false, upper: nil) }

        public func contains(_ x: Double) -> Bool {
            guard x.isFinite else { return false }
            if let lower, lowerIncluded ? x < lower : x <= lower { return false }
            if let upper, upperIncluded ? x > upper : x >= upper { return false }
            return true
        }

        public var description: String {
            switch (lower, upper) {
            case (let a?, let b?) where lowerIncluded && upperIncluded: "in \(Self.text(a))...\(Self.text(b))"
            case (let a?, let b?): "in \(lowerIncluded ? "[" : "(")\(Self.text(a)), \(Self.text(b))\(upperIncluded ? "]" : ")")"
            case (let a?, nil): "\(lowerIncluded ? "≥" : ">") \(Self.text(a))"
            case (nil, let b?): "\(upperIncluded ? "≤" : "<") \(Self.text(b))"
            case (nil, nil): "finite"
            }
        }

        static func text(_ x: Double) -> String {
            x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : "\(x)"
        }
    }

    /// The members of an object schema (empty for other kinds).
    public var members: [String: ConfigSchema] {
        if case .object(let m) = self { return m }
        return [:]
    }

    /// What the value must be, as said after "expected": `an integer in 1...50`.
    public var expectation: String {
        switch self {
        case .integer(let r):
            if r.upperBound == Int.max { return "an integer ≥ \(r.lowerBound)" }
            return "an integer in \(r.lowerBound)...\(r.upperBound)"
        case .number(let r): return "a number \(r)"
        case .boolean: return "true or false"
        case .choice(let values, _): return "one of \(values.joined(separator: ", "))"
        case .duration: return "a duration such as \"30s\", \"500ms\", \"1m\" or a number of seconds ≥ 0"
        case .list(let item): return "a non-empty array of \(item.expectation)"
        case .oneOrList(let item): return "\(item.expectation), or a non-empty array of them"
        case .either(let a, let b): return "\(a.expectation), or \(b.expectation)"
        case .object(let m): return "an object (members: \(m.keys.sorted().joined(separator: ", ")))"
        case .map(let item): return "an object whose members are each \(item.expectation)"
        }
    }
}

extension ConfigSchema {
    /// The `config` object: one member per built-in stage, in pipeline order,
    /// each the ``StageOptions/schema`` of that stage's options type (see
    /// ``BuiltInStages``). The ranges are stated there, once.
    public static let config: ConfigSchema = .object(
        Dictionary(uniqueKeysWithValues: BuiltInStages.descriptors.map { ($0.name, $0.options.schema) }))
}
