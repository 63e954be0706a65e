internal import CLibPQ
public import Logging

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// One connection to PostgreSQL (a `PGconn`), used with libpq's blocking API.
///
/// Every method blocks the calling thread until the server answers, so call
/// them from threads you own, never from Swift's cooperative pool.
///
/// Thread safety: `@unchecked Sendable` so a connection can be *moved* to
/// another thread (the pool hands it from thread to thread), but it must never
/// be *shared*: libpq allows one thread at a time per `PGconn`, and this class
/// keeps mutable state without a lock. Whoever holds it uses it alone.
public final class PostgresConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// The logger, with `postgres_pid` metadata.
    public let logger: Logger
    /// Keeps the notice processor's context alive as long as the `PGconn`.
    private let noticeContext: NoticeContext
    /// Set when an operation failed in a way that leaves the connection unusable.
    internal private(set) var sawConnectionError = false
    /// Channels this connection listens on (the pool unlistens before reuse).
    internal private(set) var listeningChannels: Set<String> = []

    private init(handle: OpaquePointer, logger: Logger, noticeContext: NoticeContext) {
        self.handle = handle
        self.logger = logger
        self.noticeContext = noticeContext
    }

    deinit {
        if let handle { PQfinish(handle) }
    }

    /// Opens a connection.
    ///
    /// Every session starts with `TimeZone=UTC`, `client_encoding=UTF8`,
    /// `extra_float_digits=3` (so `float8` values read back exactly) and the
    /// configuration's `serverSettings`. Server notices (`NOTICE`, `WARNING`) go
    /// to the logger at `debug` level instead of standard error.
    ///
    /// The corresponding C function is `PQconnectdbParams`.
    ///
    /// - Parameters:
    ///   - configuration: Where and how to connect.
    ///   - logger: Where to log; the connection adds `postgres_pid` metadata.
    /// - Returns: An open connection.
    /// - Throws: `PostgresError` with code `.connectionFailed` and libpq's
    ///   message (in `message`, not in `description`).
    public static func connect(_ configuration: PostgresConfiguration, logger: Logger) throws(PostgresError) -> PostgresConnection {
        let parameters = configuration.connectionParameters
        let keywords = parameters.map { strdup($0.0) }
        let values = parameters.map { strdup($0.1) }
        defer {
            for pointer in keywords { free(pointer) }
            for pointer in values { free(pointer) }
        }
        var keywordPointers = keywords.map { UnsafePointer<CChar>($0) }
        var valuePointers = values.map { UnsafePointer<CChar>($0) }
        keywordPointers.append(nil)
        valuePointers.append(nil)
        guard let handle = PQconnectdbParams(keywordPointers, valuePointers, 0) else {
            throw PostgresError(code: .connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            logger.debug("PostgreSQL connection failed", metadata: ["postgres_host": "\(configuration.host)", "error": "\(message)"])
            throw .fromLibPQ(.connectionFailed, message.isEmpty ? "could not connect to PostgreSQL" : message)
        }
        var logger = logger
        logger[metadataKey: "postgres_pid"] = "\(PQbackendPID(handle))"
        let noticeContext = NoticeContext(logger: logger)
        PQsetNoticeProcessor(handle, postgresNoticeProcessor, Unmanaged.passUnretained(noticeContext).toOpaque())
        return PostgresConnection(handle: handle, logger: logger, noticeContext: noticeContext)
    }

    // MARK: - State

    /// Whether the connection is open and libpq has not seen it break.
    /// It does not ask the server; see ``ping()``.
    ///
    /// The corresponding C function is `PQstatus`.
    public var isOpen: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The process ID of the server backend serving this connection (for
    /// `pg_cancel_backend`, `pg_terminate_backend` and `pg_stat_activity`);
    /// 0 when closed.
    ///
    /// The corresponding C function is `PQbackendPID`.
    public var processID: Int {
        guard let handle else { return 0 }
        return Int(PQbackendPID(handle))
    }

    /// The server version as a number, such as `150018` for 15.18; 0 when closed.
    ///
    /// The corresponding C function is `PQserverVersion`.
    public var serverVersion: Int {
        guard let handle else { return 0 }
        return Int(PQserverVersion(handle))
    }

    /// Where the session is with respect to transactions.
    enum TransactionStatus: Equatable {
        case idle, active, inTransaction, inFailedTransaction, unknown
    }

    /// The corresponding C function is `PQtransactionStatus`.
    var transactionStatus: TransactionStatus {
        guard let handle else { return .unknown }
        switch PQtransactionStatus(handle) {
        case PQTRANS_IDLE: return .idle
        case PQTRANS_ACTIVE: return .active
        case PQTRANS_INTRANS: return .inTransaction
        case PQTRANS_INERROR: return .inFailedTransaction
        default: return .unknown
        }
    }

    /// Closes the connection. Safe to call more than once; also done on deinit.
    ///
    /// The corresponding C function is `PQfinish`.
    public func close() {
        guard let handle else { return }
        self.handle = nil
        PQfinish(handle)
    }

    /// Whether the server answers `SELECT 1`. Marks the connection broken if not.
    ///
    /// - Returns: `true` when the server answered.
    public func ping() -> Bool {
        do {
            try simpleQuery(unsafeSQL: "SELECT 1")
            return true
        } catch {
            return false
        }
    }

    // MARK: - Statements

    /// Runs one statement and returns its rows.
    ///
    /// Parameters are sent separately from the SQL text in text format, each
    /// with its type (strings with an unspecified type, so the server infers it).
    ///
    /// The corresponding C function is `PQexecParams`.
    ///
    /// - Parameter query: The statement and its binds.
    /// - Returns: The rows (empty for statements that return none).
    /// - Throws: `PostgresError`: `.server` with `sqlState` for an error the
    ///   server reported, `.connectionClosed` when the connection broke,
    ///   `.encoding` for a value libpq cannot send (a NUL character).
    public func query(_ query: PostgresQuery) throws(PostgresError) -> PostgresRows {
        PostgresRows(try execute(params: query))
    }

    /// Runs one statement that returns no rows of interest.
    ///
    /// The corresponding C function is `PQexecParams`.
    ///
    /// - Parameter query: The statement and its binds.
    /// - Returns: The number of rows it inserted, updated, deleted, copied or
    ///   selected (0 for other commands).
    /// - Throws: As ``query(_:)``.
    @discardableResult
    public func execute(_ query: PostgresQuery) throws(PostgresError) -> Int {
        try execute(params: query).affectedRows
    }

    /// Runs SQL text that may hold several statements separated by `;`
    /// (migrations, `SET`), with no parameters. The statements run in one
    /// implicit transaction unless the text has its own `BEGIN`/`COMMIT`.
    ///
    /// The corresponding C function is `PQexec`.
    ///
    /// - Parameter unsafeSQL: The SQL text. Never build it from untrusted input.
    /// - Throws: As ``query(_:)``; the first failing statement stops the rest.
    public func simpleQuery(unsafeSQL: String) throws(PostgresError) {
        _ = try exec(unsafeSQL)
    }

    /// Runs `body` in a transaction: `BEGIN`, then `COMMIT` if `body` returns,
    /// or `ROLLBACK` if it throws. Nested calls use savepoints.
    ///
    /// - Parameter body: The work; it receives this connection.
    /// - Returns: What `body` returned.
    /// - Throws: What `body` threw (after rolling back), or `PostgresError`
    ///   from `BEGIN`/`COMMIT`. A `COMMIT` that the server turned into a
    ///   rollback (because a statement in the transaction failed and `body`
    ///   caught the error) throws `.transactionRolledBack`.
    @discardableResult
    public func withTransaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        switch transactionStatus {
        case .inTransaction, .inFailedTransaction:
            return try withSavepoint(body)
        default:
            break
        }
        try simpleQuery(unsafeSQL: "BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackAfterError(error, statement: "ROLLBACK")
            throw error
        }
        let commit = try exec("COMMIT")
        if commit.commandTag == "ROLLBACK" {
            throw PostgresError(
                code: .transactionRolledBack,
                message: "COMMIT rolled the transaction back because a statement in it had failed",
                sqlState: .transactionRollback,
                query: "COMMIT"
            )
        }
        return value
    }

    private var savepointDepth = 0

    private func withSavepoint<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        savepointDepth += 1
        defer { savepointDepth -= 1 }
        let name = "signalforge_savepoint_\(savepointDepth)"
        try simpleQuery(unsafeSQL: "SAVEPOINT \(name)")
        let value: T
        do {
            value = try body(self)
        } catch {
            rollbackAfterError(error, statement: "ROLLBACK TO SAVEPOINT \(name); RELEASE SAVEPOINT \(name)")
            throw error
        }
        try simpleQuery(unsafeSQL: "RELEASE SAVEPOINT \(name)")
        return value
    }

    private func rollbackAfterError(_ error: any Error, statement: String) {
        do {
            try simpleQuery(unsafeSQL: statement)
        } catch let rollbackError {
            logger.warning(
                "PostgreSQL rollback failed after an error",
                metadata: ["error": "\(String(reflecting: error))", "rollback_error": "\(String(reflecting: rollbackError))"]
            )
        }
    }

    // MARK: - LISTEN / NOTIFY

    /// Starts listening on a channel; notifications arrive through
    /// ``waitForNotification(timeout:)``. The name is quoted, so it is
    /// case-sensitive and may contain any character.
    ///
    /// - Parameter channel: The channel name.
    /// - Throws: `PostgresError` as ``query(_:)``.
    public func listen(_ channel: String) throws(PostgresError) {
        try simpleQuery(unsafeSQL: "LISTEN \(try escapeIdentifier(channel))")
        listeningChannels.insert(channel)
    }

    /// Stops listening on a channel.
    ///
    /// - Parameter channel: The channel name, as given to ``listen(_:)``.
    /// - Throws: `PostgresError` as ``query(_:)``.
    public func unlisten(_ channel: String) throws(PostgresError) {
        try simpleQuery(unsafeSQL: "UNLISTEN \(try escapeIdentifier(channel))")
        listeningChannels.remove(channel)
    }

    /// Stops listening on every channel.
    func unlistenAll() throws(PostgresError) {
        try simpleQuery(unsafeSQL: "UNLISTEN *")
        listeningChannels.removeAll()
    }

    /// Sends a notification (`SELECT pg_notify($1, $2)`); inside a transaction
    /// it is delivered on commit.
    ///
    /// - Parameters:
    ///   - channel: The channel name (case-sensitive, as given to ``listen(_:)``).
    ///   - payload: The payload; under 8000 bytes.
    /// - Throws: `PostgresError` as ``query(_:)``.
    public func notify(_ channel: String, payload: String = "") throws(PostgresError) {
        try execute("SELECT pg_notify(\(channel), \(payload))")
    }

    /// Waits for a notification on a channel this connection listens on.
    ///
    /// Returns a notification already received (during an earlier query, say)
    /// at once; otherwise waits on the socket.
    ///
    /// The corresponding C functions are `PQnotifies`, `PQconsumeInput` and
    /// `poll` on `PQsocket`.
    ///
    /// - Parameter timeout: The longest to wait.
    /// - Returns: The notification, or `nil` when none came within `timeout`.
    /// - Throws: `PostgresError` with code `.connectionClosed` when the
    ///   connection broke.
    public func waitForNotification(timeout: Duration) throws(PostgresError) -> PostgresNotification? {
        let handle = try openHandle()
        let deadline = ContinuousClock.now + timeout
        while true {
            if let notification = nextNotification(handle) { return notification }
            let remaining = deadline - ContinuousClock.now
            let socket = PQsocket(handle)
            guard socket >= 0 else { throw connectionError(handle, query: nil) }
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            var milliseconds: Int32 = 0
            if remaining > .zero {
                let (seconds, attoseconds) = remaining.components
                milliseconds = Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
            }
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                throw PostgresError(code: .connectionClosed, message: "poll() on the PostgreSQL socket failed (errno \(errno))")
            }
            if ready > 0 {
                guard PQconsumeInput(handle) == 1 else { throw connectionError(handle, query: nil) }
                continue
            }
            if remaining <= .zero { return nil }
        }
    }

    private func nextNotification(_ handle: OpaquePointer) -> PostgresNotification? {
        guard let notify = PQnotifies(handle) else { return nil }
        defer { PQfreemem(notify) }
        return PostgresNotification(
            channel: String(cString: notify.pointee.relname),
            payload: notify.pointee.extra.map { String(cString: $0) } ?? "",
            pid: Int(notify.pointee.be_pid)
        )
    }

    // MARK: - Quoting

    /// Quotes an identifier (a table, column or channel name) for SQL text:
    /// `my "table"` becomes `"my ""table"""`.
    ///
    /// The corresponding C function is `PQescapeIdentifier`.
    ///
    /// - Parameter identifier: The name.
    /// - Returns: The quoted identifier.
    /// - Throws: `PostgresError` with code `.encoding` for invalid text.
    public func escapeIdentifier(_ identifier: String) throws(PostgresError) -> String {
        let handle = try openHandle()
        let escaped = identifier.withCString { PQescapeIdentifier(handle, $0, strlen($0)) }
        guard let escaped else {
            throw .fromLibPQ(.encoding, "could not quote an identifier: \(Self.trimmed(PQerrorMessage(handle)))")
        }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    // MARK: - Internals: one function per C call

    /// The open `PGconn`, or `.connectionClosed`.
    func openHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle else {
            throw PostgresError(code: .connectionClosed, message: "the connection is closed")
        }
        return handle
    }

    /// `PQexecParams` with text-format parameters packed into one buffer.
    private func execute(params query: PostgresQuery) throws(PostgresError) -> PostgresResult {
        let handle = try openHandle()
        let count = query.binds.count
        guard count <= 65_535 else {
            throw PostgresError(code: .encoding, message: "a statement takes at most 65535 parameters, not \(count)", query: query.sql)
        }
        if count == 0 {
            return try check(PQexecParams(handle, query.sql, 0, nil, nil, nil, nil, 0), handle, query: query.sql)
        }
        var types = [UInt32](repeating: 0, count: count)
        var offsets = [Int](repeating: -1, count: count)
        var storage: [CChar] = []
        storage.reserveCapacity(query.binds.reduce(0) { $0 + ($1?.text.utf8.count ?? 0) + 1 })
        for (index, bind) in query.binds.enumerated() {
            guard let bind else { continue }
            types[index] = bind.type.rawValue
            offsets[index] = storage.count
            for byte in bind.text.utf8 {
                guard byte != 0 else {
                    throw PostgresError(
                        code: .encoding,
                        message: "parameter $\(index + 1) contains a NUL character, which PostgreSQL text cannot hold",
                        query: query.sql
                    )
                }
                storage.append(CChar(bitPattern: byte))
            }
            storage.append(0)
        }
        let raw = storage.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            let values: [UnsafePointer<CChar>?] = offsets.map { offset in
                offset < 0 ? nil : buffer.baseAddress.map { $0 + offset }
            }
            return PQexecParams(handle, query.sql, Int32(count), types, values, nil, nil, 0)
        }
        return try check(raw, handle, query: query.sql)
    }

    /// `PQexec`: one or more statements without parameters.
    @discardableResult
    func exec(_ sql: String) throws(PostgresError) -> PostgresResult {
        let handle = try openHandle()
        return try check(PQexec(handle, sql), handle, query: sql)
    }

    /// Turns a `PGresult` into a result or an error; leaves no COPY half-open.
    private func check(_ raw: OpaquePointer?, _ handle: OpaquePointer, query: String) throws(PostgresError) -> PostgresResult {
        guard let raw else { throw connectionError(handle, query: query) }
        let result = PostgresResult(raw)
        switch result.status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            logger.trace("PostgreSQL statement", metadata: ["sql": "\(query)"])
            return result
        case PGRES_COPY_IN:
            _ = PQputCopyEnd(handle, "COPY FROM STDIN is only supported through copyFrom")
            drainResults(handle)
            throw PostgresError(code: .copyFailed, message: "use copyFrom to run COPY … FROM STDIN", query: query)
        case PGRES_COPY_OUT, PGRES_COPY_BOTH:
            sawConnectionError = true
            throw PostgresError(code: .copyFailed, message: "COPY … TO STDOUT is not supported", query: query)
        default:
            throw serverError(result, handle, query: query)
        }
    }

    /// An error result as a `PostgresError`; marks the connection broken when it is.
    func serverError(_ result: PostgresResult, _ handle: OpaquePointer, query: String?) -> PostgresError {
        let broken = PQstatus(handle) != CONNECTION_OK
        let sqlState = result.errorField("C").map(SQLState.init(rawValue:))
        var error = PostgresError.fromLibPQ(
            sqlState == nil && broken ? .connectionClosed : .server,
            result.errorField("M") ?? Self.trimmed(result.errorMessage),
            query: query
        )
        error.sqlState = sqlState
        error.detail = result.errorField("D")
        error.hint = result.errorField("H")
        error.constraint = result.errorField("n")
        error.table = result.errorField("t")
        error.column = result.errorField("c")
        if broken || error.isConnectionLevel { sawConnectionError = true }
        logger.debug("PostgreSQL statement failed", metadata: ["sql": "\(query ?? "")", "error": "\(String(reflecting: error))"])
        return error
    }

    /// The connection's last error (no result came back).
    func connectionError(_ handle: OpaquePointer, query: String?) -> PostgresError {
        sawConnectionError = true
        let message = Self.trimmed(PQerrorMessage(handle))
        return .fromLibPQ(.connectionClosed, message.isEmpty ? "the connection to PostgreSQL was lost" : message, query: query)
    }

    /// Reads and frees results until libpq has none left.
    func drainResults(_ handle: OpaquePointer) {
        while let raw = PQgetResult(handle) { PQclear(raw) }
    }

    static func trimmed(_ text: UnsafePointer<CChar>?) -> String {
        guard let text else { return "" }
        return trimmed(String(cString: text))
    }

    static func trimmed(_ text: String) -> String {
        var string = text
        while string.last?.isWhitespace == true { string.removeLast() }
        return string
    }
}

/// A notification received on a channel (`NOTIFY` / `pg_notify`).
public struct PostgresNotification: Sendable, Hashable {
    /// The channel name.
    public var channel: String
    /// The payload; empty when none was sent.
    public var payload: String
    /// The process ID of the server backend that sent it.
    public var pid: Int

    public init(channel: String, payload: String, pid: Int) {
        self.channel = channel
        self.payload = payload
        self.pid = pid
    }
}

/// What the notice processor needs; lives as long as the connection.
private final class NoticeContext {
    let logger: Logger
    init(logger: Logger) { self.logger = logger }
}

/// Routes server notices to the connection's logger (libpq prints them to
/// standard error by default). No Swift error crosses into C.
private func postgresNoticeProcessor(_ argument: UnsafeMutableRawPointer?, _ message: UnsafePointer<CChar>?) {
    guard let argument, let message else { return }
    let context = Unmanaged<NoticeContext>.fromOpaque(argument).takeUnretainedValue()
    context.logger.debug("PostgreSQL notice", metadata: ["notice": "\(PostgresConnection.trimmed(message))"])
}
