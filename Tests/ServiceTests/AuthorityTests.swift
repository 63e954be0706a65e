import Foundation
import Pipeline
import TestSupport
import Testing

@testable import Service

/// The engine's one authority seen over HTTP: `allowed_actions` on every
/// experiment answer, pause causes in the events, and paused experiments
/// that hold no `max_running` slot.
struct AuthorityTests {
    @Test func twoPausedExperimentsDoNotStopTheQueue() throws {
        let stages = StageRegistry([ChunkedStage(name: "load", units: 600, chunkSeconds: 0.005)])
        let t = try TestApp(stages: stages, configure: { $0.maxRunning = 2 })
        let a = try t.create(body("a", stages: ["load"]))
        let b = try t.create(body("b", stages: ["load"]))
        for id in [a, b] { #expect(try t.waitFor(id) { $0["status"] as? String == "running" }["status"] as? String == "running") }
        let c = try t.create(body("c", stages: ["load"]))
        #expect(try t.status(c) == "queued")

        for id in [a, b] { #expect(try t.request("POST", "/v1/experiments/\(id)/pause").status == 202) }
        for id in [a, b] { #expect(try t.waitFor(id) { $0["status"] as? String == "paused" }["status"] as? String == "paused") }
        let percents = try [a, b].map { try t.request("GET", "/v1/experiments/\($0)/progress").json["percent"] as? Double }

        // The third is claimed and runs to the end while both stay paused.
        let done = try t.waitFor(c, timeout: 30) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded")
        for id in [a, b] { #expect(try t.status(id) == "paused") }
        let still = try [a, b].map { try t.request("GET", "/v1/experiments/\($0)/progress").json["percent"] as? Double }
        #expect(still == percents, "paused work moved")

        // Both resume and succeed.
        for id in [a, b] { #expect(try t.request("POST", "/v1/experiments/\(id)/resume").status == 202) }
        for id in [a, b] {
            #expect(try t.waitFor(id, timeout: 30) { $0["status"] as? String == "succeeded" }["status"] as? String == "succeeded")
        }
    }

    @Test func everyAnswerCarriesAllowedActions() throws {
        let t = try TestApp(tokens: TestTokens.file, stages: StageRegistry([ChunkedStage(name: "load", units: 2000)]))
        let auth = TestTokens.operatorToken
        func waitFor(_ id: String, _ status: String) throws -> [String: Any] {
            let deadline = Date().addingTimeInterval(10)
            var last: [String: Any] = [:]
            while Date() < deadline {
                last = try t.request("GET", "/v1/experiments/\(id)", token: auth).json
                if last["status"] as? String == status { break }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return last
        }
        let created = try t.request("POST", "/v1/experiments", token: auth, body: body("actions", stages: ["load"]))
        #expect(created.status == 201)
        let id = try #require(created.json["id"] as? String)
        #expect(["queued", "running"].contains(created.json["status"] as? String))
        #expect(
            created.json["allowed_actions"] as? [String]
                == (created.json["status"] as? String == "queued" ? ["cancel"] : ["pause", "cancel"]))

        let running = try waitFor(id, "running")
        #expect(running["allowed_actions"] as? [String] == ["pause", "cancel"])
        let list = try t.request("GET", "/v1/experiments", token: auth).json["items"] as? [[String: Any]] ?? []
        #expect(list.first { $0["id"] as? String == id }?["allowed_actions"] as? [String] == ["pause", "cancel"])

        let pause = try t.request("POST", "/v1/experiments/\(id)/pause", token: auth)
        #expect(pause.status == 202)
        #expect(pause.json["allowed_actions"] as? [String] == ["resume", "cancel"])
        let paused = try waitFor(id, "paused")
        #expect(paused["allowed_actions"] as? [String] == ["resume", "cancel"])

        // Anything else is a 409 that says what the state allows.
        let again = try t.request("POST", "/v1/experiments/\(id)/pause", token: auth)
        #expect(again.status == 409)
        #expect(again.json["current_state"] as? String == "paused")
        #expect(again.json["allowed"] as? String == "resume, cancel")
        let retry = try t.request("POST", "/v1/experiments/\(id)/retry", token: auth)
        #expect(retry.status == 409)

        #expect(try t.request("POST", "/v1/experiments/\(id)/cancel", token: auth).status == 202)
        let cancelled = try waitFor(id, "cancelled")
        #expect(cancelled["allowed_actions"] as? [String] == ["retry"])
        let none = try t.request("POST", "/v1/experiments/\(id)/cancel", token: auth)
        #expect(none.status == 409)
        #expect(none.json["allowed"] as? String == "retry")

        // The events say who asked: the API, with the token's name.
        let events = try t.request("GET", "/v1/experiments/\(id)/events?limit=1000", token: auth).json["items"] as? [[String: Any]] ?? []
        for kind in ["pause_requested", "paused", "cancel_requested"] {
            let details = events.first { $0["kind"] as? String == kind }?["details"] as? [String: Any]
            #expect(details?["cause"] as? String == "api", "\(kind)")
            #expect(details?["token"] as? String == "ops", "\(kind)")
        }
    }

    @Test func signalsRecordTheirCause() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 2000)]))
        let id = try t.create(body("signal", stages: ["load"]))
        try t.waitFor(id) { $0["status"] as? String == "running" }
        #expect(t.app.engine.pauseAll() == 1)
        #expect(try t.waitFor(id) { $0["status"] as? String == "paused" }["status"] as? String == "paused")
        #expect(t.app.engine.resumeAll() == 1)
        try t.waitFor(id) { $0["status"] as? String == "running" }
        let events = try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        func details(_ kind: String) -> [String: Any]? { events.first { $0["kind"] as? String == kind }?["details"] as? [String: Any] }
        #expect(details("pause_requested")?["signal"] as? String == "SIGUSR1")
        #expect(details("paused")?["cause"] as? String == "signal")
        #expect(details("resumed")?["signal"] as? String == "SIGUSR2")
        #expect(try t.request("POST", "/v1/experiments/\(id)/cancel").status == 202)
        try t.waitFor(id) { $0["status"] as? String == "cancelled" }
    }
}
