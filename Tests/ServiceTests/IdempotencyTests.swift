import Foundation
import Service
import Synchronization
import TestSupport
import Testing

struct IdempotencyTests {
    @Test func aRetriedCallReplaysTheFirstResponse() throws {
        let t = try TestApp()
        let key = "ci-\(UUID().uuidString)"
        let first = try t.request("POST", "/v1/experiments", headers: ["Idempotency-Key": key], body: validBody)
        #expect(first.status == 201)
        // The same request, re-serialized differently: still the same request.
        let reordered = #"{"timeframes":["1h","15m"], "datasets":[{"path":"samples/EURUSD_1m.csv","symbol":"EURUSD"}], "name":"fx"}"#
        let again = try t.request("POST", "/v1/experiments", headers: ["Idempotency-Key": key], body: reordered)
        #expect(again.status == 201)
        #expect(again.text == first.text)
        #expect(again.header("Location") == first.header("Location"))
        #expect(again.header("Idempotent-Replayed") == "true")
        let list = try t.request("GET", "/v1/experiments").json["items"] as? [Any]
        #expect(list?.count == 1)

        let other = try t.request(
            "POST", "/v1/experiments", headers: ["Idempotency-Key": key], body: validBody.replacingOccurrences(of: "\"fx\"", with: "\"fy\"")
        )
        #expect(other.status == 422)
        #expect(other.json["field"] as? String == "Idempotency-Key")
        #expect(
            try t.request("POST", "/v1/experiments", headers: ["Idempotency-Key": String(repeating: "k", count: 300)], body: validBody)
                .status == 400)
    }

    @Test func concurrentCallsWithOneKeyCreateOneExperiment() throws {
        let t = try TestApp()
        let key = "race-\(UUID().uuidString)"
        let ids = Mutex<[String]>([])
        let port = t.port
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                if let r = try? httpRequest(
                    port: port, "POST", "/v1/experiments", headers: ["Idempotency-Key": key, "Content-Type": "application/json"],
                    body: Array(validBody.utf8)),
                    let id = r.json["id"] as? String
                {
                    ids.withLock { $0.append(id) }
                }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 20) == .success)
        #expect(ids.withLock { $0.count } == 8)
        #expect(Set(ids.withLock { $0 }).count == 1)
        #expect((try t.request("GET", "/v1/experiments").json["items"] as? [Any])?.count == 1)
    }
}

struct ScopedIdempotencyTests {
    @Test func aKeyBelongsToTheTokenThatUsedIt() throws {
        let t = try TestApp(tokens: ReloadTokens.file(["alpha", "beta"]))
        let key = "ci-\(UUID().uuidString)"
        func post(_ who: String, _ body: String = validBody) throws -> RawHTTPConnection.Response {
            try t.request("POST", "/v1/experiments", token: ReloadTokens.token(who), headers: ["Idempotency-Key": key], body: body)
        }
        let a = try post("alpha")
        #expect(a.status == 201)
        // Another token, the same key and body: its own experiment, not alpha's.
        let b = try post("beta")
        #expect(b.status == 201)
        #expect(b.header("Idempotent-Replayed") == nil)
        let aID = try #require(a.json["id"] as? String)
        let bID = try #require(b.json["id"] as? String)
        #expect(aID != bID)
        // Within a token: replay, and a different body is still refused.
        let again = try post("alpha")
        #expect(again.status == 201)
        #expect(again.json["id"] as? String == aID)
        #expect(again.header("Idempotent-Replayed") == "true")
        #expect(try post("beta").json["id"] as? String == bID)
        let other = try post("alpha", validBody.replacingOccurrences(of: "\"fx\"", with: "\"fy\""))
        #expect(other.status == 422)
        #expect(other.json["field"] as? String == "Idempotency-Key")
        // A third token may use the key with a body of its own.
        try (ReloadTokens.file(["alpha", "beta", "gamma"])).write(toFile: t.app.settings.tokensFile!, atomically: true, encoding: .utf8)
        #expect(
            ReloadTokens.secondsUntil { (try? t.request("GET", "/v1/experiments", token: ReloadTokens.token("gamma")).status) == 200 }
                != nil)
        #expect(try post("gamma", validBody.replacingOccurrences(of: "\"fx\"", with: "\"fz\"")).status == 201)
        let items = try t.request("GET", "/v1/experiments", token: ReloadTokens.token("alpha")).json["items"] as? [Any]
        #expect(items?.count == 3)
    }

    /// Keys stored without a token (before keys were scoped, or by a server
    /// without tokens) are honoured for every token: a retry across the
    /// upgrade does not start a second experiment.
    @Test func aKeyStoredWithoutATokenStillReplays() throws {
        let key = "ci-\(UUID().uuidString)"
        let database: String
        let firstID: String
        do {
            let open = try TestApp()
            database = open.databaseURL
            let r = try open.request("POST", "/v1/experiments", headers: ["Idempotency-Key": key], body: validBody)
            #expect(r.status == 201)
            firstID = try #require(r.json["id"] as? String)
        }
        let t = try TestApp(tokens: ReloadTokens.file(["alpha"]), databaseURL: database)
        let r = try t.request(
            "POST", "/v1/experiments", token: ReloadTokens.token("alpha"), headers: ["Idempotency-Key": key], body: validBody)
        #expect(r.status == 201)
        #expect(r.json["id"] as? String == firstID)
        #expect(r.header("Idempotent-Replayed") == "true")
    }
}
