import Foundation
import Testing

/// `signalforge sweeps …` and `signalforge experiments compare`: exit statuses and JSON/CSV.
struct SweepCommandTests {
    static func file(_ json: String) throws -> String {
        let path = NSTemporaryDirectory() + "sf-sweep-\(UUID().uuidString).json"
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func sweeps(_ server: ClientTestServer, _ args: [String]) throws -> CLI.Result {
        try CLI.raw(["sweeps"] + args + ["--server", server.url])
    }

    static let base = #"{"datasets":[{"symbol":"A","path":"a.csv"}],"stages":["load"]}"#

    @Test func startWatchListLeaderboardAndCompare() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 10), TickStage(name: "resample", units: 5, failAt: 2)])
        let request = try Self.file(#"{"name":"cli","base":\#(Self.base),"parameters":{"config.fusion.quality_threshold":[0.6,0.7]}}"#)
        let started = try Self.sweeps(server, ["start", "--file", request, "--output", "json", "--idempotency-key", "k1"])
        #expect(started.status == 0, "\(started.stderr)")
        let id = try #require(started.object["id"] as? String)
        #expect(started.object["count"] as? Int == 2)
        let replay = try Self.sweeps(server, ["start", "--file", request, "-q", "--idempotency-key", "k1"])
        #expect(replay.lines == [id])

        let watch = try Self.sweeps(server, ["watch", id, "--output", "json", "--interval", "0.05"])
        #expect(watch.status == 0, "\(watch.stderr)")
        #expect(watch.records.last?["state"] as? String == "finished")

        let list = try Self.sweeps(server, ["list", "--output", "json"])
        #expect(list.status == 0)
        #expect(list.array.compactMap { $0["id"] as? String } == [id])
        let csv = try Self.sweeps(server, ["list", "--output", "csv"]).csv
        #expect(csv.first == ["id", "name", "state", "mode", "count", "finished", "max_parallel", "priority", "created_at"])
        #expect(csv.count == 2)

        let status = try Self.sweeps(server, ["status", id, "--output", "json"])
        #expect((status.object["counts"] as? [String: Any])?["succeeded"] as? Int == 2)

        let board = try Self.sweeps(server, ["leaderboard", id, "--output", "json"])
        #expect(board.status == 0)
        let points = board.array.compactMap { ($0["parameters"] as? [String: Any])?["config.fusion.quality_threshold"] as? Double }
        #expect(Set(points) == [0.6, 0.7])
        let boardCSV = try Self.sweeps(server, ["leaderboard", id, "--output", "csv"]).csv
        #expect(boardCSV.first?.prefix(5) == ["rank", "experiment_id", "index", "state", "config.fusion.quality_threshold"])
        #expect(boardCSV.count == 3)
        #expect(try Self.sweeps(server, ["leaderboard", id, "--metric", "luck"]).status == 64)
        #expect(try Self.sweeps(server, ["status", UUID().uuidString]).status == 4)

        // The two children differ in one value: compare says so.
        let children = board.array.sorted { ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0) }.compactMap {
            $0["experiment_id"] as? String
        }
        let compare = try CLI.run(server, ["compare"] + children + ["--output", "json"])
        #expect(compare.status == 0, "\(compare.stderr)")
        let diff = compare.object["config_diff"] as? [[String: Any]] ?? []
        #expect(diff.map { $0["path"] as? String } == ["config.fusion.quality_threshold"])
        let compareCSV = try CLI.run(server, ["compare"] + children + ["--output", "csv"]).csv
        #expect(compareCSV.first == ["section", "key"] + children)
        #expect(compareCSV.dropFirst().first == ["config", "config.fusion.quality_threshold", "0.6", "0.7"])
        #expect(try CLI.run(server, ["compare", children[0]]).status == 64)
    }

    @Test func watchExitsOneWhenAChildFailedAndTwoWhenCancelled() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 60), TickStage(name: "resample", units: 5, failAt: 2)])
        let failing = try Self.file(#"{"base":\#(Self.base),"parameters":{"stages":[["load"],["load","resample"]]}}"#)
        let a = try #require(try Self.sweeps(server, ["start", "--file", failing, "-q"]).lines.first)
        let watched = try Self.sweeps(server, ["watch", a, "--interval", "0.05"])
        #expect(watched.status == 1, "\(watched.stderr)")

        let slow = try Self.file(
            #"{"base":\#(Self.base),"parameters":{"config.fusion.quality_threshold":[0.5,0.6,0.7,0.8]},"max_parallel":1}"#)
        let b = try #require(try Self.sweeps(server, ["start", "--file", slow, "-q"]).lines.first)
        let cancel = try Self.sweeps(server, ["cancel", b, "--output", "json"])
        #expect(cancel.status == 0, "\(cancel.stderr)")
        #expect(cancel.object["state"] as? String == "cancelled")
        #expect(try Self.sweeps(server, ["watch", b, "--interval", "0.05"]).status == 2)
        #expect(try Self.sweeps(server, ["cancel", b]).status == 4)
    }

    /// `sweeps delete`: a child still running refuses it (409, exit 4, the
    /// child named); `--cancel` deletes the sweep and its children; then 404 (exit 4).
    @Test func deleteRefusesWhileAChildRunsAndCancelDeletes() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 2000, interval: 0.005)])
        let request = try Self.file(#"{"base":\#(Self.base),"parameters":{"config.fusion.quality_threshold":[0.6,0.7]}}"#)
        let id = try #require(try Self.sweeps(server, ["start", "--file", request, "-q"]).lines.first)
        let board = try Self.sweeps(server, ["leaderboard", id, "--output", "json"])
        let children = board.array.compactMap { $0["experiment_id"] as? String }
        #expect(children.count == 2)
        // Queued or running, both children may still run: both are named.
        let refused = try Self.sweeps(server, ["delete", id])
        #expect(refused.status == 4)
        #expect(refused.stderr.contains("409"), "\(refused.stderr)")
        for child in children { #expect(refused.stderr.contains(child), "\(refused.stderr)") }
        let deleted = try Self.sweeps(server, ["delete", id, "--cancel", "--output", "json"])
        #expect(deleted.status == 0, "\(deleted.stderr)")
        #expect(deleted.object["id"] as? String == id)
        #expect(deleted.object["deleted"] as? Bool == true)
        #expect(try Self.sweeps(server, ["status", id]).status == 4)
        for child in children { #expect(try CLI.run(server, ["status", child]).status == 4) }
        let gone = try Self.sweeps(server, ["delete", id])
        #expect(gone.status == 4)
        #expect(gone.stderr.contains("404"), "\(gone.stderr)")
    }
}
