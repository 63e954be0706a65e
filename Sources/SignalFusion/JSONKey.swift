/// A coding key for any string: lets the config decoders list and reject
/// unknown members.
struct JSONKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where Key == JSONKey {
    /// Decodes a number; a value of another type is a ``FusionError`` naming `field`.
    func fusionNumber(_ key: JSONKey, field: String) throws(FusionError) -> Double {
        do { return try decode(Double.self, forKey: key) } catch {
            throw FusionError(.invalidConfiguration, field: field, reason: "must be a number")
        }
    }

    /// Decodes an integer; a value of another type is a ``FusionError`` naming `field`.
    func fusionInteger(_ key: JSONKey, field: String) throws(FusionError) -> Int {
        do { return try decode(Int.self, forKey: key) } catch {
            throw FusionError(.invalidConfiguration, field: field, reason: "must be an integer")
        }
    }
}
