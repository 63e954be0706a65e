import Foundation
import Testing

/// `signalforge experiments delete|pin|unpin` against a real server.
struct HistoryCommandTests {
    @Test func pinUnpinAndDelete() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 2000, interval: 0.005)])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).lines.first)
        try server.waitFor(id) { $0["status"] as? String == "running" }

        let pin = try CLI.run(server, ["pin", id])
        #expect(pin.status == 0, "\(pin.stderr)")
        #expect(pin.stdout.contains("experiment \(id): pinned"))
        let unpin = try CLI.run(server, ["unpin", id, "--output", "json"])
        #expect(unpin.status == 0, "\(unpin.stderr)")
        #expect(unpin.object["pinned"] as? Bool == false)

        // Running: refused (409, exit 4) without --cancel; deleted with it.
        let refused = try CLI.run(server, ["delete", id])
        #expect(refused.status == 4)
        #expect(refused.stderr.contains("409"))
        #expect(refused.stderr.contains("cancel"))
        let deleted = try CLI.run(server, ["delete", id, "--cancel"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.stdout.contains("experiment \(id): deleted"))
        let gone = try CLI.run(server, ["delete", id])
        #expect(gone.status == 4)
        #expect(gone.stderr.contains("404"))
        #expect(try CLI.run(server, ["pin", id]).status == 4)
    }
}
