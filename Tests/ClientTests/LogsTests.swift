import Foundation
import Synchronization
import TestSupport
import Testing

struct LogsTests {
    /// History (paged, filtered) of a finished experiment, in each format.
    @Test func historyPagesAndFilters() throws {
        let server = try ClientTestServer(stages: [
            TickStage(name: "load", units: 30, interval: 0), TickStage(name: "resample", units: 7, interval: 0),
        ])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load,resample", "-q"]).lines.first)
        try server.waitFor(id) { $0["status"] as? String == "succeeded" }
        let stored = try server.storedLogs(id)

        let json = try CLI.run(server, ["logs", id, "--output", "json"])
        #expect(json.status == 0)
        #expect(json.records.compactMap { $0["id"] as? Int } == stored.compactMap { $0["id"] as? Int })
        let resample = try CLI.run(server, ["logs", id, "--stage", "resample", "--output", "json"]).records
        #expect(resample.allSatisfy { $0["stage"] as? String == "resample" })
        #expect(resample.filter { ($0["message"] as? String)?.hasPrefix("tick ") == true }.count == 7)
        let csv = try CLI.run(server, ["logs", id, "--output", "csv"]).csv
        #expect(csv.first == ["id", "ts", "level", "stage", "message", "fields"])
        #expect(csv.count == stored.count + 1)
        let table = try CLI.run(server, ["logs", id, "--level", "info"])
        #expect(table.lines.contains { $0.contains("INFO") && $0.contains("load: tick 3") && $0.contains("i=3") })
        // -f on a finished experiment: the history, then the stream's end at once.
        let follow = try CLI.run(server, ["logs", id, "-f", "--output", "json"], timeout: 20)
        #expect(follow.status == 0)
        #expect(follow.records.count == stored.count)
    }

    /// `logs -f` across a server restart: the server drains (ending the
    /// stream; the experiment is interrupted and queued again), comes back on
    /// the same port and database and runs it to the end. The follower
    /// reconnects by itself with Last-Event-ID and prints every stored line
    /// exactly once, in order. A `watch` running at the same time follows it
    /// through the restart and exits 0.
    @Test func followAcrossAServerRestartPrintsEveryLineOnce() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 120, interval: 0.02)])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).lines.first)
        let follower = try CLI.start(server, ["logs", id, "-f", "--output", "json", "--reconnect-for", "60"])
        let watcher = try CLI.start(server, ["watch", id])

        // Well into the run, and the follower has printed some of it live.
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, follower.stdoutSoFar.components(separatedBy: "\"tick ").count < 30 { Thread.sleep(forTimeInterval: 0.02) }
        let beforeRestart = follower.stdoutSoFar.split(separator: "\n").count
        #expect(beforeRestart >= 20)
        server.stop()  // drains: the experiment becomes interrupted, the stream ends without `end`
        Thread.sleep(forTimeInterval: 0.5)  // the follower finds nobody listening, and retries
        try server.start()

        let watched = watcher.wait(timeout: 60)
        #expect(watched.status == 0, "watch follows the experiment through the restart: \(watched.stdout) \(watched.stderr)")
        #expect(try server.status(id) == "succeeded")

        let r = follower.wait(timeout: 60)
        #expect(r.status == 0, "\(r.stderr)")
        let printed = r.records.compactMap { $0["id"] as? Int }
        let stored = try server.storedLogs(id).compactMap { $0["id"] as? Int }
        #expect(Set(printed).count == printed.count, "a line was printed twice")
        #expect(printed == stored, "lines missing or out of order")
        #expect(printed.count > beforeRestart)
        let messages = r.records.compactMap { $0["message"] as? String }
        #expect(messages.contains("experiment interrupted: the server is stopping"))
        #expect(messages.last == "experiment succeeded")
        #expect(messages.filter { $0 == "tick 0" }.count == 2, "the stage ran again after the restart")
    }

    /// `logs -f` through a relay that cuts every live stream after a few
    /// hundred bytes — mid-event, mid-chunk: the partial event is dropped, the
    /// follower reconnects with Last-Event-ID, and every line is printed once.
    @Test func followThroughConnectionsCutMidEvent() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 150, interval: 0.01)])
        let proxy = try CuttingProxy(upstream: server.port)
        defer { proxy.stop() }
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).lines.first)
        let r = try CLI.start(server, ["logs", id, "-f", "--output", "json"], via: proxy.url).wait(timeout: 90)
        #expect(r.status == 0, "\(r.stderr)")
        let printed = r.records.compactMap { $0["id"] as? Int }
        let stored = try server.storedLogs(id).compactMap { $0["id"] as? Int }
        #expect(proxy.cuts.load(ordering: .relaxed) >= 5, "the relay cut the stream several times")
        #expect(Set(printed).count == printed.count, "a line was printed twice")
        #expect(printed == stored, "lines missing or out of order")
        #expect(r.records.last?["message"] as? String == "experiment succeeded")
    }
}
