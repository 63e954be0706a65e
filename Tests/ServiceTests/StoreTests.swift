import Foundation
import Logging
import PostgresClient
import Store
import Synchronization
import TestSupport
import Testing

struct MigratorTests {
    func connect(_ url: String) throws -> PostgresConnection {
        try PostgresConnection.connect(try PostgresConfiguration(url: url), logger: Logger(label: "test"))
    }

    @Test func logLinesKeepTheirExperimentIntegrity() throws {
        let url = try TestApp.freshDatabase()
        let conn = try connect(url)
        defer { conn.close() }
        _ = try Migrator.migrate(conn, logger: Logger(label: "test"))
        let a = UUID(), b = UUID()
        for id in [a, b] {
            try conn.execute("INSERT INTO experiments (id, name, status, priority, request) VALUES (\(id), 'x', 'running', 'medium', '{}')")
        }
        func copy(_ ids: [UUID]) throws {
            try conn.withTransaction { tx in
                _ = try tx.copyFrom(table: "pipeline_logs", columns: ["experiment_id", "ts", "level", "message"]) { w in
                    for id in ids {
                        w.appendField(id)
                        w.appendField(Date())
                        w.appendField("info")
                        w.appendField("line")
                        try w.endRow()
                    }
                }
            }
        }
        try copy([a, a, b])
        // One unknown experiment in a batch refuses the whole batch, like a foreign key.
        let e = #expect(throws: PostgresError.self) { try copy([a, UUID()]) }
        #expect(e?.sqlState == .foreignKeyViolation)
        #expect(throws: PostgresError.self) {
            try conn.execute("INSERT INTO pipeline_logs (experiment_id, ts, level, message) VALUES (\(UUID()), now(), 'info', 'x')")
        }
        func count(_ id: UUID) throws -> Int {
            try conn.query("SELECT count(*) FROM pipeline_logs WHERE experiment_id = \(id)").first!.decode(0, as: Int.self)
        }
        #expect(try count(a) == 2)
        // Deleting an experiment deletes its lines and no other's.
        try conn.execute("DELETE FROM experiments WHERE id = \(a)")
        #expect(try count(a) == 0)
        #expect(try count(b) == 1)
    }

    @Test func appliesOnceAndRecordsVersions() throws {
        let url = try TestApp.freshDatabase()
        let conn = try connect(url)
        defer { conn.close() }
        let logger = Logger(label: "test")
        #expect(try Migrator.migrate(conn, logger: logger) == Migrations.all.map(\.version))
        #expect(try Migrator.migrate(conn, logger: logger).isEmpty)
        let versions = try conn.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.decode(0, as: Int.self) }
        #expect(versions == Migrations.all.map(\.version))
        let tables = try conn.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name"
        ).map { try $0.decode(0, as: String.self) }
        for t in [
            "artifacts", "datasets", "experiments", "pipeline_events", "pipeline_logs", "pipeline_metrics",
            "pipeline_progress", "schema_migrations", "signals",
        ] {
            #expect(tables.contains(t), "missing table \(t)")
        }
    }

    /// Instances starting together: the advisory lock serializes them and
    /// every migration is applied exactly once.
    @Test func concurrentStartsApplyEachMigrationOnce() throws {
        let url = try TestApp.freshDatabase()
        let applied = Mutex<[[Int]]>([])
        let errors = Mutex<[String]>([])
        let threads = (0..<4).map { _ in
            Thread {
                do {
                    let c = try connect(url)
                    defer { c.close() }
                    let done = try Migrator.migrate(c, logger: Logger(label: "test"))
                    applied.withLock { $0.append(done) }
                } catch { errors.withLock { $0.append("\(error)") } }
            }
        }
        for thread in threads { thread.start() }
        let deadline = Date().addingTimeInterval(30)
        while applied.withLock({ $0.count }) + errors.withLock({ $0.count }) < 4, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        #expect(errors.withLock { $0 }.isEmpty)
        #expect(applied.withLock { $0.flatMap { $0 } }.sorted() == Migrations.all.map(\.version))
    }

    @Test func refusesAnEditedMigration() throws {
        let url = try TestApp.freshDatabase()
        let conn = try connect(url)
        defer { conn.close() }
        let original = [Migrations.Migration(version: 1, name: "t", sql: "CREATE TABLE t (a int)")]
        try Migrator.migrate(conn, migrations: original, logger: Logger(label: "test"))
        let edited = [Migrations.Migration(version: 1, name: "t", sql: "CREATE TABLE t (a bigint)")]
        #expect(throws: MigrationError.self) { try Migrator.migrate(conn, migrations: edited, logger: Logger(label: "test")) }
    }

    @Test func aFailingMigrationLeavesNothingBehind() throws {
        let url = try TestApp.freshDatabase()
        let conn = try connect(url)
        defer { conn.close() }
        let bad = [
            Migrations.Migration(version: 1, name: "ok", sql: "CREATE TABLE ok (a int)"),
            Migrations.Migration(version: 2, name: "broken", sql: "CREATE TABLE half (a int); SELECT nope FROM nowhere"),
        ]
        #expect(throws: PostgresError.self) { try Migrator.migrate(conn, migrations: bad, logger: Logger(label: "test")) }
        let versions = try conn.query("SELECT version FROM schema_migrations").map { try $0.decode(0, as: Int.self) }
        #expect(versions == [1])
        let half = try conn.query("SELECT to_regclass('half') IS NULL").first?.decode(0, as: Bool.self)
        #expect(half == true)
    }
}
