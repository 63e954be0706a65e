import Foundation
public import Logging
public import PostgresClient

/// The PostgreSQL that tests use: `DATABASE_URL` when set, otherwise one
/// ``TemporaryPostgres`` started on first use and shared by the whole test
/// process. Tests never skip for want of a database: they start one.
///
/// Give each test its own schema (``makeSchema()``, ``connect(schema:logger:)``)
/// so tests running in parallel never see each other's tables.
public enum TestDatabase {
    /// Started once, on first use (a `static let` initialiser runs exactly once, thread-safely).
    private static let shared: Result<String, any Error> = {
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty {
            return .success(url)
        }
        return Result { try sharedCluster().url }
    }()

    /// Holds the shared cluster for the life of the process (its watchdog
    /// removes it when the process ends).
    nonisolated(unsafe) private static var cluster: TemporaryPostgres?

    private static func sharedCluster() throws -> TemporaryPostgres {
        let postgres = try TemporaryPostgres()
        cluster = postgres
        return postgres
    }

    /// The database URL. Starts the shared temporary cluster on first use.
    /// A test process that can reach no database stops here with the reason.
    public static var url: String {
        switch shared {
        case .success(let url): return url
        case .failure(let error): fatalError("TestDatabase: no DATABASE_URL and no temporary PostgreSQL: \(error)")
        }
    }

    /// The configuration of ``url``, optionally with `search_path` set to a schema.
    ///
    /// - Parameter schema: The schema new sessions use first. Default `nil`.
    public static func configuration(schema: String? = nil) throws -> PostgresConfiguration {
        var configuration = try PostgresConfiguration(url: url)
        if let schema { configuration.serverSettings["search_path"] = "\"\(schema)\",public" }
        return configuration
    }

    /// A logger that discards everything (tests that check logs use `LogCapture`).
    public static var logger: Logger {
        Logger(label: "signalforge.test") { _ in SwiftLogNoOpLogHandler() }
    }

    /// Creates a new, uniquely named, empty schema and returns its name.
    public static func makeSchema() throws -> String {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let connection = try PostgresConnection.connect(configuration(), logger: logger)
        defer { connection.close() }
        try connection.simpleQuery(unsafeSQL: "CREATE SCHEMA \(try connection.escapeIdentifier(name))")
        return name
    }

    /// Drops a schema made by ``makeSchema()`` and everything in it.
    public static func dropSchema(_ name: String) throws {
        let connection = try PostgresConnection.connect(configuration(), logger: logger)
        defer { connection.close() }
        try connection.simpleQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(try connection.escapeIdentifier(name)) CASCADE")
    }

    /// Opens a connection whose `search_path` starts with `schema`.
    ///
    /// - Parameters:
    ///   - schema: The schema, or `nil` for the default search path. Default `nil`.
    ///   - logger: Default: a logger that discards everything.
    public static func connect(schema: String? = nil, logger: Logger? = nil) throws -> PostgresConnection {
        try PostgresConnection.connect(configuration(schema: schema), logger: logger ?? self.logger)
    }
}
