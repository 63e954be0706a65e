import Foundation
import Logging
import PostgresClient
import Store
import Synchronization
import Testing
import TestSupport

struct MigratorTests {
    func connect(_ url: String) throws -> PostgresConnection {
        try PostgresConnection.connect(try PostgresConfiguration(url: url), logger: Logger(label: "test"))
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
        for t in ["artifacts", "datasets", "experiments", "pipeline_events", "pipeline_logs", "pipeline_metrics",
                  "pipeline_progress", "schema_migrations", "signals"] {
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
        threads.forEach { $0.start() }
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
