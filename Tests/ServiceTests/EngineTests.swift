import Foundation
import Logging
import Pipeline
import Service
import Synchronization
import TestSupport
import Testing

/// Fails its first `failures` runs, then works.
final class FlakyStage: Stage, Sendable {
    let name: String
    let failures: Int
    let runs = Atomic<Int>(0)
    init(name: String, failures: Int) {
        self.name = name
        self.failures = failures
    }
    func run(_ context: StageContext) throws {
        let n = runs.add(1, ordering: .relaxed).newValue
        try context.checkpoint()
        if n <= failures { throw StageBroke(attempt: n) }
    }
}

struct StageBroke: Error, CustomStringConvertible {
    var attempt: Int
    var description: String { "deliberate failure on attempt \(attempt)" }
}

/// Counts how often a stage ran.
final class CountingStage: Stage, Sendable {
    let name: String
    let runs = Atomic<Int>(0)
    init(name: String) { self.name = name }
    func run(_ context: StageContext) throws {
        runs.add(1, ordering: .relaxed)
        try context.checkpoint()
    }
}

func body(_ name: String, stages: [String], priority: String = "medium") -> String {
    let list = stages.map { "\"\($0)\"" }.joined(separator: ",")
    return #"{"name":"\#(name)","priority":"\#(priority)","datasets":[{"symbol":"A","path":"a.csv"}],"stages":[\#(list)]}"#
}

struct EngineTests {
    @Test func startPauseResumeSucceed() throws {
        let stages = StageRegistry([ChunkedStage(name: "load", units: 150), ChunkedStage(name: "resample", units: 60)])
        let t = try TestApp(stages: stages)
        let id = try t.create(body("life", stages: ["load", "resample"]))
        let running = try t.waitFor(id) { $0["status"] as? String == "running" }
        #expect(running["status"] as? String == "running")
        Thread.sleep(forTimeInterval: 0.1)

        let pause = try t.request("POST", "/v1/experiments/\(id)/pause")
        #expect(pause.status == 202)
        #expect(["pausing", "paused"].contains(pause.json["status"] as? String))
        let t0 = Date()
        let paused = try t.waitFor(id, timeout: 2) { $0["status"] as? String == "paused" }
        #expect(paused["status"] as? String == "paused")
        #expect(Date().timeIntervalSince(t0) < 1)

        // Progress does not move while paused.
        let before = try t.request("GET", "/v1/experiments/\(id)/progress").json
        Thread.sleep(forTimeInterval: 1)
        let after = try t.request("GET", "/v1/experiments/\(id)/progress").json
        #expect(before["percent"] as? Double == after["percent"] as? Double)
        #expect((before["percent"] as? Double ?? 0) > 0)
        #expect(after["status"] as? String == "paused")

        // Pausing again or resuming twice is a conflict that names the state.
        let again = try t.request("POST", "/v1/experiments/\(id)/pause")
        #expect(again.status == 409)
        #expect(again.json["current_state"] as? String == "paused")

        #expect(try t.request("POST", "/v1/experiments/\(id)/resume").status == 202)
        let done = try t.waitFor(id, timeout: 15) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded")
        #expect(done["percent"] as? Double == 100)
        #expect(done["finished_at"] is String)

        let conflict = try t.request("POST", "/v1/experiments/\(id)/resume")
        #expect(conflict.status == 409)
        #expect(conflict.json["current_state"] as? String == "succeeded")

        let events = try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        let kinds = events.compactMap { $0["kind"] as? String }
        #expect(kinds.first == "created")
        for k in ["started", "pause_requested", "paused", "resumed", "stage_completed", "succeeded"] {
            #expect(kinds.contains(k), "missing event \(k) in \(kinds)")
        }
        let completed = events.filter { $0["kind"] as? String == "stage_completed" }
        #expect(completed.count == 2)
        #expect(completed.allSatisfy { ($0["duration_ms"] as? Double ?? 0) > 0 })
    }

