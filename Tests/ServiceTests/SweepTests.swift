import Foundation
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// `/v1/sweeps`: children per point, the leaderboard, and pause/resume/cancel
/// fanned out to the children, on a real service and PostgreSQL.
struct SweepTests {
    /// A 2 × 3 grid over the fusion threshold and the forecast horizon.
    static let grid =
        #"{"config.fusion.quality_threshold":[0.6,0.7],"config.forecast.horizon_bars":{"min":4,"max":12,"count":3,"integer":true}}"#

    static func sweepBody(base: String, parameters: String = grid, extra: String = "") -> String {
        #"{"name":"grid","base":\#(base),"parameters":\#(parameters)\#(extra)}"#
    }

    static func children(_ t: TestApp, _ sweep: String) throws -> [[String: Any]] {
        try t.request("GET", "/v1/sweeps/\(sweep)/leaderboard").json["items"] as? [[String: Any]] ?? []
    }

    static func states(_ t: TestApp, _ sweep: String) throws -> [String] {
        try children(t, sweep).compactMap { $0["state"] as? String }
    }

    /// Polls until `done` holds for the sweep's children's states (or `timeout`); returns the last states.
    @discardableResult
    static func waitForChildren(_ t: TestApp, _ sweep: String, timeout: Double, _ done: ([String]) -> Bool) throws -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var last: [String] = []
        while Date() < deadline {
            last = try states(t, sweep)
            if done(last) { return last }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return last
    }

