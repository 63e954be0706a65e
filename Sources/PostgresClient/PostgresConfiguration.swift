/// Where and how to connect to PostgreSQL.
///
/// Parse it from a URL with ``init(url:)`` or fill in the fields. An empty
/// `host`, `user` or `database` means libpq's own default (a Unix socket in
/// its default folder, the OS user name, the user name).
public struct PostgresConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// How the connection negotiates TLS (libpq's `sslmode`).
    public enum SSLMode: String, Sendable, Hashable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// A host name, an IP address, or the folder of a Unix socket (starts with `/`).
    public var host: String
    /// The TCP port, or the number in the Unix socket's file name. Default 5432.
    public var port: Int
    /// The user name. Default empty: libpq's default.
    public var user: String
    /// The password. Default `nil`.
    public var password: String?
    /// The database name. Default empty: the same as the user name.
    public var database: String
    /// How long to wait for the server to accept a connection. Default 5 s;
    /// libpq counts whole seconds, at least 2.
    public var connectTimeout: Duration
    /// The name the server shows in `pg_stat_activity`. Default `"signalforge"`.
    public var applicationName: String
    /// TLS negotiation. Default `nil`: libpq's default (`prefer`).
    public var sslMode: SSLMode?
    /// Run-time settings every session starts with (`SET name = value`), such as
    /// `["search_path": "myschema"]`. `TimeZone` is always `UTC`. Default empty.
    public var serverSettings: [String: String]

    /// Creates a configuration from its parts.
    ///
    /// - Parameters:
    ///   - host: Host name, IP address or Unix socket folder. Default `"localhost"`.
    ///   - port: Default 5432.
    ///   - user: Default empty (libpq's default).
    ///   - password: Default `nil`.
    ///   - database: Default empty (the user name).
    ///   - connectTimeout: Default 5 s.
    ///   - applicationName: Default `"signalforge"`.
    public init(
        host: String = "localhost",
        port: Int = 5432,
        user: String = "",
        password: String? = nil,
        database: String = "",
        connectTimeout: Duration = .seconds(5),
        applicationName: String = "signalforge"
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.applicationName = applicationName
        self.sslMode = nil
        self.serverSettings = [:]
    }

    /// Parses a connection URL.
    ///
    /// Accepts `postgres://` and `postgresql://`
    /// `[user[:password]@][host][:port][/database][?param=value&…]`. The user,
    /// password, host and database are percent-decoded, so a Unix socket folder
    /// can be the host (`postgres://me@%2Fvar%2Frun%2Fpostgresql/db`) or a
    /// parameter (`?host=/var/run/postgresql`). IPv6 hosts go in brackets.
    /// Parameters: `sslmode`, `host`, `port`, `user`, `password`, `dbname`,
    /// `application_name`, `connect_timeout` (seconds).
    ///
    /// - Parameter url: The URL.
    /// - Throws: `PostgresError` with code `.invalidURL`; its message never
    ///   quotes the password.
    public init(url: String) throws(PostgresError) {
        self.init(host: "")
        var rest = Substring(url)
        let lower = url.lowercased()
        if lower.hasPrefix("postgresql://") {
            rest = rest.dropFirst("postgresql://".count)
        } else if lower.hasPrefix("postgres://") {
            rest = rest.dropFirst("postgres://".count)
        } else {
            throw Self.invalid("the URL must start with postgres:// or postgresql://")
        }

        var queryPart: Substring = ""
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var afterAuthority = rest[authorityEnd...]
        if let question = afterAuthority.firstIndex(of: "?") {
            queryPart = afterAuthority[afterAuthority.index(after: question)...]
            afterAuthority = afterAuthority[..<question]
        }

        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(userInfo[..<colon], what: "user name")
                password = try Self.decode(userInfo[userInfo.index(after: colon)...], what: "password")
            } else {
                user = try Self.decode(userInfo, what: "user name")
            }
        }

        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw Self.invalid("an IPv6 host is missing its closing bracket")
            }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let tail = authority[authority.index(after: close)...]
            if !tail.isEmpty {
                guard tail.hasPrefix(":") else { throw Self.invalid("unexpected text after the IPv6 host") }
                port = try Self.parsePort(tail.dropFirst())
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = try Self.decode(authority[..<colon], what: "host")
            port = try Self.parsePort(authority[authority.index(after: colon)...])
        } else {
            host = try Self.decode(authority, what: "host")
        }

        if afterAuthority.hasPrefix("/") {
            database = try Self.decode(afterAuthority.dropFirst(), what: "database name")
        }

        for pair in queryPart.split(separator: "&", omittingEmptySubsequences: true) {
            let key: String
            let value: String
            if let equals = pair.firstIndex(of: "=") {
                key = try Self.decode(pair[..<equals], what: "parameter name")
                value = try Self.decode(pair[pair.index(after: equals)...], what: "parameter value")
            } else {
                key = try Self.decode(pair, what: "parameter name")
                value = ""
            }
            switch key {
            case "sslmode":
                guard let mode = SSLMode(rawValue: value) else {
                    throw Self.invalid("unknown sslmode; expected one of disable, allow, prefer, require, verify-ca, verify-full")
                }
                sslMode = mode
            case "host": host = value
            case "port": port = try Self.parsePort(Substring(value))
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            case "application_name": applicationName = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 0 else {
                    throw Self.invalid("connect_timeout must be a whole number of seconds")
                }
                connectTimeout = .seconds(seconds)
            default:
                throw Self.invalid("unsupported URL parameter \"\(key.prefix(40))\"")
            }
        }
    }

    /// The configuration with the password replaced by `***`.
    public var description: String {
        var text = "postgres://"
        if !user.isEmpty { text += user }
        if password != nil { text += ":***" }
        if !user.isEmpty || password != nil { text += "@" }
        text += host.contains(":") ? "[\(host)]" : host
        text += ":\(port)/\(database)"
        return text
    }

    /// The keyword/value pairs for `PQconnectdbParams`, in order.
    internal var connectionParameters: [(String, String)] {
        var parameters: [(String, String)] = []
        if !host.isEmpty { parameters.append(("host", host)) }
        parameters.append(("port", String(port)))
        if !user.isEmpty { parameters.append(("user", user)) }
        if let password { parameters.append(("password", password)) }
        if !database.isEmpty { parameters.append(("dbname", database)) }
        let (wholeSeconds, attoseconds) = connectTimeout.components
        let seconds = max(2, wholeSeconds + (attoseconds > 0 ? 1 : 0))
        parameters.append(("connect_timeout", String(seconds)))
        parameters.append(("application_name", applicationName))
        parameters.append(("client_encoding", "UTF8"))
        if let sslMode { parameters.append(("sslmode", sslMode.rawValue)) }
        var settings = serverSettings
        settings["TimeZone"] = "UTC"
        // Doubles print with enough digits to read back bit for bit (shortest
        // round-trip text from PostgreSQL 12 on, 17 significant digits before).
        settings["extra_float_digits"] = "3"
        let options = settings.sorted { $0.key < $1.key }.map { key, value in
            "-c " + Self.escapeOption("\(key)=\(value)")
        }
        parameters.append(("options", options.joined(separator: " ")))
        return parameters
    }

    /// Escapes a word of libpq's `options`: spaces and backslashes take a backslash.
    private static func escapeOption(_ word: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(word.utf8.count)
        for character in word {
            if character == " " || character == "\\" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    private static func invalid(_ message: String, file: String = #fileID, line: Int = #line) -> PostgresError {
        PostgresError(code: .invalidURL, message: "invalid database URL: \(message)", file: file, line: line)
    }

    private static func parsePort(_ text: Substring) throws(PostgresError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw invalid("the port must be a number from 1 to 65535")
        }
        return port
    }

    /// Percent-decodes one URL component (UTF-8); `+` stays `+`.
    private static func decode(_ text: Substring, what: String) throws(PostgresError) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                throw invalid("bad percent-encoding in the \(what)")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw invalid("the \(what) is not valid UTF-8 after percent-decoding")
        }
        return decoded
    }
}

/// The value of one ASCII hex digit, or `nil`.
internal func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}
