/// A PostgreSQL type OID. Internal: callers never see OIDs.
struct PostgresDataType: RawRepresentable, Hashable, Sendable {
    var rawValue: UInt32

    init(rawValue: UInt32) { self.rawValue = rawValue }

    /// "Let the server infer the type from the context" (OID 0).
    static let unspecified = PostgresDataType(rawValue: 0)
    static let bool = PostgresDataType(rawValue: 16)
    static let bytea = PostgresDataType(rawValue: 17)
    static let char = PostgresDataType(rawValue: 18)
    static let name = PostgresDataType(rawValue: 19)
    static let int8 = PostgresDataType(rawValue: 20)
    static let int2 = PostgresDataType(rawValue: 21)
    static let int4 = PostgresDataType(rawValue: 23)
    static let text = PostgresDataType(rawValue: 25)
    static let oid = PostgresDataType(rawValue: 26)
    static let json = PostgresDataType(rawValue: 114)
    static let float4 = PostgresDataType(rawValue: 700)
    static let float8 = PostgresDataType(rawValue: 701)
    static let bpchar = PostgresDataType(rawValue: 1042)
    static let varchar = PostgresDataType(rawValue: 1043)
    static let date = PostgresDataType(rawValue: 1082)
    static let timestamp = PostgresDataType(rawValue: 1114)
    static let timestamptz = PostgresDataType(rawValue: 1184)
    static let numeric = PostgresDataType(rawValue: 1700)
    static let uuid = PostgresDataType(rawValue: 2950)
    static let jsonb = PostgresDataType(rawValue: 3802)

    /// The SQL name, for error messages.
    var name: String {
        switch self {
        case .unspecified: "unknown"
        case .bool: "boolean"
        case .bytea: "bytea"
        case .char: "\"char\""
        case .name: "name"
        case .int8: "bigint"
        case .int2: "smallint"
        case .int4: "integer"
        case .text: "text"
        case .oid: "oid"
        case .json: "json"
        case .float4: "real"
        case .float8: "double precision"
        case .bpchar: "character"
        case .varchar: "character varying"
        case .date: "date"
        case .timestamp: "timestamp"
        case .timestamptz: "timestamptz"
        case .numeric: "numeric"
        case .uuid: "uuid"
        case .jsonb: "jsonb"
        default: "type oid \(rawValue)"
        }
    }
}