    @Test func aGridOfSixChildrenSucceedsAndTheLeaderboardListsEveryPoint() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        try StageTests.sample(t, days: 12)
        let base = StageTests.body(
            stages: ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "analysis"], timeframes: ["1h"],
            config: #"{"forecast":{"refit_every":200}}"#)
        let r = try t.request("POST", "/v1/sweeps", body: Self.sweepBody(base: base, extra: #","max_parallel":2"#))
        #expect(r.status == 201, "\(r.text)")
        let sweep = try #require(r.json["id"] as? String)
        #expect(r.header("Location") == "/v1/sweeps/\(sweep)")
        #expect(r.json["count"] as? Int == 6)
        #expect((r.json["counts"] as? [String: Any])?["queued"] as? Int == 6)

        let states = try Self.waitForChildren(t, sweep, timeout: 300) { $0.count == 6 && $0.allSatisfy { SweepRoutesState.ended($0) } }
        #expect(states == Array(repeating: "succeeded", count: 6), "\(states)")

        let items = try Self.children(t, sweep)
        #expect(items.count == 6)
        let points = Set(
            items.compactMap { item -> String? in
                guard let p = item["parameters"] as? [String: Any], let q = p["config.fusion.quality_threshold"] as? Double,
                    let h = p["config.forecast.horizon_bars"] as? Int
                else { return nil }
                return "\(q)/\(h)"
            })
        #expect(points == ["0.6/4", "0.6/8", "0.6/12", "0.7/4", "0.7/8", "0.7/12"])
        // Every point has its report's headline figures.
        #expect(items.allSatisfy { $0["trades"] is Int && $0["verdict"] is String && $0["total_return"] is Double })
        // Each child is an ordinary experiment that ran its point, with trials = the number of points.
        for item in items {
            let id = try #require(item["experiment_id"] as? String)
            let e = try t.request("GET", "/v1/experiments/\(id)").json
            let config = (e["request"] as? [String: Any])?["config"] as? [String: Any]
            #expect((config?["analysis"] as? [String: Any])?["trials"] as? Int == 6)
            let p = item["parameters"] as? [String: Any]
            #expect(
                (config?["fusion"] as? [String: Any])?["quality_threshold"] as? Double == p?["config.fusion.quality_threshold"] as? Double)
            #expect((config?["forecast"] as? [String: Any])?["horizon_bars"] as? Int == p?["config.forecast.horizon_bars"] as? Int)
            let report = try t.request("GET", "/v1/experiments/\(id)/report").json
            #expect(((report["evaluation"] as? [String: Any])?["overall"] as? [String: Any])?["trials"] as? Int == 6)
        }
        let shown = try t.request("GET", "/v1/sweeps/\(sweep)").json
        #expect(shown["state"] as? String == "finished")
        #expect(shown["finished"] as? Int == 6)
        #expect((shown["counts"] as? [String: Any])?["succeeded"] as? Int == 6)

        // CSV: one row per point, a column per parameter.
        let csv = try t.request("GET", "/v1/sweeps/\(sweep)/leaderboard?format=csv&metric=sharpe")
        #expect(csv.header("Content-Type")?.hasPrefix("text/csv") == true)
        let lines = csv.text.split(separator: "\n")
        #expect(lines.count == 7)
        #expect(
            lines.first
                == "rank,experiment_id,index,state,config.fusion.quality_threshold,config.forecast.horizon_bars,total_return,sharpe,deflated_sharpe,trades,verdict,p_value"
        )
        let byAccept = try t.request("GET", "/v1/sweeps/\(sweep)/leaderboard?metric=sharpe", headers: ["Accept": "text/csv"])
        #expect(byAccept.text == csv.text)
        // Sorted by the metric asked (children without the figure last).
        let sharpes =
            try t.request("GET", "/v1/sweeps/\(sweep)/leaderboard?metric=sharpe&order=asc").json["items"] as? [[String: Any]] ?? []
        let values = sharpes.compactMap { $0["sharpe"] as? Double }
        #expect(values == values.sorted())
        #expect(try t.request("GET", "/v1/sweeps/\(sweep)/leaderboard?metric=luck").status == 400)
    }

    /// Children that take a while: ``ChunkedStage`` `load` of 400 × 5 ms.
    static func controlApp() throws -> TestApp {
        try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 400)])) { $0.maxRunning = 4 }
    }

    @Test func pausingTheSweepPausesItsRunningChildrenAndClaimsNoOtherCancelCancelsTheRest() throws {
        let t = try Self.controlApp()
        let r = try t.request(
            "POST", "/v1/sweeps", body: Self.sweepBody(base: body("sweep", stages: ["load"]), extra: #","max_parallel":2"#))
        #expect(r.status == 201, "\(r.text)")
        let sweep = try #require(r.json["id"] as? String)

        // max_parallel: two children run, the rest wait, although the engine has four slots.
        var most = 0
        let running = try Self.waitForChildren(t, sweep, timeout: 20) { s in
            most = max(most, s.filter { $0 == "running" }.count)
            return s.filter { $0 == "running" }.count == 2
        }
        #expect(running.filter { $0 == "running" }.count == 2, "\(running)")
        #expect(running.filter { $0 == "queued" }.count == 4, "\(running)")

        let pause = try t.request("POST", "/v1/sweeps/\(sweep)/pause")
        #expect(pause.status == 202, "\(pause.text)")
        #expect(pause.json["state"] as? String == "paused")
        #expect(pause.json["allowed_actions"] as? [String] == ["resume", "cancel"])
        let paused = try Self.waitForChildren(t, sweep, timeout: 10) { $0.filter { $0 == "paused" }.count == 2 }
        #expect(paused.filter { $0 == "paused" }.count == 2, "\(paused)")
        #expect(paused.filter { $0 == "queued" }.count == 4, "\(paused)")
        #expect(try t.request("POST", "/v1/sweeps/\(sweep)/pause").status == 409)

        // The scheduler keeps claiming other work meanwhile, yet none of the sweep's queued children.
        let other = try t.create(body("other", stages: ["load"]))
        let done = try t.waitFor(other, timeout: 20) { $0["status"] as? String == "succeeded" }
        #expect(done["status"] as? String == "succeeded")
        let still = try Self.states(t, sweep)
        #expect(still.filter { $0 == "queued" }.count == 4, "\(still)")
        #expect(still.filter { $0 == "paused" }.count == 2, "\(still)")

        // Resume: the paused children go on.
        let resume = try t.request("POST", "/v1/sweeps/\(sweep)/resume")
        #expect(resume.status == 202, "\(resume.text)")
        #expect(resume.json["state"] as? String == "running")
        let resumed = try Self.waitForChildren(t, sweep, timeout: 10) { !$0.contains("paused") }
        #expect(!resumed.contains("paused"), "\(resumed)")

        // Cancel: every child that has not ended is cancelled.
        let cancel = try t.request("POST", "/v1/sweeps/\(sweep)/cancel")
        #expect(cancel.status == 202, "\(cancel.text)")
        let ended = try Self.waitForChildren(t, sweep, timeout: 10) { $0.allSatisfy { $0 == "succeeded" || $0 == "cancelled" } }
        #expect(ended.allSatisfy { $0 == "succeeded" || $0 == "cancelled" }, "\(ended)")
        #expect(ended.filter { $0 == "cancelled" }.count >= 4, "\(ended)")
        let shown = try t.request("GET", "/v1/sweeps/\(sweep)").json
        #expect(shown["state"] as? String == "cancelled")
        #expect(shown["allowed_actions"] as? [String] == [])
        let again = try t.request("POST", "/v1/sweeps/\(sweep)/cancel")
        #expect(again.status == 409)
        #expect(again.json["current_state"] as? String == "cancelled")
        // The children's events say who asked.
        let child = try #require(try Self.children(t, sweep).first { $0["state"] as? String == "cancelled" }?["experiment_id"] as? String)
        let events = try t.request("GET", "/v1/experiments/\(child)/events?limit=1000").json["items"] as? [[String: Any]] ?? []
        #expect(events.contains { $0["kind"] as? String == "cancelled" || $0["kind"] as? String == "cancel_requested" })
    }

    @Test func everyPointIsValidatedUpFrontAndABadValueNamesItsParameter() throws {
        let t = try TestApp()
        let base = body("v", stages: ["load"])
        let bad = try t.request(
            "POST", "/v1/sweeps", body: Self.sweepBody(base: base, parameters: #"{"config.fusion.quality_threshold":[0.6,1.5]}"#))
        #expect(bad.status == 400)
        #expect(bad.json["field"] as? String == "parameters.config.fusion.quality_threshold[1]", "\(bad.text)")
        #expect((bad.json["detail"] as? String)?.hasPrefix("parameters.config.fusion.quality_threshold[1]: ") == true)
        let section = try t.request("POST", "/v1/sweeps", body: Self.sweepBody(base: base, parameters: #"{"config.fusoin.x":[1]}"#))
        #expect(section.status == 400)
        #expect((section.json["detail"] as? String)?.contains("fusion") == true, "\(section.text)")
        let key = try t.request("POST", "/v1/sweeps", body: Self.sweepBody(base: base, parameters: #"{"config.fusion.threshold":[0.5]}"#))
        #expect(key.status == 400)
        #expect((key.json["field"] as? String)?.hasPrefix("parameters.config.fusion.threshold") == true, "\(key.text)")
        let noCount = try t.request("POST", "/v1/sweeps", body: Self.sweepBody(base: base, extra: #","mode":"random""#))
        #expect(noCount.json["field"] as? String == "count")
        let baseFault = try t.request(
            "POST", "/v1/sweeps", body: Self.sweepBody(base: #"{"datasets":[],"stages":["load"]}"#))
        #expect(baseFault.json["field"] as? String == "base.datasets", "\(baseFault.text)")
        // Nothing was created by the refused requests.
        #expect((try t.request("GET", "/v1/sweeps").json["items"] as? [Any])?.count == 0)
        #expect((try t.request("GET", "/v1/experiments").json["items"] as? [Any])?.count == 0)
    }

    @Test func randomPointsAreDrawnFromTheSeedAndAKeyMakesCreateIdempotent() throws {
        let t = try TestApp()
        let base = body("r", stages: ["load"])
        let parameters = #"{"config.fusion.quality_threshold":{"min":0.5,"max":0.8},"config.forecast.horizon_bars":[6,12,24]}"#
        let request = Self.sweepBody(base: base, parameters: parameters, extra: #","mode":"random","seed":7,"count":5"#)
        let a = try t.request("POST", "/v1/sweeps", headers: ["Idempotency-Key": "s-1"], body: request)
        #expect(a.status == 201, "\(a.text)")
        let again = try t.request("POST", "/v1/sweeps", headers: ["Idempotency-Key": "s-1"], body: request)
        #expect(again.status == 201)
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(again.json["id"] as? String == a.json["id"] as? String)
        let other = try t.request(
            "POST", "/v1/sweeps", headers: ["Idempotency-Key": "s-1"],
            body: request.replacingOccurrences(of: "\"seed\":7", with: "\"seed\":8"))
        #expect(other.status == 422)
        let b = try t.request("POST", "/v1/sweeps", headers: ["Idempotency-Key": "s-2"], body: request)
        #expect(b.json["id"] as? String != a.json["id"] as? String)

        func points(_ id: String) throws -> [String] {
            try Self.children(t, id).sorted { ($0["index"] as? Int ?? 0) < ($1["index"] as? Int ?? 0) }.map { item in
                let p = item["parameters"] as? [String: Any] ?? [:]
                return "\(p["config.fusion.quality_threshold"] ?? "-")/\(p["config.forecast.horizon_bars"] ?? "-")"
            }
        }
        let pa = try points(try #require(a.json["id"] as? String))
        #expect(pa.count == 5)
        #expect(pa == (try points(try #require(b.json["id"] as? String))))
        for item in try Self.children(t, try #require(a.json["id"] as? String)) {
            let p = item["parameters"] as? [String: Any] ?? [:]
            let q = try #require(p["config.fusion.quality_threshold"] as? Double)
            #expect(q >= 0.5 && q <= 0.8)
            #expect([6, 12, 24].contains(p["config.forecast.horizon_bars"] as? Int ?? 0))
        }
        // Two sweeps (three with the replay answered from the first), newest first, paginated.
        let page = try t.request("GET", "/v1/sweeps?limit=1").json
        #expect((page["items"] as? [[String: Any]])?.first?["id"] as? String == b.json["id"] as? String)
        let cursor = try #require(page["next_cursor"] as? String)
        let next = try t.request("GET", "/v1/sweeps?limit=1&cursor=\(cursor)").json
        #expect((next["items"] as? [[String: Any]])?.first?["id"] as? String == a.json["id"] as? String)
        #expect(next["next_cursor"] is NSNull)
        #expect(try t.request("GET", "/v1/sweeps/\(UUID().uuidString)").status == 404)
    }
}

/// The states in which a child has ended.
enum SweepRoutesState {
    static func ended(_ s: String) -> Bool { ["succeeded", "failed", "cancelled"].contains(s) }
}
