import Foundation
import PostgresClient
import TestSupport
import Testing

struct PostgresCopyTests {
    struct Row: Equatable {
        var id: Int64
        var ts: Date?
        var symbol: String
        var note: String?
        var payload: PostgresJSON?
    }

    /// Deterministic rows full of characters COPY must escape.
    static func makeRows(count: Int) -> [Row] {
        // Whole microseconds since the reference date: exactly representable round trips.
        let baseMicros: Int64 = 722_000_000_000_000
        let nasty = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\N", "\\.", "ünï€ode 🚀", "", "end\\"]
        return (0..<count).map { (index: Int) -> Row in
            let micros: Int64 = baseMicros + Int64(index) * 1_000_001
            let ts: Date? = index % 11 == 0 ? nil : Date(timeIntervalSinceReferenceDate: Double(micros) / 1_000_000)
            let symbol: String = "S\(index % 97)\t" + nasty[index % nasty.count]
            let note: String? = index % 5 == 0 ? nil : nasty[(index / 3) % nasty.count] + String(index)
            let json: String = #"{"i": "# + String(index) + #", "s": "a\tb\\c\n"}"#
            let payload: PostgresJSON? = index % 13 == 0 ? nil : PostgresJSON(json)
            return Row(id: Int64(index) * 7 - 300_000, ts: ts, symbol: symbol, note: note, payload: payload)
        }
    }

    @Test func copiesOneHundredThousandRowsExactly() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE bars (id bigint, ts timestamptz, symbol text, note text, payload jsonb)")
            let rows = Self.makeRows(count: 100_000)
            let copied = try connection.copyFrom("COPY bars (id, ts, symbol, note, payload) FROM STDIN") { writer in
                for row in rows {
                    writer.appendField(row.id)
                    if let ts = row.ts { writer.appendField(ts) } else { writer.appendNull() }
                    writer.appendField(row.symbol)
                    writer.appendField(row.note)
                    writer.appendField(row.payload)
                    try writer.endRow()
                }
            }
            #expect(copied == rows.count)
            let result = try connection.query("SELECT id, ts, symbol, note, payload::text FROM bars ORDER BY id")
            #expect(result.count == rows.count)
            var mismatches = 0
            for (expected, actual) in zip(rows, result) {
                let decoded = Row(
                    id: try actual.decode(0, as: Int64.self),
                    ts: try actual.decode(1, as: Date?.self),
                    symbol: try actual.decode(2, as: String.self),
                    note: try actual.decode(3, as: String?.self),
                    payload: try actual.decode(4, as: PostgresJSON?.self).map { _ in expected.payload! }
                )
                if decoded != expected { mismatches += 1 }
            }
            #expect(mismatches == 0)
            // The JSON went through jsonb: compare it by meaning on the server.
            let jsonMismatches = try connection.query(
                """
                SELECT count(*) FROM bars
                WHERE payload IS DISTINCT FROM (CASE WHEN (id + 300000) / 7 % 13 = 0 THEN NULL
                      ELSE jsonb_build_object('i', (id + 300000) / 7, 's', E'a\\tb\\\\c\\n') END)
                """)
            #expect(try jsonMismatches[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test func appendRowWritesValuesAndNulls() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE t (a int, b text, c bytea, d boolean, e uuid, f double precision)")
            let uuid = UUID()
            let copied = try connection.copyFrom(table: "t", columns: ["a", "b", "c", "d", "e", "f"]) { writer in
                try writer.appendRow([
                    PostgresValue(1), PostgresValue("x\ty"), PostgresValue([UInt8]([0, 92, 255])), PostgresValue(true), PostgresValue(uuid),
                    PostgresValue(Double.nan),
                ])
                try writer.appendRow([nil, nil, nil, nil, nil, nil])
                writer.appendField(Int32(3))
                writer.appendNull()
                writer.appendField(bytes: Data([1, 2]))
                writer.appendField(false)
                writer.appendField(uuid)
                writer.appendField(-Double.infinity)
                try writer.endRow()
            }
            #expect(copied == 3)
            let rows = try connection.query("SELECT a, b, c, d, e, f FROM t ORDER BY a NULLS LAST, b NULLS LAST")
            #expect(try rows[0].decode(0, as: Int.self) == 1)
            #expect(try rows[0].decode(1, as: String.self) == "x\ty")
            #expect(try rows[0].decode(2, as: [UInt8].self) == [0, 92, 255])
            #expect(try rows[0].decode(3, as: Bool.self))
            #expect(try rows[0].decode(4, as: UUID.self) == uuid)
            #expect(try rows[0].decode(5, as: Double.self).isNaN)
            #expect(try rows[1].decode(2, as: [UInt8].self) == [1, 2])
            #expect(try rows[1].decode(1, as: String?.self) == nil)
            #expect(try rows[1].decode(5, as: Double.self) == -.infinity)
            #expect(rows[2].isNull(0) && rows[2].isNull(5))
        }
    }

    @Test func aThrowingWriterAbortsTheCopy() throws {
        struct Stop: Error {}
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE t (a int)")
            #expect(throws: Stop.self) {
                try connection.copyFrom("COPY t (a) FROM STDIN") { writer in
                    for index in 0..<50_000 {
                        writer.appendField(index)
                        try writer.endRow()
                    }
                    throw Stop()
                }
            }
            #expect(try connection.query("SELECT count(*) FROM t")[0].decode(0, as: Int.self) == 0)
            #expect(connection.ping())
        }
    }

    @Test func badDataFailsWithTheServersSQLState() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE t (a int)")
            do {
                _ = try connection.copyFrom("COPY t (a) FROM STDIN") { writer in
                    writer.appendField("not a number")
                    try writer.endRow()
                }
                Issue.record("bad data accepted")
            } catch let error as PostgresError {
                #expect(error.sqlState == .invalidTextRepresentation)
            }
            #expect(connection.ping())
            #expect(throws: PostgresError.self) {
                try connection.copyFrom("COPY t (a) FROM STDIN") { writer in writer.appendField(1) }  // row not ended
            }
            #expect(throws: PostgresError.self) {
                try connection.copyFrom("SELECT 1") { _ in }
            }
            #expect(try connection.query("SELECT count(*) FROM t")[0].decode(0, as: Int.self) == 0)
            #expect(connection.ping())
        }
    }
}
