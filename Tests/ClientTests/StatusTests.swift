import Foundation
import Logging
import Pipeline
import TestSupport
import Testing

/// Works through `chunks` substeps of one step (`file/chunk_1` …), `ticks`
/// units each, `interval` apart: a four-level tree for `watch` to draw.
struct ChunkTickStage: Stage {
    let name: String
    var chunks = 3
    var ticks = 10
    var interval = 0.03

    func run(_ context: StageContext) throws {
        let step = context.progress.child(of: context.node, "file", total: Int64(chunks * ticks))
        let subs = (1...chunks).map { context.progress.child(of: step, "chunk_\($0)", total: Int64(ticks)) }
        for sub in subs {
            context.progress.start(sub)
            for i in 0..<ticks {
                try context.checkpoint()
                context.logger.info("tick \(i)")
                context.progress.advance(sub, by: 1)
                Thread.sleep(forTimeInterval: interval)
            }
            context.progress.finish(sub)
        }
    }
}

/// `signalforge status` and the fourth level of `watch`.
struct StatusTests {
    @Test func statusPrintsTheServersResources() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 2)])
        let json = try CLI.raw(["status", "--server", server.url, "--output", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let s = json.object
        #expect((s["instance"] as? String)?.isEmpty == false)
        #expect(((s["process"] as? [String: Any])?["rss_bytes"] as? Int ?? 0) > 0)
        #expect(((s["process"] as? [String: Any])?["open_fds"] as? Int ?? 0) > 0)
        #expect(((s["data_dir"] as? [String: Any])?["free_bytes"] as? Int ?? 0) > 0)
        #expect(((s["host"] as? [String: Any])?["memory_total_bytes"] as? Int ?? 0) > 0)
        #expect((s["experiments"] as? [String: Any])?["queued"] as? Int == 0)

        let table = try CLI.raw(["status", "--server", server.url])
        #expect(table.status == 0, "\(table.stderr)")
        for label in ["instance", "uptime", "experiments", "process", "data dir", "host memory", "load", "database", "log spill"] {
            #expect(table.lines.contains { $0.hasPrefix(label + " ") }, "\(label): \(table.stdout)")
        }
        #expect(table.stdout.contains("0 running, 0 queued"))
        #expect(table.stdout.range(of: #"rss \d+(\.\d)? [KMG]iB"#, options: .regularExpression) != nil, "\(table.stdout)")
        #expect(table.stdout.contains(" free ("))

        let csv = try CLI.raw(["status", "--server", server.url, "--output", "csv"])
        #expect(csv.csv.count == 2)
        #expect(csv.csv.first?.first == "instance")
        #expect(csv.csv.last?.count == csv.csv.first?.count)

        // A server that is not there: exit 5.
        #expect(try CLI.raw(["status", "--server", "http://127.0.0.1:9"]).status == 5)
    }

    /// On a terminal the running step's substeps are drawn under it; on a pipe
    /// the line names the substep under way.
    @Test func watchDrawsTheSubsteps() throws {
        let server = try ClientTestServer(stages: [ChunkTickStage(name: "load")])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).lines.first)
        let tty = try CLI.runInTerminal(server, ["watch", id], environment: ["NO_COLOR": "1"])
        #expect(tty.status == 0, "\(tty.stderr)")
        #expect(tty.stdout.contains("└─ file"), "the step")
        // Stage (last: "   "), step (last: "   "), then the substep's branch.
        #expect(tty.stdout.range(of: #"\n      [├└]─ chunk_[123]  \d+/10"#, options: .regularExpression) != nil, "\(tty.stdout)")

        let server2 = try ClientTestServer(stages: [ChunkTickStage(name: "load")])
        let id2 = try #require(try CLI.run(server2, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).lines.first)
        let plain = try CLI.run(server2, ["watch", id2])
        #expect(plain.status == 0, "\(plain.stderr)")
        #expect(
            plain.lines.contains { $0.range(of: #"load .*\(file \d+/30 › chunk_[123] \d+/10"#, options: .regularExpression) != nil },
            "\(plain.stdout)")
    }
}
