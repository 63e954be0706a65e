import Foundation
import Testing

@testable import PostgresClient

struct PostgresQueryTests {
    @Test func interpolationsBecomeNumberedBinds() {
        let id = 42
        let name = "Robert'); DROP TABLE students;--"
        let query: PostgresQuery = "SELECT * FROM users WHERE id = \(id) AND name = \(name) AND active = \(true)"
        #expect(query.sql == "SELECT * FROM users WHERE id = $1 AND name = $2 AND active = $3")
        #expect(query.binds.count == 3)
        #expect(query.binds[0]?.text == "42")
        #expect(query.binds[0]?.type == .int8)
        #expect(query.binds[1]?.text == name)
        #expect(query.binds[1]?.type == .unspecified)
        #expect(query.binds[2]?.text == "true")
        #expect(query.binds[2]?.type == .bool)
    }

    @Test func optionalsBindNull() {
        let missing: String? = nil
        let present: Int32? = 7
        let query: PostgresQuery = "INSERT INTO t VALUES (\(missing), \(present))"
        #expect(query.sql == "INSERT INTO t VALUES ($1, $2)")
        #expect(query.binds[0] == nil)
        #expect(query.binds[1]?.text == "7")
        #expect(query.binds[1]?.type == .int4)
    }

    @Test func unsafeSQLIsSplicedVerbatim() {
        let table = "bars_2024"
        let query: PostgresQuery = "SELECT count(*) FROM \(unsafeSQL: table) WHERE symbol = \("AAPL")"
        #expect(query.sql == "SELECT count(*) FROM bars_2024 WHERE symbol = $1")
        #expect(query.binds.count == 1)
    }

    @Test func aPlainLiteralHasNoBinds() {
        let query: PostgresQuery = "SELECT 1"
        #expect(query.sql == "SELECT 1")
        #expect(query.binds.isEmpty)
    }

    @Test func eachTypeHasItsTextAndType() throws {
        let uuid = try #require(UUID(uuidString: "6F1D2C3B-4A59-4E6F-8A7B-9C0D1E2F3A4B"))
        let date = Date(timeIntervalSince1970: 1_700_000_000.123456)
        let query: PostgresQuery = """
            SELECT \(Int64(-9_223_372_036_854_775_808)), \(Int16(3)), \(2.5), \(Double.nan), \(Double.infinity), \
            \(-Double.infinity), \(uuid), \(date), \([UInt8]([0, 1, 0xAB, 0xFF])), \(Data([0x10])), \(PostgresJSON(#"{"a":1}"#))
            """
        let binds = query.binds.map { $0! }
        #expect(
            binds.map(\.text) == [
                "-9223372036854775808", "3", "2.5", "NaN", "Infinity", "-Infinity",
                "6F1D2C3B-4A59-4E6F-8A7B-9C0D1E2F3A4B", "2023-11-14 22:13:20.123456+00", "\\x0001abff", "\\x10", #"{"a":1}"#,
            ])
        #expect(binds.map(\.type) == [.int8, .int2, .float8, .float8, .float8, .float8, .uuid, .timestamptz, .bytea, .bytea, .jsonb])
        #expect(query.sql.hasSuffix("$11"))
    }

    @Test func initWithUnsafeSQLKeepsBinds() {
        let query = PostgresQuery(unsafeSQL: "SELECT $1::int + $2", binds: [PostgresValue(1), nil])
        #expect(query.sql == "SELECT $1::int + $2")
        #expect(query.binds == [PostgresValue(1), nil])
    }

    @Test func timestampsFormatAndParseToTheMicrosecond() throws {
        // Date (a Double of seconds since 2001) holds whole microseconds exactly
        // within about 270 years of 2001; whole seconds much further.
        for micros: Int64 in [
            0, 1, -1, 1_700_000_000_123_456, 4_102_444_799_999_999, -62_135_596_800_000_000, 253_402_300_799_000_000, 951_782_400_000_001,
        ] {
            let date = PostgresTimestamp.date(microsecondsSince1970: micros)
            let text = PostgresTimestamp.format(date)
            let parsed = try #require(Array(text.utf8).withUnsafeBufferPointer(PostgresTimestamp.parse), "\(text)")
            #expect(PostgresTimestamp.microsecondsSince1970(parsed) == micros, "\(text)")
        }
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 0)) == "1970-01-01 00:00:00.000000+00")
        #expect(PostgresTimestamp.format(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29 00:00:00.000000+00")
    }

    @Test(arguments: [
        ("2024-05-06 07:08:09.123456+00", 1_714_979_289_123_456 as Int64),
        ("2024-05-06 07:08:09+00", 1_714_979_289_000_000),
        ("2024-05-06 09:38:09.5+02:30", 1_714_979_289_500_000),
        ("2024-05-06 00:08:09-07", 1_714_979_289_000_000),
        ("2024-05-06T07:08:09Z", 1_714_979_289_000_000),
        ("2024-05-06 07:08:09.1234567", 1_714_979_289_123_457),
        ("2024-05-06", 1_714_953_600_000_000),
        ("0001-01-01 00:00:00+00", -62_135_596_800_000_000),
    ])
    func parsesTimestampVariants(text: String, micros: Int64) throws {
        let date = try #require(Array(text.utf8).withUnsafeBufferPointer(PostgresTimestamp.parse))
        #expect(PostgresTimestamp.microsecondsSince1970(date) == micros)
    }

    @Test func rejectsMalformedTimestamps() {
        for text in ["", "2024", "2024-13-01", "2024-05-06 7:08:09", "2024-05-06 07:08:09+", "yesterday"] {
            #expect(Array(text.utf8).withUnsafeBufferPointer(PostgresTimestamp.parse) == nil, "\(text)")
        }
    }

    @Test func decodesByteaFormats() {
        #expect(Array("\\x00ff10".utf8).withUnsafeBufferPointer(decodeBytea) == [0, 255, 16])
        #expect(Array("\\x".utf8).withUnsafeBufferPointer(decodeBytea) == [])
        #expect(Array("a\\\\b\\001".utf8).withUnsafeBufferPointer(decodeBytea) == [97, 92, 98, 1])
        #expect(Array("\\x0".utf8).withUnsafeBufferPointer(decodeBytea) == nil)
    }

    @Test func parsesIntegersStrictly() {
        #expect(Array("-9223372036854775808".utf8).withUnsafeBufferPointer(parseInteger) == .min)
        #expect(Array("9223372036854775808".utf8).withUnsafeBufferPointer(parseInteger) == nil)
        #expect(Array("12a".utf8).withUnsafeBufferPointer(parseInteger) == nil)
        #expect(Array("-".utf8).withUnsafeBufferPointer(parseInteger) == nil)
    }

    @Test func errorDescriptionHidesServerTextButDebugDescriptionHasIt() {
        var error = PostgresError.fromLibPQ(.server, "duplicate key value violates unique constraint", query: "INSERT INTO t VALUES ($1)")
        error.sqlState = .uniqueViolation
        error.detail = "Key (email)=(secret@example.com) already exists."
        #expect(error.description == "PostgreSQL error (server) SQLSTATE 23505 unique_violation")
        #expect(!error.description.contains("secret@example.com"))
        #expect(error.debugDescription.contains("secret@example.com"))
        #expect(error.debugDescription.contains("INSERT INTO t VALUES ($1)"))
        let own = PostgresError(code: .poolExhausted, message: "all 10 connections are in use; waited 5 s")
        #expect(own.description == "PostgreSQL error (poolExhausted): all 10 connections are in use; waited 5 s")
    }
}
