/// An error from PostgreSQL, from libpq, or from this wrapper.
///
/// `description` is safe to show to a client: it names the error code and the
/// SQLSTATE, and includes the message only when this wrapper wrote it (server
/// and libpq messages can quote values and host names). `debugDescription`
/// has everything, for the log.
public struct PostgresError: Error, CustomStringConvertible, CustomDebugStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case connectionFailed, connectionClosed, server, poolExhausted, poolClosed
            case decoding, encoding, invalidURL, copyFailed, transactionRolledBack
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The connection could not be opened (server down, refused, bad credentials).
        public static let connectionFailed = Code(.connectionFailed)
        /// The connection broke or was closed while in use.
        public static let connectionClosed = Code(.connectionClosed)
        /// The server answered a statement with an error; see `sqlState`.
        public static let server = Code(.server)
        /// Every pooled connection stayed in use for the whole checkout timeout.
        public static let poolExhausted = Code(.poolExhausted)
        /// The pool was closed.
        public static let poolClosed = Code(.poolClosed)
        /// A result value could not be decoded as the requested Swift type.
        public static let decoding = Code(.decoding)
        /// A value could not be sent (for example a string containing a NUL byte).
        public static let encoding = Code(.encoding)
        /// A connection URL could not be parsed.
        public static let invalidURL = Code(.invalidURL)
        /// A `COPY … FROM STDIN` failed on the client side.
        public static let copyFailed = Code(.copyFailed)
        /// `COMMIT` rolled the transaction back because a statement in it had failed.
        public static let transactionRolledBack = Code(.transactionRolledBack)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The server's SQLSTATE, when the server reported the error.
    public var sqlState: SQLState?
    /// The primary message.
    public var message: String
    /// The server's detail message (may contain values, such as the duplicate key).
    public var detail: String?
    /// The server's hint.
    public var hint: String?
    /// The constraint the error is about, if the server named one.
    public var constraint: String?
    /// The table the error is about, if the server named one.
    public var table: String?
    /// The column the error is about, if the server named one.
    public var column: String?
    /// The SQL text of the statement (with `$n` placeholders, never the bound values).
    public var query: String?
    /// The Swift file that raised the error.
    public var file: String
    /// The line in `file` that raised the error.
    public var line: Int
    /// Whether `message` was written by this wrapper and quotes no data.
    internal var messageIsSafe: Bool

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: What kind of failure this is.
    ///   - message: The primary message; it appears in `description`, so it must
    ///     not contain values from the data. Default empty.
    ///   - sqlState: The SQLSTATE, if any. Default `nil`.
    ///   - query: The SQL text, without values. Default `nil`.
    ///   - file: Default: the caller's `#fileID`.
    ///   - line: Default: the caller's `#line`.
    public init(
        code: Code,
        message: String = "",
        sqlState: SQLState? = nil,
        query: String? = nil,
        file: String = #fileID,
        line: Int = #line
    ) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.query = query
        self.file = file
        self.line = line
        self.messageIsSafe = true
    }

    /// Whether the error means the connection can no longer be used.
    public var isConnectionLevel: Bool {
        if code == .connectionClosed || code == .connectionFailed { return true }
        guard let sqlState else { return false }
        return sqlState.class == "08" || sqlState == .adminShutdown || sqlState == .crashShutdown
            || sqlState == .cannotConnectNow
    }

    public var description: String {
        var text = "PostgreSQL error (\(code))"
        if let sqlState {
            text += " SQLSTATE \(sqlState.rawValue)"
            if let name = sqlState.name { text += " \(name)" }
        }
        if messageIsSafe, !message.isEmpty { text += ": \(message)" }
        return text
    }

    public var debugDescription: String {
        var parts = ["PostgresError(code: \(code)"]
        if let sqlState { parts.append("sqlState: \(sqlState.rawValue)") }
        parts.append("message: \(String(reflecting: message))")
        if let detail { parts.append("detail: \(String(reflecting: detail))") }
        if let hint { parts.append("hint: \(String(reflecting: hint))") }
        if let constraint { parts.append("constraint: \(constraint)") }
        if let table { parts.append("table: \(table)") }
        if let column { parts.append("column: \(column)") }
        if let query { parts.append("query: \(String(reflecting: query))") }
        parts.append("at: \(file):\(line))")
        return parts.joined(separator: ", ")
    }
}

