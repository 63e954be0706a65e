/// Encodes Thrift structs with the compact protocol, as Parquet's file metadata
/// and page headers need. Only the writing side, only the types Parquet uses.
struct ThriftCompactWriter {
    /// Compact-protocol type codes.
    enum TType: UInt8 {
        case boolTrue = 1
        case boolFalse = 2
        case byte = 3
        case i16 = 4
        case i32 = 5
        case i64 = 6
        case double = 7
        case binary = 8
        case list = 9
        case set = 10
        case map = 11
        case `struct` = 12
    }

    private(set) var bytes: [UInt8] = []
    private var lastField: Int16 = 0
    private var stack: [Int16] = []

    init() { bytes.reserveCapacity(256) }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    mutating func zigzag(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    mutating func fieldHeader(_ id: Int16, _ type: TType) {
        let delta = id - lastField
        if delta > 0 && delta <= 15 {
            bytes.append(UInt8(delta) << 4 | type.rawValue)
        } else {
            bytes.append(type.rawValue)
            zigzag(Int64(id))
        }
        lastField = id
    }

    mutating func i32(_ id: Int16, _ v: Int32) { fieldHeader(id, .i32); zigzag(Int64(v)) }
    mutating func i64(_ id: Int16, _ v: Int64) { fieldHeader(id, .i64); zigzag(v) }
    mutating func bool(_ id: Int16, _ v: Bool) { fieldHeader(id, v ? .boolTrue : .boolFalse) }

    mutating func binary(_ id: Int16, _ v: [UInt8]) {
        fieldHeader(id, .binary)
        varint(UInt64(v.count))
        bytes.append(contentsOf: v)
    }

    mutating func string(_ id: Int16, _ v: String) { binary(id, Array(v.utf8)) }

    /// Starts a nested struct field; end it with ``endStruct()``.
    mutating func beginStruct(_ id: Int16) {
        fieldHeader(id, .struct)
        stack.append(lastField)
        lastField = 0
    }

    /// Starts a struct element of a list; end it with ``endStruct()``.
    mutating func beginListElement() {
        stack.append(lastField)
        lastField = 0
    }

    /// Writes the STOP field and returns to the enclosing struct.
    mutating func endStruct() {
        bytes.append(0)
        lastField = stack.popLast() ?? 0
    }

    /// An empty struct field (Parquet's marker structs such as `StringType`).
    mutating func emptyStruct(_ id: Int16) {
        beginStruct(id)
        endStruct()
    }

    /// A list field header; write `count` elements of `element` type after it.
    mutating func listHeader(_ id: Int16, _ element: TType, _ count: Int) {
        fieldHeader(id, .list)
        if count < 15 {
            bytes.append(UInt8(count) << 4 | element.rawValue)
        } else {
            bytes.append(0xF0 | element.rawValue)
            varint(UInt64(count))
        }
    }

    mutating func i32List(_ id: Int16, _ values: [Int32]) {
        listHeader(id, .i32, values.count)
        for v in values { zigzag(Int64(v)) }
    }

    mutating func stringList(_ id: Int16, _ values: [String]) {
        listHeader(id, .binary, values.count)
        for v in values {
            varint(UInt64(v.utf8.count))
            bytes.append(contentsOf: v.utf8)
        }
    }

    /// Appends pre-encoded bytes.
    mutating func appendBytes(_ encoded: [UInt8]) { bytes.append(contentsOf: encoded) }

    /// Ends the outermost struct (the message itself).
    mutating func finish() -> [UInt8] {
        bytes.append(0)
        return bytes
    }
}
