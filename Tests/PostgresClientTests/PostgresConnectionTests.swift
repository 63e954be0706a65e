import Foundation
import PostgresClient
import TestSupport
import Testing

/// Runs `body` on a connection whose search path is a fresh schema, then drops it.
func withTestSchema<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
    let schema = try TestDatabase.makeSchema()
    defer { try? TestDatabase.dropSchema(schema) }
    let connection = try TestDatabase.connect(schema: schema)
    defer { connection.close() }
    return try body(connection)
}

/// Sends a value as a parameter, casts it on the server, and decodes it back.
func echo<T: PostgresEncodable & PostgresDecodable>(_ value: T, as sqlType: String, on connection: PostgresConnection) throws -> T {
    let rows = try connection.query("SELECT \(value)::\(unsafeSQL: sqlType) AS v")
    return try #require(rows.first).decode(0, as: T.self)
}

struct PostgresConnectionTests {
    @Test func sessionsRunInUTCWithUTF8() throws {
        let connection = try TestDatabase.connect()
        defer { connection.close() }
        let rows = try connection.query(
            "SELECT current_setting('TimeZone'), current_setting('client_encoding'), current_setting('application_name')")
        let row = try #require(rows.first)
        #expect(try row.decode(0, as: String.self) == "UTC")
        #expect(try row.decode(1, as: String.self) == "UTF8")
        #expect(try row.decode(2, as: String.self) == "signalforge")
        #expect(connection.isOpen)
        #expect(connection.processID > 0)
        #expect(connection.serverVersion >= 100_000)
    }

    @Test func roundTripsScalars() throws {
        let connection = try TestDatabase.connect()
        defer { connection.close() }
        for value in ["", "plain", "héllo wörld — 日本語 🚀", "tab\tnew\nline\\back'quote\"", "$1 $2 ? %s"] {
            #expect(try echo(value, as: "text", on: connection) == value)
        }
        for value in [0, 1, -1, Int.max, Int.min] {
            #expect(try echo(value, as: "bigint", on: connection) == value)
        }
        for value in [Int32.max, Int32.min, 0] {
            #expect(try echo(value, as: "integer", on: connection) == value)
        }
        for value in [Int64.max, Int64.min] {
            #expect(try echo(value, as: "bigint", on: connection) == value)
        }
        for value in [0.0, -0.0, 1.5, -2.25e-300, 1.7976931348623157e308, 0.1 + 0.2, .infinity, -.infinity] {
            let back = try echo(value, as: "double precision", on: connection)
            #expect(back == value && back.sign == value.sign, "\(value)")
        }
        #expect(try echo(Double.nan, as: "double precision", on: connection).isNaN)
        #expect(try echo(true, as: "boolean", on: connection) == true)
        #expect(try echo(false, as: "boolean", on: connection) == false)
        let uuid = UUID()
        #expect(try echo(uuid, as: "uuid", on: connection) == uuid)
        #expect(try echo(uuid.uuidString.lowercased(), as: "uuid", on: connection) == uuid.uuidString.lowercased())
    }

