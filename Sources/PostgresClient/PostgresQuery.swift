/// An SQL statement with its parameters bound, never spliced into the text.
///
/// Write it as a string literal; every interpolated value becomes a `$n`
/// placeholder and a bound parameter:
///
/// ```swift
/// let query: PostgresQuery = "SELECT name FROM users WHERE id = \(id) AND active = \(true)"
/// // sql:   "SELECT name FROM users WHERE id = $1 AND active = $2"
/// // binds: [id, true]
/// ```
///
/// `nil` optionals bind SQL NULL. Raw text (a table name chosen by the code,
/// say) must be spelled `\(unsafeSQL: "…")`, so it stands out in review.
public struct PostgresQuery: ExpressibleByStringInterpolation, Sendable, Hashable, CustomDebugStringConvertible {
    /// The SQL text, with `$1`, `$2`… for the parameters.
    public var sql: String
    /// The parameter values, in order; `nil` is SQL NULL.
    public var binds: [PostgresValue?]

    /// A statement from raw SQL text and its parameters.
    ///
    /// - Parameters:
    ///   - unsafeSQL: The SQL text, using `$1`… for `binds`. Never build it from
    ///     untrusted input.
    ///   - binds: The parameter values, in order. Default none.
    public init(unsafeSQL: String, binds: [PostgresValue?] = []) {
        self.sql = unsafeSQL
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    /// The SQL and the binds, for tests and debugging (contains the values).
    public var debugDescription: String {
        "PostgresQuery(\(String(reflecting: sql)), binds: \(binds.map { $0.map { String(reflecting: $0) } ?? "NULL" }))"
    }

    /// Builds the SQL text and binds of an interpolated string literal.
    public struct StringInterpolation: StringInterpolationProtocol {
        var sql: String
        var binds: [PostgresValue?]

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql = ""
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds = []
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// Binds a value as the next `$n` parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            bind(value.postgresValue)
        }

        /// Binds a value, or SQL NULL for `nil`, as the next `$n` parameter.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            bind(value?.postgresValue)
        }

        /// Splices raw SQL text into the statement. Never pass untrusted input.
        public mutating func appendInterpolation(unsafeSQL text: String) {
            sql += text
        }

        private mutating func bind(_ value: PostgresValue?) {
            binds.append(value)
            sql += "$\(binds.count)"
        }
    }
}
