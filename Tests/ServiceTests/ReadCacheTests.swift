import Foundation
import Logging
import Pipeline
import PostgresClient
import Service
import TestSupport
import Testing

/// The row cache behind `GET /v1/experiments/{id}`: answers from memory, and
/// never an older row than the database holds once the change is known here.
struct ReadCacheTests {
    static func metric(_ t: TestApp, _ name: String) throws -> Int {
        let text = try t.request("GET", "/metrics").text
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Int(line.split(separator: " ")[1]) ?? -1
        }
        return -1
    }

    static func finished(_ t: TestApp) throws -> (id: String, uuid: UUID) {
        let id = try t.create(body("cached", stages: ["load"]))
        let done = try t.waitFor(id) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded")
        return (id, try #require(UUID(uuidString: id)))
    }

    /// A second read of an unchanged row is a cache hit; a change written by
    /// another client of the database (another instance, psql) shows up, and so
    /// does the row's removal, without any request to this server in between.
    @Test func aChangeByAnotherWriterShowsUp() throws {
        let t = try TestApp(stages: StageRegistry([CountingStage(name: "load")]))
        let (id, uuid) = try Self.finished(t)
        let hitsBefore = try Self.metric(t, "signalforge_experiment_read_cache_hits_total")
        #expect(try t.request("GET", "/v1/experiments/\(id)").json["name"] as? String == "cached")
        #expect(try t.request("GET", "/v1/experiments/\(id)").json["name"] as? String == "cached")
        #expect(try Self.metric(t, "signalforge_experiment_read_cache_hits_total") > hitsBefore)

        let other = try PostgresConnection.connect(try PostgresConfiguration(url: t.databaseURL), logger: Logger(label: "test"))
        defer { other.close() }
        try other.execute("UPDATE experiments SET name = 'renamed elsewhere' WHERE id = \(uuid)")
        #expect(eventually(timeout: 10) { (try? t.request("GET", "/v1/experiments/\(id)").json["name"] as? String) == "renamed elsewhere" })
        // And it stays so (no older body comes back from a read in flight).
        for _ in 0..<20 { #expect(try t.request("GET", "/v1/experiments/\(id)").json["name"] as? String == "renamed elsewhere") }

        try other.execute("DELETE FROM experiments WHERE id = \(uuid)")
        #expect(eventually(timeout: 10) { (try? t.request("GET", "/v1/experiments/\(id)").status) == 404 })
    }

    /// This server's own writes are read back at once: every GET right after a
    /// pin or unpin shows it, with no waiting for the notification.
    @Test func ownWritesAreReadBackAtOnce() throws {
        let t = try TestApp(stages: StageRegistry([CountingStage(name: "load")]))
        let (id, _) = try Self.finished(t)
        for i in 0..<30 {
            let pinned = i % 2 == 0
            #expect(try t.request("POST", "/v1/experiments/\(id)/\(pinned ? "pin" : "unpin")").status == 200)
            #expect(try t.request("GET", "/v1/experiments/\(id)").json["pinned"] as? Bool == pinned, "round \(i)")
            #expect(try t.request("GET", "/v1/experiments/\(id)").json["pinned"] as? Bool == pinned, "round \(i), again")
        }
        // Unchanged since, the row is served from memory again (our own
        // writes' notifications, arriving late, only cost a re-read).
        let hits = try Self.metric(t, "signalforge_experiment_read_cache_hits_total")
        #expect(
            eventually(timeout: 10) {
                _ = try? t.request("GET", "/v1/experiments/\(id)")
                return ((try? Self.metric(t, "signalforge_experiment_read_cache_hits_total")) ?? 0) > hits
            })
    }

    /// PostgreSQL away: the cache is dropped and bypassed (a read is a 503 like
    /// without a cache, never an answer from memory that may be stale); once
    /// it is back the listener reconnects, changes made after the outage show
    /// up, and reads are cached again.
    @Test func anOutageEmptiesTheCacheUntilTheListenerIsBack() throws {
        let pg = try TemporaryPostgres()
        defer { pg.destroy() }
        let t = try TestApp(databaseURL: pg.url, stages: StageRegistry([CountingStage(name: "load")]))
        let (id, uuid) = try Self.finished(t)
        #expect(try t.request("GET", "/v1/experiments/\(id)").status == 200)
        #expect(try t.request("GET", "/v1/experiments/\(id)").status == 200)
        try pg.stop()
        #expect(eventually(timeout: 10) { (try? t.request("GET", "/v1/experiments/\(id)").status) == 503 })
        try pg.start()
        let other = try PostgresConnection.connect(pg.configuration, logger: Logger(label: "test"))
        defer { other.close() }
        try other.execute("UPDATE experiments SET name = 'after the outage' WHERE id = \(uuid)")
        #expect(eventually(timeout: 20) { (try? t.request("GET", "/v1/experiments/\(id)").json["name"] as? String) == "after the outage" })
        let hits = try Self.metric(t, "signalforge_experiment_read_cache_hits_total")
        #expect(
            eventually(timeout: 10) {
                _ = try? t.request("GET", "/v1/experiments/\(id)")
                return ((try? Self.metric(t, "signalforge_experiment_read_cache_hits_total")) ?? 0) > hits
            })
    }
}