extension PostgresError {
    /// An error whose message came from libpq or the server (not shown by `description`).
    static func fromLibPQ(
        _ code: Code,
        _ message: String,
        query: String? = nil,
        file: String = #fileID,
        line: Int = #line
    ) -> PostgresError {
        var error = PostgresError(code: code, message: message, query: query, file: file, line: line)
        error.messageIsSafe = false
        return error
    }

    static func decoding(_ message: String, file: String = #fileID, line: Int = #line) -> PostgresError {
        PostgresError(code: .decoding, message: message, file: file, line: line)
    }
}

/// A five-character SQLSTATE error code, such as `23505` (unique violation).
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// The class: the first two characters (`"23"` for integrity constraint violations).
    public var `class`: String { String(rawValue.prefix(2)) }

    /// PostgreSQL's condition name for the well-known codes, such as `unique_violation`.
    public var name: String? { Self.names[rawValue] }

    public var description: String { rawValue }

    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let exclusionViolation = SQLState(rawValue: "23P01")
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    public static let numericValueOutOfRange = SQLState(rawValue: "22003")
    public static let stringDataRightTruncation = SQLState(rawValue: "22001")
    public static let invalidDatetimeFormat = SQLState(rawValue: "22007")
    public static let datetimeFieldOverflow = SQLState(rawValue: "22008")
    public static let divisionByZero = SQLState(rawValue: "22012")
    public static let characterNotInRepertoire = SQLState(rawValue: "22021")
    public static let transactionRollback = SQLState(rawValue: "40000")
    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let syntaxError = SQLState(rawValue: "42601")
    public static let undefinedColumn = SQLState(rawValue: "42703")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let undefinedFunction = SQLState(rawValue: "42883")
    public static let duplicateTable = SQLState(rawValue: "42P07")
    public static let duplicateObject = SQLState(rawValue: "42710")
    public static let insufficientPrivilege = SQLState(rawValue: "42501")
    public static let lockNotAvailable = SQLState(rawValue: "55P03")
    public static let queryCanceled = SQLState(rawValue: "57014")
    public static let adminShutdown = SQLState(rawValue: "57P01")
    public static let crashShutdown = SQLState(rawValue: "57P02")
    public static let cannotConnectNow = SQLState(rawValue: "57P03")
    public static let connectionException = SQLState(rawValue: "08000")
    public static let connectionFailure = SQLState(rawValue: "08006")
    public static let tooManyConnections = SQLState(rawValue: "53300")
    public static let invalidPassword = SQLState(rawValue: "28P01")
    public static let invalidCatalogName = SQLState(rawValue: "3D000")

    private static let names: [String: String] = [
        "23502": "not_null_violation", "23503": "foreign_key_violation",
        "23505": "unique_violation", "23514": "check_violation", "23P01": "exclusion_violation",
        "22P02": "invalid_text_representation", "22003": "numeric_value_out_of_range",
        "22001": "string_data_right_truncation", "22007": "invalid_datetime_format",
        "22008": "datetime_field_overflow", "22012": "division_by_zero",
        "22021": "character_not_in_repertoire", "40000": "transaction_rollback",
        "40001": "serialization_failure", "40P01": "deadlock_detected", "42601": "syntax_error",
        "42703": "undefined_column", "42P01": "undefined_table", "42883": "undefined_function",
        "42P07": "duplicate_table", "42710": "duplicate_object", "42501": "insufficient_privilege",
        "55P03": "lock_not_available", "57014": "query_canceled", "57P01": "admin_shutdown",
        "57P02": "crash_shutdown", "57P03": "cannot_connect_now", "08000": "connection_exception",
        "08006": "connection_failure", "53300": "too_many_connections",
        "28P01": "invalid_password", "3D000": "invalid_catalog_name",
    ]
}
