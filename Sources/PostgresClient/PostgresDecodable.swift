/// A Swift type that can be decoded from a value of a result (text format).
public protocol PostgresDecodable {
    /// Decodes a non-NULL value.
    ///
    /// - Parameter cell: The value; read it with `withBytes` or `text`.
    /// - Throws: `PostgresError` with code `.decoding`, such as
    ///   `cell.decodingError(expected:)`.
    static func decode(from cell: PostgresCell) throws(PostgresError) -> Self

    /// Decodes SQL NULL. The default throws a `.decoding` error naming the
    /// column; `Optional` returns `nil`.
    static func decodeNull(from cell: PostgresCell) throws(PostgresError) -> Self
}

extension PostgresDecodable {
    public static func decodeNull(from cell: PostgresCell) throws(PostgresError) -> Self {
        throw .decoding("column \"\(cell.columnName)\" is NULL; decode it as \(Self.self)? to accept NULL")
    }
}

/// `nil` for SQL NULL.
extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Wrapped? {
        try Wrapped.decode(from: cell)
    }

    public static func decodeNull(from cell: PostgresCell) throws(PostgresError) -> Wrapped? {
        nil
    }
}

/// Any column, as its text.
extension String: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> String {
        cell.text
    }
}

/// Integer columns (`smallint`, `integer`, `bigint`, `oid`) or text holding an integer.
extension Int64: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Int64 {
        guard let value = cell.withBytes(parseInteger) else { throw cell.decodingError(expected: "Int64") }
        return value
    }
}

extension Int: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Int {
        guard let value = cell.withBytes(parseInteger), let int = Int(exactly: value) else {
            throw cell.decodingError(expected: "Int")
        }
        return int
    }
}

extension Int32: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Int32 {
        guard let value = cell.withBytes(parseInteger), let int = Int32(exactly: value) else {
            throw cell.decodingError(expected: "Int32")
        }
        return int
    }
}

extension Int16: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Int16 {
        guard let value = cell.withBytes(parseInteger), let int = Int16(exactly: value) else {
            throw cell.decodingError(expected: "Int16")
        }
        return int
    }
}

/// An optional sign and decimal digits; `nil` if anything else or out of range.
func parseInteger(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
    var index = 0
    var negative = false
    if index < bytes.count, bytes[index] == UInt8(ascii: "-") || bytes[index] == UInt8(ascii: "+") {
        negative = bytes[index] == UInt8(ascii: "-")
        index += 1
    }
    guard index < bytes.count else { return nil }
    var value: Int64 = 0
    while index < bytes.count {
        guard let digit = digitValue(bytes[index]) else { return nil }
        let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
        let (next, overflow2) =
            negative
            ? times10.subtractingReportingOverflow(Int64(digit))
            : times10.addingReportingOverflow(Int64(digit))
        guard !overflow1, !overflow2 else { return nil }
        value = next
        index += 1
    }
    return value
}

/// `double precision`, `real`, `numeric` and integer columns, including `NaN`,
/// `Infinity` and `-Infinity`.
extension Double: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Double {
        let value = cell.withBytes { bytes -> Double? in
            switch bytes.count {
            case 3 where bytes.elementsEqual("NaN".utf8): return .nan
            case 8 where bytes.elementsEqual("Infinity".utf8): return .infinity
            case 9 where bytes.elementsEqual("-Infinity".utf8): return -.infinity
            default:
                // Reject what Swift accepts but PostgreSQL never prints ("inf", hex floats).
                guard
                    bytes.allSatisfy({
                        digitValue($0) != nil || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ".")
                            || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E")
                    })
                else {
                    return nil
                }
                return Double(String(decoding: bytes, as: UTF8.self))
            }
        }
        guard let value else { throw cell.decodingError(expected: "Double") }
        return value
    }
}

extension Float: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Float {
        Float(try Double.decode(from: cell))
    }
}

/// `boolean` (`t`/`f`), or text `true`/`false`.
extension Bool: PostgresDecodable {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> Bool {
        let value = cell.withBytes { bytes -> Bool? in
            if bytes.elementsEqual("t".utf8) || bytes.elementsEqual("true".utf8) { return true }
            if bytes.elementsEqual("f".utf8) || bytes.elementsEqual("false".utf8) { return false }
            return nil
        }
        guard let value else { throw cell.decodingError(expected: "Bool") }
        return value
    }
}

/// `bytea` (hex or escape output format); any other column as its UTF-8 text bytes.
extension Array: PostgresDecodable where Element == UInt8 {
    public static func decode(from cell: PostgresCell) throws(PostgresError) -> [UInt8] {
        guard cell.type == .bytea else { return cell.withBytes { Array($0) } }
        guard let bytes = cell.withBytes(decodeBytea) else { throw cell.decodingError(expected: "[UInt8]") }
        return bytes
    }
}

/// Decodes bytea's text output: `\x` hex, or the old escape format.
func decodeBytea(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
    if text.count >= 2, text[0] == UInt8(ascii: "\\"), text[1] == UInt8(ascii: "x") {
        let hexCount = text.count - 2
        guard hexCount % 2 == 0 else { return nil }
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: hexCount / 2) { buffer, initialized in
            for index in 0..<(hexCount / 2) {
                guard let high = hexValue(text[2 + 2 * index]), let low = hexValue(text[3 + 2 * index]) else {
                    failed = true
                    break
                }
                buffer[index] = high << 4 | low
                initialized = index + 1
            }
        }
        return failed ? nil : bytes
    }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(text.count)
    var index = 0
    while index < text.count {
        let byte = text[index]
        guard byte == UInt8(ascii: "\\") else {
            bytes.append(byte)
            index += 1
            continue
        }
        if index + 1 < text.count, text[index + 1] == UInt8(ascii: "\\") {
            bytes.append(byte)
            index += 2
        } else if index + 3 < text.count, let a = digitValue(text[index + 1]), let b = digitValue(text[index + 2]),
            let c = digitValue(text[index + 3]), a < 4, b < 8, c < 8
        {
            bytes.append(a << 6 | b << 3 | c)
            index += 4
        } else {
            return nil
        }
    }
    return bytes
}