    @Test func roundTripsDatesToTheMicrosecond() throws {
        let connection = try TestDatabase.connect()
        defer { connection.close() }
        let dates = [
            Date(timeIntervalSinceReferenceDate: 737_000_000.123456),
            Date(timeIntervalSince1970: 0),
            Date(timeIntervalSince1970: -1.000001),
            Date(timeIntervalSince1970: 4_102_444_799.999999),
        ]
        for date in dates {
            let back = try echo(date, as: "timestamptz", on: connection)
            #expect(abs(back.timeIntervalSince(date)) < 0.5e-6, "\(date) came back as \(back)")
        }
        let microseconds = try #require(
            try connection.query("SELECT extract(microseconds FROM \(dates[0])::timestamptz)::bigint % 1000000").first)
        #expect(try microseconds.decode(0, as: Int.self) == 123_456)
        let row = try #require(
            try connection.query(
                """
                SELECT '2024-05-06 07:08:09.5'::timestamp, '2024-05-06'::date, 'infinity'::timestamptz,
                       '2024-05-06 07:08:09+05:30'::timestamptz::text
                """
            ).first)
        #expect(try row.decode(0, as: Date.self) == Date(timeIntervalSince1970: 1_714_979_289.5))
        #expect(try row.decode(1, as: Date.self) == Date(timeIntervalSince1970: 1_714_953_600))
        #expect(try row.decode(2, as: Date.self) == .distantFuture)
        #expect(try row.decode(3, as: Date.self) == Date(timeIntervalSince1970: 1_714_979_289 - 19_800))
    }

    @Test func roundTripsBytesAndJSON() throws {
        let connection = try TestDatabase.connect()
        defer { connection.close() }
        let everyByte = (0...255).map(UInt8.init)
        #expect(try echo(everyByte, as: "bytea", on: connection) == everyByte)
        #expect(try echo([UInt8](), as: "bytea", on: connection) == [])
        #expect(try echo(Data([0, 0x5C, 0xFF]), as: "bytea", on: connection) == Data([0, 0x5C, 0xFF]))
        let json = PostgresJSON(#"{"b": [1, 2.5, null], "a": "x\ty \"q\" ☃"}"#)
        let back = try echo(json, as: "jsonb", on: connection)
        #expect(back.text == #"{"a": "x\ty \"q\" ☃", "b": [1, 2.5, null]}"#)
        struct Payload: Codable, Equatable { var name: String; var values: [Double] }
        let payload = Payload(name: "ema", values: [1, 2])
        #expect(try echo(try PostgresJSON(encoding: payload), as: "jsonb", on: connection).decode(as: Payload.self) == payload)
    }

    @Test func storesAndReadsEveryTypeIncludingNull() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(
                unsafeSQL: """
                    CREATE TABLE everything (
                        id serial PRIMARY KEY, t text, i8 bigint, i4 integer, f8 double precision, b boolean,
                        u uuid, ts timestamptz, by bytea, j jsonb
                    )
                    """)
            let uuid = UUID()
            let date = Date(timeIntervalSince1970: 1_700_000_000.654321)
            let inserted = try connection.execute(
                """
                INSERT INTO everything (t, i8, i4, f8, b, u, ts, by, j)
                VALUES (\("ünïcode"), \(Int64(1) << 40), \(Int32(-5)), \(Double.nan), \(true), \(uuid), \(date), \([UInt8]()), \(PostgresJSON("[]")))
                """)
            #expect(inserted == 1)
            let nothing: String? = nil
            try connection.execute(
                """
                INSERT INTO everything (t, i8, i4, f8, b, u, ts, by, j)
                VALUES (\(nothing), \(nil as Int64?), \(nil as Int32?), \(nil as Double?), \(nil as Bool?),
                        \(nil as UUID?), \(nil as Date?), \(nil as [UInt8]?), \(nil as PostgresJSON?))
                """)
            let rows = try connection.query("SELECT t, i8, i4, f8, b, u, ts, by, j FROM everything ORDER BY id")
            #expect(rows.count == 2)
            #expect(rows.columns == ["t", "i8", "i4", "f8", "b", "u", "ts", "by", "j"])
            let full = rows[0]
            #expect(try full.decode("t", as: String.self) == "ünïcode")
            #expect(try full.decode("i8", as: Int64.self) == 1 << 40)
            #expect(try full.decode("i4", as: Int32.self) == -5)
            #expect(try full.decode("f8", as: Double.self).isNaN)
            #expect(try full.decode("b", as: Bool.self))
            #expect(try full.decode("u", as: UUID.self) == uuid)
            #expect(abs(try full.decode("ts", as: Date.self).timeIntervalSince(date)) < 0.5e-6)
            #expect(try full.decode("by", as: [UInt8].self) == [])
            #expect(try full.decode("j", as: PostgresJSON.self).text == "[]")
            let empty = rows[1]
            for column in 0..<9 { #expect(empty.isNull(column)) }
            #expect(try empty.decode("t", as: String?.self) == nil)
            #expect(try empty.decode("i8", as: Int64?.self) == nil)
            #expect(try empty.decode("ts", as: Date?.self) == nil)
            #expect(try empty.decode("by", as: [UInt8]?.self) == nil)
            #expect(try empty.decode("j", as: PostgresJSON?.self) == nil)
            #expect(try full.decode("i4", as: Int32?.self) == -5)
        }
    }

    @Test func decodingErrorsNameTheColumn() throws {
        let connection = try TestDatabase.connect()
        defer { connection.close() }
        let row = try #require(
            try connection.query("SELECT NULL::text AS nickname, 'abc'::text AS amount, 3000000000::bigint AS big").first)
        do {
            _ = try row.decode("nickname", as: String.self)
            Issue.record("NULL decoded as non-optional")
        } catch {
            #expect(error.code == .decoding)
            #expect(error.message.contains("nickname"))
        }
        do {
            _ = try row.decode("amount", as: Int.self)
            Issue.record("'abc' decoded as Int")
        } catch {
            #expect(error.code == .decoding)
            #expect(error.message.contains("amount"))
            #expect(!error.description.contains("abc"))
        }
        #expect(throws: PostgresError.self) { try row.decode("big", as: Int32.self) }
        #expect(throws: PostgresError.self) { try row.decode("missing", as: String.self) }
        #expect(throws: PostgresError.self) { try row.decode(9, as: String.self) }
        #expect(throws: PostgresError.self) { try row.decode("Nickname", as: String?.self) }
    }

    @Test func injectionStringsAreStoredVerbatim() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE students (id serial PRIMARY KEY, name text NOT NULL)")
            let nasty = [
                "Robert'); DROP TABLE students;--",
                "' OR '1'='1",
                "\\'; DROP TABLE students; --",
                "$1",
                "$$; DROP TABLE students; $$",
                "E'\\x41'",
                "\"; DELETE FROM students; --",
                "back\\\\slash \\ and 'quotes'' and \"doubles\"",
            ]
            for name in nasty {
                try connection.execute("INSERT INTO students (name) VALUES (\(name))")
            }
            let rows = try connection.query("SELECT name FROM students ORDER BY id")
            #expect(try rows.map { try $0.decode(0, as: String.self) } == nasty)
            let matches = try connection.query("SELECT count(*) FROM students WHERE name = \(nasty[1])")
            #expect(try matches[0].decode(0, as: Int.self) == 1)
            let table = try connection.query("SELECT to_regclass('students') IS NOT NULL")
            #expect(try table[0].decode(0, as: Bool.self))
        }
    }

    @Test func serverErrorsCarrySQLState() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(
                unsafeSQL: """
                    CREATE TABLE users (id int PRIMARY KEY, email text NOT NULL CONSTRAINT users_email_key UNIQUE,
                                        age int CHECK (age >= 0))
                    """)
            try connection.execute("INSERT INTO users VALUES (1, \("a@example.com"), 30)")
            do {
                try connection.execute("INSERT INTO users VALUES (2, \("a@example.com"), 40)")
                Issue.record("duplicate accepted")
            } catch let error as PostgresError {
                #expect(error.code == .server)
                #expect(error.sqlState == .uniqueViolation)
                #expect(error.sqlState?.rawValue == "23505")
                #expect(error.constraint == "users_email_key")
                #expect(error.table == "users")
                #expect(error.detail?.contains("already exists") == true)
                #expect(error.query == "INSERT INTO users VALUES (2, $1, 40)")
                #expect(!error.description.contains("a@example.com"))
                #expect(error.debugDescription.contains("a@example.com"))
                #expect(!error.isConnectionLevel)
            }
            #expect(throws: PostgresError.self) { try connection.execute("INSERT INTO users VALUES (3, NULL, 1)") }
            do { try connection.execute("INSERT INTO users VALUES (3, NULL, 1)") } catch let error as PostgresError {
                #expect(error.sqlState == .notNullViolation)
            }
            do { try connection.execute("INSERT INTO users VALUES (3, 'b', -1)") } catch let error as PostgresError {
                #expect(error.sqlState == .checkViolation)
            }
            do { try connection.execute("SELECT \("abc")::int") } catch let error as PostgresError {
                #expect(error.sqlState == .invalidTextRepresentation)
            }
            do { try connection.execute("SELECT * FROM no_such_table") } catch let error as PostgresError {
                #expect(error.sqlState == .undefinedTable)
            }
            do { try connection.execute("SELEC 1") } catch let error as PostgresError {
                #expect(error.sqlState == .syntaxError)
                #expect(error.message.contains("syntax"))
            }
            #expect(connection.ping())
        }
    }

    @Test func transactionsCommitAndRollBackOnThrow() throws {
        struct Abort: Error {}
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE items (name text)")
            let committed = try connection.withTransaction { transaction in
                try transaction.execute("INSERT INTO items VALUES (\("kept"))")
            }
            #expect(committed == 1)
            #expect(throws: Abort.self) {
                try connection.withTransaction { transaction in
                    try transaction.execute("INSERT INTO items VALUES (\("gone"))")
                    try transaction.execute("INSERT INTO items VALUES (\("gone too"))")
                    throw Abort()
                }
            }
            let names = try connection.query("SELECT name FROM items ORDER BY name").map { try $0.decode(0, as: String.self) }
            #expect(names == ["kept"])
            #expect(connection.ping())
        }
    }

    @Test func aCommitThatRollsBackThrows() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE items (id int PRIMARY KEY)")
            do {
                try connection.withTransaction { transaction in
                    try transaction.execute("INSERT INTO items VALUES (1)")
                    _ = try? transaction.execute("INSERT INTO items VALUES (1)")  // fails; error swallowed
                }
                Issue.record("COMMIT of a failed transaction reported success")
            } catch let error as PostgresError {
                #expect(error.code == .transactionRolledBack)
            }
            #expect(try connection.query("SELECT count(*) FROM items")[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test func nestedTransactionsUseSavepoints() throws {
        struct Abort: Error {}
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TABLE items (name text)")
            try connection.withTransaction { outer in
                try outer.execute("INSERT INTO items VALUES ('outer')")
                _ = try? outer.withTransaction { inner in
                    try inner.execute("INSERT INTO items VALUES ('inner')")
                    throw Abort()
                }
                try outer.execute("INSERT INTO items VALUES ('after')")
            }
            let names = try connection.query("SELECT name FROM items ORDER BY name").map { try $0.decode(0, as: String.self) }
            #expect(names == ["after", "outer"])
        }
    }

    @Test func simpleQueryRunsSeveralStatements() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(
                unsafeSQL: """
                    CREATE TABLE a (x int); INSERT INTO a VALUES (1), (2);
                    CREATE TABLE b (y text); INSERT INTO b VALUES ('z');
                    """)
            #expect(try connection.query("SELECT sum(x) FROM a")[0].decode(0, as: Int.self) == 3)
            #expect(try connection.execute("UPDATE a SET x = x + 1") == 2)
            #expect(try connection.execute("DELETE FROM a WHERE x = \(3)") == 1)
        }
    }

    @Test func stringsBindToWhateverTypeTheContextNeeds() throws {
        try withTestSchema { connection in
            try connection.simpleQuery(unsafeSQL: "CREATE TYPE mood AS ENUM ('calm', 'busy'); CREATE TABLE t (id uuid, m mood, n numeric)")
            let id = UUID()
            try connection.execute("INSERT INTO t VALUES (\(id.uuidString), \("busy"), \(2.5))")
            let row = try #require(try connection.query("SELECT id, m, n FROM t WHERE id = \(id.uuidString)").first)
            #expect(try row.decode(0, as: UUID.self) == id)
            #expect(try row.decode(1, as: String.self) == "busy")
            #expect(try row.decode(2, as: Double.self) == 2.5)
        }
    }

    @Test func aNULCharacterIsRefusedNotTruncated() throws {
        let connection = try TestDatabase.connect()
        defer { connection.close() }
        do {
            _ = try connection.query("SELECT \("before\u{0}after")::text")
            Issue.record("NUL accepted")
        } catch {
            #expect(error.code == .encoding)
        }
        #expect(connection.ping())
    }

    @Test func listenAndNotifyAcrossConnections() throws {
        let listener = try TestDatabase.connect()
        let sender = try TestDatabase.connect()
        defer {
            listener.close()
            sender.close()
        }
        let channel = "Jobs \"\(UUID().uuidString.prefix(8))\""
        try listener.listen(channel)
        try sender.notify(channel, payload: "first 🚀")
        try sender.notify("someone-else", payload: "ignored")
        try sender.notify(channel, payload: "second")
        let first = try #require(try listener.waitForNotification(timeout: .seconds(5)))
        #expect(first.channel == channel)
        #expect(first.payload == "first 🚀")
        #expect(first.pid == sender.processID)
        let second = try #require(try listener.waitForNotification(timeout: .seconds(5)))
        #expect(second.payload == "second")

        let start = ContinuousClock.now
        #expect(try listener.waitForNotification(timeout: .milliseconds(300)) == nil)
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(250) && waited < .seconds(2), "waited \(waited)")

        try sender.notify(channel, payload: "third")
        Thread.sleep(forTimeInterval: 0.1)
        #expect(try listener.waitForNotification(timeout: .zero)?.payload == "third")

        try listener.unlisten(channel)
        try sender.notify(channel, payload: "after unlisten")
        #expect(try listener.waitForNotification(timeout: .milliseconds(200)) == nil)
    }

    @Test func notificationsBufferedDuringAQueryAreReturnedFirst() throws {
        let listener = try TestDatabase.connect()
        let sender = try TestDatabase.connect()
        defer {
            listener.close()
            sender.close()
        }
        let channel = "buffered_\(UUID().uuidString.prefix(8))"
        try listener.listen(channel)
        try sender.notify(channel, payload: "one")
        Thread.sleep(forTimeInterval: 0.1)
        _ = try listener.query("SELECT pg_sleep(0.05)")  // reads the notification into libpq's queue
        let start = ContinuousClock.now
        let notification = try listener.waitForNotification(timeout: .seconds(5))
        #expect(notification?.payload == "one")
        #expect(ContinuousClock.now - start < .milliseconds(100))
    }

    @Test func aTerminatedBackendIsAConnectionLevelError() throws {
        let victim = try TestDatabase.connect()
        let admin = try TestDatabase.connect()
        defer {
            victim.close()
            admin.close()
        }
        _ = try admin.query("SELECT pg_terminate_backend(\(Int32(victim.processID)))")
        Thread.sleep(forTimeInterval: 0.1)
        do {
            _ = try victim.query("SELECT 1")
            Issue.record("query on a terminated connection succeeded")
        } catch {
            #expect(error.isConnectionLevel, "\(String(reflecting: error))")
        }
        #expect(!victim.isOpen)
        #expect(!victim.ping())
    }

    @Test func connectingToNothingFailsClearly() throws {
        var configuration = try TestDatabase.configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 1  // nothing listens on port 1
        do {
            _ = try PostgresConnection.connect(configuration, logger: TestDatabase.logger)
            Issue.record("connected to port 1")
        } catch {
            #expect(error.code == .connectionFailed)
            #expect(!error.message.isEmpty)
        }
    }

    @Test func closeIsIdempotent() throws {
        let connection = try TestDatabase.connect()
        connection.close()
        connection.close()
        #expect(!connection.isOpen)
        #expect(!connection.ping())
        do {
            _ = try connection.query("SELECT 1")
            Issue.record("query on a closed connection succeeded")
        } catch {
            #expect(error.code == .connectionClosed)
        }
    }

    @Test func quotesIdentifiers() throws {
        let connection = try TestDatabase.connect()
        defer { connection.close() }
        #expect(try connection.escapeIdentifier("my \"table\"") == "\"my \"\"table\"\"\"")
    }

    @Test func serverNoticesGoToTheLogger() throws {
        let capture = LogCapture()
        let connection = try PostgresConnection.connect(try TestDatabase.configuration(), logger: capture.logger())
        defer { connection.close() }
        try connection.simpleQuery(unsafeSQL: "DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$")
        let notices = capture.messages("PostgreSQL notice")
        #expect(notices.contains { $0.metadata["notice"]?.contains("hello from plpgsql") == true })
    }
}
