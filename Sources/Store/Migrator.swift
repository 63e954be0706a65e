import Hashing
public import Logging
public import PostgresClient

/// Applies the embedded migrations in order, once, under an advisory lock so
/// that instances starting together do not race.
public enum Migrator {
    /// The advisory-lock key ("SFMIGRAT" as bytes).
    static let lockKey: Int64 = 0x5346_4D49_4752_4154

    /// Brings the schema up to date and returns the versions it applied.
    /// - Throws: `PostgresError`, or `MigrationError` when an applied
    ///   migration's text no longer matches the binary's.
    @discardableResult
    public static func migrate(
        _ pool: PostgresPool, migrations: [Migrations.Migration] = Migrations.all, logger: Logger
    ) throws -> [Int] {
        try pool.withConnection { conn in try migrate(conn, migrations: migrations, logger: logger) }
    }

    @discardableResult
    public static func migrate(
        _ conn: PostgresConnection, migrations: [Migrations.Migration] = Migrations.all, logger: Logger
    ) throws -> [Int] {
        try conn.execute("SELECT pg_advisory_lock(\(lockKey))")
        defer { _ = try? conn.execute("SELECT pg_advisory_unlock(\(lockKey))") }
        try conn.simpleQuery(
            unsafeSQL: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     integer PRIMARY KEY,
                    name        text NOT NULL,
                    checksum    text NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """)
        var applied: [Int: String] = [:]
        for row in try conn.query("SELECT version, checksum FROM schema_migrations") {
            applied[try row.decode(0, as: Int.self)] = try row.decode(1, as: String.self)
        }
        var done: [Int] = []
        for m in migrations.sorted(by: { $0.version < $1.version }) {
            let sum = SHA256.hex(Array(m.sql.utf8))
            if let existing = applied[m.version] {
                guard existing == sum else {
                    throw MigrationError(
                        description: "migration \(m.version) (\(m.name)) was changed after it was applied; add a new migration instead")
                }
                continue
            }
            try conn.withTransaction { tx in
                try tx.simpleQuery(unsafeSQL: m.sql)
                try tx.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(m.version), \(m.name), \(sum))")
            }
            logger.info("migration applied", metadata: ["version": "\(m.version)", "name": "\(m.name)"])
            done.append(m.version)
        }
        return done
    }
}

public struct MigrationError: Error, CustomStringConvertible {
    public var description: String
}
