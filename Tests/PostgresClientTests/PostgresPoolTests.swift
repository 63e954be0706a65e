import Dispatch
import Foundation
import Logging
import PostgresClient
import Synchronization
import TestSupport
import Testing

struct PostgresPoolTests {
    func makePool(
        max: Int = 2, checkoutTimeout: Duration = .seconds(5), idleCheckInterval: Duration = .seconds(1), logger: Logger? = nil
    ) throws -> PostgresPool {
        PostgresPool(
            configuration: try TestDatabase.configuration(),
            maxConnections: max,
            checkoutTimeout: checkoutTimeout,
            idleCheckInterval: idleCheckInterval,
            logger: logger ?? TestDatabase.logger
        )
    }

    @Test func reusesConnections() throws {
        let pool = try makePool()
        defer { pool.close() }
        let first = try pool.withConnection { $0.processID }
        let second = try pool.withConnection { $0.processID }
        #expect(first == second)
        let statistics = pool.statistics
        #expect(statistics.total == 1)
        #expect(statistics.idle == 1)
        #expect(statistics.inUse == 0)
        #expect(statistics.checkouts == 2)
        #expect(statistics.max == 2)
    }

    @Test func exhaustionFailsAfterTheCheckoutTimeout() throws {
        let capture = LogCapture()
        let pool = try makePool(max: 2, checkoutTimeout: .milliseconds(300), logger: capture.logger())
        defer { pool.close() }
        try pool.withConnection { _ in
            try pool.withConnection { _ in
                #expect(pool.statistics.inUse == 2)
                let start = ContinuousClock.now
                do {
                    try pool.withConnection { _ in Issue.record("got a third connection") }
                } catch let error as PostgresError {
                    let waited = ContinuousClock.now - start
                    #expect(error.code == .poolExhausted)
                    #expect(error.message == "all 2 connections are in use; waited 300 ms")
                    #expect(error.description.contains("all 2 connections are in use"))
                    #expect(waited >= .milliseconds(250) && waited < .seconds(2), "waited \(waited)")
                }
            }
        }
        let statistics = pool.statistics
        #expect(statistics.waits == 1)
        #expect(statistics.timeouts == 1)
        #expect(statistics.checkouts == 2)
        #expect(statistics.waiting == 0)
        #expect(statistics.idle == 2)
        #expect(capture.messages("PostgreSQL pool exhausted").count == 1)
        try pool.withConnection { connection in #expect(connection.ping()) }
    }

    @Test func aWaiterGetsTheConnectionWhenItComesBack() throws {
        let pool = try makePool(max: 1, checkoutTimeout: .seconds(5))
        defer { pool.close() }
        let held = DispatchSemaphore(value: 0)
        let holder = Thread {
            try? pool.withConnection { _ in
                held.signal()
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        holder.start()
        held.wait()
        let start = ContinuousClock.now
        let value = try pool.withConnection { try $0.query("SELECT 41 + 1")[0].decode(0, as: Int.self) }
        #expect(value == 42)
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        let statistics = pool.statistics
        #expect(statistics.waits == 1)
        #expect(statistics.timeouts == 0)
        #expect(statistics.total == 1)
        #expect(statistics.checkoutSecondsTotal >= 0.1)
    }

    @Test func manyThreadsShareFewConnections() throws {
        let pool = try makePool(max: 3, checkoutTimeout: .seconds(30))
        defer { pool.close() }
        let threads = 8
        let perThread = 40
        let done = DispatchSemaphore(value: 0)
        let failures = Failures()
        for thread in 0..<threads {
            Thread {
                for index in 0..<perThread {
                    do {
                        let sum = try pool.withConnection { try $0.query("SELECT \(thread) + \(index)")[0].decode(0, as: Int.self) }
                        if sum != thread + index { failures.add("wrong sum") }
                    } catch {
                        failures.add(String(reflecting: error))
                    }
                }
                done.signal()
            }.start()
        }
        for _ in 0..<threads { done.wait() }
        #expect(failures.all.isEmpty)
        let statistics = pool.statistics
        #expect(statistics.checkouts == threads * perThread)
        #expect(statistics.total <= 3)
        #expect(statistics.inUse == 0)
    }

    @Test func aBrokenConnectionIsDiscardedNotReturned() throws {
        let pool = try makePool(max: 1)
        defer { pool.close() }
        let admin = try TestDatabase.connect()
        defer { admin.close() }
        let firstPID = try pool.withConnection { $0.processID }
        do {
            try pool.withConnection { connection in
                _ = try admin.query("SELECT pg_terminate_backend(\(Int32(connection.processID)))")
                Thread.sleep(forTimeInterval: 0.1)
                _ = try connection.query("SELECT 1")
            }
            Issue.record("a query on a terminated backend succeeded")
        } catch let error as PostgresError {
            #expect(error.isConnectionLevel)
        }
        #expect(pool.statistics.total == 0)
        let secondPID = try pool.withConnection { $0.processID }
        #expect(secondPID != firstPID)
    }

    @Test func aTransactionLeftOpenIsRolledBackOnCheckin() throws {
        let schema = try TestDatabase.makeSchema()
        defer { try? TestDatabase.dropSchema(schema) }
        let pool = PostgresPool(
            configuration: try TestDatabase.configuration(schema: schema), maxConnections: 1, logger: TestDatabase.logger)
        defer { pool.close() }
        try pool.withConnection { try $0.simpleQuery(unsafeSQL: "CREATE TABLE t (a int)") }
        try pool.withConnection { connection in
            try connection.simpleQuery(unsafeSQL: "BEGIN")
            try connection.execute("INSERT INTO t VALUES (1)")
        }
        let count = try pool.withConnection { try $0.query("SELECT count(*) FROM t")[0].decode(0, as: Int.self) }
        #expect(count == 0)
        #expect(pool.statistics.total == 1)
    }

    @Test func poolTransactionsCommitAndRollBack() throws {
        struct Abort: Error {}
        let schema = try TestDatabase.makeSchema()
        defer { try? TestDatabase.dropSchema(schema) }
        let pool = PostgresPool(configuration: try TestDatabase.configuration(schema: schema), logger: TestDatabase.logger)
        defer { pool.close() }
        try pool.withConnection { try $0.simpleQuery(unsafeSQL: "CREATE TABLE t (a int)") }
        try pool.withTransaction { try $0.execute("INSERT INTO t VALUES (1)") }
        #expect(throws: Abort.self) {
            try pool.withTransaction { connection in
                try connection.execute("INSERT INTO t VALUES (2)")
                throw Abort()
            }
        }
        let values = try pool.withConnection { try $0.query("SELECT a FROM t").map { try $0.decode(0, as: Int.self) } }
        #expect(values == [1])
    }

    @Test func aClosedPoolRefusesCheckouts() throws {
        let pool = try makePool()
        try pool.withConnection { _ in }
        pool.close()
        pool.close()
        #expect(pool.statistics.total == 0)
        do {
            try pool.withConnection { _ in }
            Issue.record("checkout from a closed pool")
        } catch let error as PostgresError {
            #expect(error.code == .poolClosed)
        }
    }

    @Test func aPoolForADownServerStartsAndFailsFast() throws {
        var configuration = try TestDatabase.configuration()
        configuration.host = "127.0.0.1"
        configuration.port = 1
        let pool = PostgresPool(configuration: configuration, logger: TestDatabase.logger)
        defer { pool.close() }
        let start = ContinuousClock.now
        do {
            try pool.withConnection { _ in }
            Issue.record("connected to port 1")
        } catch let error as PostgresError {
            #expect(error.code == .connectionFailed)
        }
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(pool.statistics.connectsFailed == 1)
        #expect(pool.statistics.total == 0)
    }

    @Test func recoversAfterTheServerRestarts() throws {
        let server = try TemporaryPostgres()
        defer { server.destroy() }
        let capture = LogCapture()
        let pool = PostgresPool(
            configuration: server.configuration,
            maxConnections: 2,
            checkoutTimeout: .seconds(2),
            idleCheckInterval: .zero,
            logger: capture.logger()
        )
        defer { pool.close() }
        #expect(try pool.withConnection { try $0.query("SELECT 1")[0].decode(0, as: Int.self) } == 1)
        #expect(pool.statistics.total == 1)

        try server.stop()
        let start = ContinuousClock.now
        do {
            try pool.withConnection { _ in Issue.record("checkout succeeded with the server down") }
        } catch let error as PostgresError {
            #expect(error.code == .connectionFailed, "\(String(reflecting: error))")
        }
        #expect(ContinuousClock.now - start < .seconds(3))
        #expect(pool.statistics.total == 0)
        #expect(pool.statistics.connectsFailed >= 1)

        try server.start()
        #expect(try pool.withConnection { try $0.query("SELECT 2")[0].decode(0, as: Int.self) } == 2)
        #expect(pool.statistics.total == 1)
        #expect(!capture.messages("PostgreSQL pool could not connect").isEmpty)
    }
}

/// Failures collected from several threads.
final class Failures: Sendable {
    private let list = Mutex<[String]>([])
    func add(_ failure: String) { list.withLock { $0.append(failure) } }
    var all: [String] { list.withLock { $0 } }
}
