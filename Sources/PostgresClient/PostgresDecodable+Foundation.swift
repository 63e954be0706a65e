public import Foundation

/// `uuid` columns, or text holding a UUID.
extension UUID: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> UUID {
        guard let uuid = UUID(uuidString: cell.text) else { throw cell.decodingError(expected: "UUID") }
        return uuid
    }
}

/// `timestamptz`, `timestamp` (taken as UTC) and `date` columns, with
/// fractional seconds and UTC offsets; `infinity` is `.distantFuture` and
/// `-infinity` is `.distantPast`.
extension Date: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Date {
        guard let date = cell.withBytes(PostgresTimestamp.parse) else { throw cell.decodingError(expected: "Date") }
        return date
    }
}

/// `bytea` columns (hex or escape format); any other column as its UTF-8 text.
extension Data: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Data {
        Data(try [UInt8].decode(from: cell))
    }
}

/// `json` and `jsonb` columns (or any text), as the JSON text.
extension PostgresJSON: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> PostgresJSON {
        PostgresJSON(cell.text)
    }
}