    @Test func cancelARunningExperiment() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 2000)]))
        let id = try t.create(body("cancel me", stages: ["load"]))
        try t.waitFor(id) { $0["status"] as? String == "running" }
        let r = try t.request("POST", "/v1/experiments/\(id)/cancel")
        #expect(r.status == 202)
        let done = try t.waitFor(id, timeout: 3) { $0["status"] as? String == "cancelled" }
        #expect(done["status"] as? String == "cancelled")
        #expect(try t.request("POST", "/v1/experiments/\(id)/cancel").status == 409)
    }

    @Test func cancelAQueuedExperimentAtOnce() throws {
        let t = try TestApp()  // no stages: nothing is ever claimed
        let id = try t.create(body("queued", stages: ["load"]))
        let r = try t.request("POST", "/v1/experiments/\(id)/cancel")
        #expect(r.status == 202)
        #expect(r.json["status"] as? String == "cancelled")
        #expect(try t.request("POST", "/v1/experiments/\(id)/pause").json["current_state"] as? String == "cancelled")
    }

    @Test func retryAFailedExperimentFromANamedStage() throws {
        let load = CountingStage(name: "load")
        let resample = FlakyStage(name: "resample", failures: 2)
        let t = try TestApp(stages: StageRegistry([load, resample]))
        let id = try t.create(body("flaky", stages: ["load", "resample"]))
        let failed = try t.waitFor(id) { $0["status"] as? String == "failed" }
        #expect(failed["status"] as? String == "failed")
        #expect((failed["error"] as? String)?.contains("deliberate failure on attempt 1") == true)
        #expect(load.runs.load(ordering: .relaxed) == 1)

        // Plain retry: resumes after the last completed stage (load is skipped).
        #expect(try t.request("POST", "/v1/experiments/\(id)/retry").status == 202)
        try t.waitFor(id) { $0["status"] as? String == "failed" && ($0["error"] as? String)?.contains("attempt 2") == true }
        #expect(load.runs.load(ordering: .relaxed) == 1)

        // Retry from a named stage: load runs again.
        let r = try t.request("POST", "/v1/experiments/\(id)/retry", body: #"{"from_stage":"load"}"#)
        #expect(r.status == 202)
        #expect(r.json["status"] as? String == "queued")
        let ok = try t.waitFor(id) { $0["status"] as? String == "succeeded" }
        #expect(ok["status"] as? String == "succeeded")
        #expect(ok["error"] is NSNull)
        #expect(load.runs.load(ordering: .relaxed) == 2)
        let kinds = (try t.request("GET", "/v1/experiments/\(id)/events?limit=1000").json["items"] as? [[String: Any]] ?? [])
            .compactMap { $0["kind"] as? String }
        #expect(kinds.filter { $0 == "retry" }.count == 2)
        #expect(kinds.contains("stage_skipped"))

        let bad = try t.request("POST", "/v1/experiments/\(id)/retry", body: #"{"from_stage":"nope"}"#)
        #expect(bad.status == 400)
        #expect(bad.json["field"] as? String == "from_stage")
        #expect(try t.request("POST", "/v1/experiments/\(id)/retry").json["current_state"] as? String == "succeeded")
    }

    @Test func queuedWorkRunsByPriorityThenAge() throws {
        let t = try TestApp(
            stages: StageRegistry([ChunkedStage(name: "load", units: 40, chunkSeconds: 0.005)]), configure: { $0.maxRunning = 1 })
        let first = try t.create(body("first", stages: ["load"]))
        try t.waitFor(first) { $0["status"] as? String == "running" }
        let low = try t.create(body("low", stages: ["load"], priority: "low"))
        let medium = try t.create(body("medium", stages: ["load"], priority: "medium"))
        let high1 = try t.create(body("high1", stages: ["load"], priority: "high"))
        let high2 = try t.create(body("high2", stages: ["load"], priority: "high"))
        for id in [low, medium, high1, high2] { try t.waitFor(id, timeout: 20) { $0["status"] as? String == "succeeded" } }
        func started(_ id: String) throws -> String {
            try t.request("GET", "/v1/experiments/\(id)").json["started_at"] as? String ?? ""
        }
        let order = try [low, medium, high1, high2].sorted { try started($0) < started($1) }
        #expect(order == [high1, high2, medium, low])
    }

    @Test func controlOfUnknownExperimentsIs404() throws {
        let t = try TestApp()
        for action in ["pause", "resume", "cancel", "retry"] {
            #expect(try t.request("POST", "/v1/experiments/\(UUID().uuidString)/\(action)").status == 404)
        }
        #expect(try t.request("GET", "/v1/experiments/\(UUID().uuidString)/progress").status == 404)
        #expect(try t.request("GET", "/v1/experiments/\(UUID().uuidString)/events").status == 404)
    }

    @Test func progressOfAnExperimentNotRunningHereComesFromTheDatabase() throws {
        let t = try TestApp()
        let id = try t.create(body("idle", stages: ["load", "resample", "merge"]))
        let p = try t.request("GET", "/v1/experiments/\(id)/progress")
        #expect(p.status == 200)
        #expect(p.json["status"] as? String == "queued")
        #expect((p.json["children"] as? [[String: Any]])?.map { $0["name"] as? String } == ["load", "resample", "merge"])
    }
}

struct SignalControlTests {
    /// What SIGUSR1 and SIGUSR2 do: pause, then resume, everything running here.
    @Test func pauseAllThenResumeAll() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 400)]), configure: { $0.maxRunning = 2 })
        let a = try t.create(body("a", stages: ["load"]))
        let b = try t.create(body("b", stages: ["load"]))
        for id in [a, b] { try t.waitFor(id) { $0["status"] as? String == "running" } }
        #expect(t.app.engine.pauseAll() == 2)
        for id in [a, b] { #expect(try t.waitFor(id, timeout: 2) { $0["status"] as? String == "paused" }["status"] as? String == "paused") }
        #expect(t.app.engine.resumeAll() == 2)
        for id in [a, b] {
            #expect(try t.waitFor(id, timeout: 2) { $0["status"] as? String == "running" }["status"] as? String == "running")
        }
        for id in [a, b] { _ = try t.request("POST", "/v1/experiments/\(id)/cancel") }
    }

    /// SIGTERM's drain: running work is marked interrupted, paused work stays paused.
    @Test func drainInterruptsRunningAndKeepsPaused() throws {
        let url = try TestApp.freshDatabase()
        let stages = StageRegistry([ChunkedStage(name: "load", units: 2000)])
        var t: TestApp? = try TestApp(databaseURL: url, stages: stages, configure: { $0.maxRunning = 2 })
        let running = try t!.create(body("running", stages: ["load"]))
        let paused = try t!.create(body("paused", stages: ["load"]))
        for id in [running, paused] { try t!.waitFor(id) { $0["status"] as? String == "running" } }
        _ = try t!.request("POST", "/v1/experiments/\(paused)/pause")
        try t!.waitFor(paused) { $0["status"] as? String == "paused" }
        t!.app.stop()
        t = nil
        // A new instance over the same database sees the outcome of the drain:
        // the running one was interrupted and queued again, and this instance finishes it.
        let again = try TestApp(databaseURL: url, stages: StageRegistry([ChunkedStage(name: "load", units: 20)]))
        #expect(try again.status(paused) == "paused")
        let done = try again.waitFor(running, timeout: 20) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let events = try again.request("GET", "/v1/experiments/\(running)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        let kinds = events.compactMap { $0["kind"] as? String }
        #expect(kinds.contains("interrupted"))
        #expect(kinds.contains("requeued"))
        // Resuming the paused one after the restart queues it again.
        let r = try again.request("POST", "/v1/experiments/\(paused)/resume")
        #expect(r.status == 202)
        #expect(["queued", "running"].contains(r.json["status"] as? String ?? ""), "\(r.text)")
        let resumed = try again.waitFor(paused, timeout: 20) { $0["status"] as? String == "succeeded" }
        #expect(resumed["status"] as? String == "succeeded")
    }
}

struct AvailableStagesTests {
    @Test func stagesThisBuildLacksAreRefusedAndDefaultsFollowTheBuild() throws {
        let t = try TestApp(stages: StageRegistry([CountingStage(name: "load")]))
        let refused = try t.request("POST", "/v1/experiments", body: body("x", stages: ["load", "resample"]))
        #expect(refused.status == 400)
        #expect(refused.json["field"] as? String == "stages")
        #expect((refused.json["detail"] as? String)?.contains("'resample' is not available in this build") == true)
        let r = try t.request("POST", "/v1/experiments", body: #"{"datasets":[{"symbol":"A","path":"a.csv"}]}"#)
        #expect(r.status == 201)
        #expect((r.json["request"] as? [String: Any])?["stages"] as? [String] == ["load"])
    }
}
