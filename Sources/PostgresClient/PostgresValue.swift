/// One non-NULL value bound to a query parameter or written to a COPY row, in
/// PostgreSQL's text format with the type it is sent as.
///
/// Make one from any ``PostgresEncodable`` value, or with ``init(text:)`` for a
/// value whose type the server should infer from the statement (an enum label,
/// say). `nil` (an `Optional<PostgresValue>`) is SQL NULL.
public struct PostgresValue: Sendable, Hashable, CustomDebugStringConvertible {
    /// The value in PostgreSQL's text input format.
    public let text: String
    /// The parameter type sent to the server.
    internal let type: PostgresDataType

    internal init(text: String, type: PostgresDataType) {
        self.text = text
        self.type = type
    }

    /// A value in PostgreSQL's text input format whose type the server infers
    /// from where it is used.
    ///
    /// - Parameter text: The value as PostgreSQL would parse it, such as `"42"`
    ///   or `"{1,2,3}"`.
    public init(text: String) {
        self.init(text: text, type: .unspecified)
    }

    /// The value of a ``PostgresEncodable``.
    public init(_ value: some PostgresEncodable) {
        self = value.postgresValue
    }

    public var debugDescription: String { "\(String(reflecting: text))::\(type.name)" }
}

/// A Swift type that can be sent to PostgreSQL as a parameter or COPY field.
public protocol PostgresEncodable {
    /// The value in PostgreSQL's text format, with its type.
    var postgresValue: PostgresValue { get }
}

extension PostgresValue: PostgresEncodable {
    public var postgresValue: PostgresValue { self }
}

/// Strings are sent with an unspecified type, so the server reads them as
/// whatever the context needs (`text`, `varchar`, an enum, `uuid`, `jsonb`…).
extension String: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: self, type: .unspecified) }
}

extension Substring: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: String(self), type: .unspecified) }
}

/// Sent as `bigint`. Columns of any integer type accept it, but a function
/// declared with an `integer` parameter does not: pass `Int32` (or cast, `\(n)::int`).
extension Int: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: String(self), type: .int8) }
}

/// Sent as `bigint`.
extension Int64: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: String(self), type: .int8) }
}

/// Sent as `integer`.
extension Int32: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: String(self), type: .int4) }
}

/// Sent as `smallint`.
extension Int16: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: String(self), type: .int2) }
}

/// Sent as `double precision`; NaN and the infinities are sent as
/// `NaN`, `Infinity` and `-Infinity`.
extension Double: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: postgresText, type: .float8) }

    /// The text PostgreSQL reads back as the same `float8`.
    internal var postgresText: String {
        if isNaN { return "NaN" }
        if isInfinite { return self < 0 ? "-Infinity" : "Infinity" }
        return description
    }
}

/// Sent as `double precision`.
extension Float: PostgresEncodable {
    public var postgresValue: PostgresValue { Double(self).postgresValue }
}

/// Sent as `boolean`.
extension Bool: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: self ? "true" : "false", type: .bool) }
}

/// Sent as `bytea` (hex format).
extension Array: PostgresEncodable where Element == UInt8 {
    public var postgresValue: PostgresValue { PostgresValue(text: byteaHex(self), type: .bytea) }
}

/// `\x` followed by two lowercase hex digits per byte: bytea's hex format.
internal func byteaHex(_ bytes: some Collection<UInt8>) -> String {
    let digits: StaticString = "0123456789abcdef"
    return String(unsafeUninitializedCapacity: 2 + 2 * bytes.count) { buffer in
        buffer[0] = UInt8(ascii: "\\")
        buffer[1] = UInt8(ascii: "x")
        var index = 2
        digits.withUTF8Buffer { hex in
            for byte in bytes {
                buffer[index] = hex[Int(byte >> 4)]
                buffer[index + 1] = hex[Int(byte & 0x0F)]
                index += 2
            }
        }
        return index
    }
}
