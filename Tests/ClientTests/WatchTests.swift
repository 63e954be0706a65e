import Foundation
import TestSupport
import Testing

/// `watch` on a pipe: plain progress lines, and the outcome as the exit status.
struct WatchTests {
    @Test func watchASucceedingExperimentExitsZero() throws {
        let server = try ClientTestServer(stages: [
            TickStage(name: "load", units: 60, interval: 0.02), TickStage(name: "resample", units: 20),
        ])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load,resample", "-q"]).lines.first)
        let r = try CLI.run(server, ["watch", id])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.lines
        #expect(lines.count >= 3, "\(r.stdout)")
        #expect(lines.contains { $0.contains(" running ") && $0.contains("load") }, "\(r.stdout)")
        #expect(lines.contains { $0.contains("| info ") && $0.contains("tick ") }, "the latest log line: \(r.stdout)")
        #expect(lines.last?.hasPrefix("experiment \(id) succeeded") == true, "\(r.stdout)")
        #expect(!r.stdout.contains("\u{1B}"), "no ANSI on a pipe")
        #expect(Set(lines).count == lines.count, "one line per change, no repeats")
    }

    @Test func watchAFailingExperimentExitsOne() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 30, interval: 0.01, failAt: 15)])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).lines.first)
        let r = try CLI.run(server, ["watch", id])
        #expect(r.status == 1, "\(r.stdout) \(r.stderr)")
        #expect(r.lines.last?.contains("failed") == true)
        #expect(r.stdout.contains("deliberate failure at tick 15"))
    }

    /// Cancelled with `cancel` while `watch` runs: exit 2. `--output json`
    /// prints one record per change.
    @Test func watchACancelledExperimentExitsTwo() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 3000, interval: 0.005)])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "-q"]).lines.first)
        let watching = try CLI.start(server, ["watch", id, "--output", "json"])
        try server.waitFor(id) { $0["status"] as? String == "running" }
        // Let the watcher see it run.
        let deadline = Date().addingTimeInterval(10)
        while !watching.stdoutSoFar.contains("\"running\""), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(try CLI.run(server, ["cancel", id]).status == 0)
        let r = watching.wait(timeout: 30)
        #expect(r.status == 2, "\(r.stdout) \(r.stderr)")
        let records = r.records
        #expect(records.count == r.lines.count, "every line is a JSON record")
        #expect(records.contains { $0["status"] as? String == "running" && $0["stage"] as? String == "load" })
        #expect(records.last?["status"] as? String == "cancelled")
        #expect(
            records.allSatisfy {
                Set($0.keys) == ["ts", "id", "status", "percent", "stage", "stage_percent", "rate", "eta_seconds", "log"]
            })
    }

    /// `start --wait`: the experiment on stdout, the progress on stderr, the outcome as the exit status.
    @Test func startAndWait() throws {
        let server = try ClientTestServer(stages: [TickStage(name: "load", units: 10, failAt: 5)])
        let r = try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load", "--wait", "--output", "json"])
        #expect(r.status == 1)
        #expect(r.object["status"] as? String == "queued", "stdout is just the created experiment: \(r.stdout)")
        #expect(r.stderr.contains("failed"))
    }

    /// On a terminal: the tree redrawn in place (cursor up, clear), a bar for
    /// the running stage, colours unless NO_COLOR is set.
    @Test(arguments: [false, true])
    func watchOnATerminalRedrawsTheTree(noColor: Bool) throws {
        let server = try ClientTestServer(stages: [
            TickStage(name: "load", units: 80, interval: 0.02), TickStage(name: "resample", units: 5),
        ])
        let id = try #require(try CLI.run(server, ["start", "--dataset", "A=a.csv", "--stages", "load,resample", "-q"]).lines.first)
        let r = try CLI.runInTerminal(server, ["watch", id], environment: noColor ? ["NO_COLOR": "1"] : [:])
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout
        #expect(out.contains("\u{1B}[J"), "redrawn in place")
        #expect(out.range(of: "\u{1B}\\[\\d+F", options: .regularExpression) != nil, "cursor moved up over the last frame")
        #expect(out.contains("▕") && out.contains("█"), "a progress bar")
        #expect(out.contains("├─ load") && out.contains("└─ resample"), "the stages as a tree")
        #expect(out.contains("› "), "the latest log line")
        #expect(out.contains("experiment \(id)"))
        let coloured = out.range(of: "\u{1B}\\[3\\dm", options: .regularExpression) != nil
        #expect(coloured == !noColor, "colours \(noColor ? "off with NO_COLOR" : "on a terminal")")
    }
}
