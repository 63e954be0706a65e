public import Foundation

/// A JSON document stored as `jsonb` (or read from a `json`/`jsonb` column),
/// kept as its text.
public struct PostgresJSON: Sendable, Hashable, CustomStringConvertible {
    /// The JSON text.
    public var text: String

    /// Wraps JSON text; it is not validated here (the server rejects invalid JSON).
    public init(_ text: String) {
        self.text = text
    }

    /// Wraps UTF-8 JSON bytes; invalid UTF-8 is repaired with U+FFFD.
    public init(data: Data) {
        self.text = String(decoding: data, as: UTF8.self)
    }

    /// Encodes a value with `JSONEncoder`.
    ///
    /// - Parameters:
    ///   - value: The value to encode.
    ///   - encoder: Default: a new `JSONEncoder` with sorted keys.
    /// - Throws: What `JSONEncoder.encode` throws.
    public init(encoding value: some Encodable, encoder: JSONEncoder? = nil) throws {
        let encoder =
            encoder
            ?? {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                return encoder
            }()
        self.init(data: try encoder.encode(value))
    }

    /// The UTF-8 bytes of the JSON text.
    public var data: Data { Data(text.utf8) }

    /// Decodes the JSON with `JSONDecoder`.
    ///
    /// - Parameters:
    ///   - type: The type to decode.
    ///   - decoder: Default: a new `JSONDecoder`.
    /// - Throws: What `JSONDecoder.decode` throws.
    public func decode<T: Decodable>(as type: T.Type = T.self, decoder: JSONDecoder? = nil) throws -> T {
        try (decoder ?? JSONDecoder()).decode(type, from: data)
    }

    public var description: String { text }
}

/// Sent as `jsonb`.
extension PostgresJSON: PostgresEncodable {
    public var postgresValue: PostgresValue { PostgresValue(text: text, type: .jsonb) }
}
