public import Foundation

/// Sent as `uuid`.
extension UUID: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: uuidString, type: .uuid) }
}

/// Sent as `timestamptz` in UTC with microsecond precision
/// (`2024-05-06 07:08:09.123456+00`); finer fractions are rounded.
extension Date: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: PostgresTimestamp.format(self), type: .timestamptz) }
}

/// Sent as `bytea` (hex format).
extension Data: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: byteaHex(self), type: .bytea) }
}
