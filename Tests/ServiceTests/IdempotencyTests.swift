import Foundation
import Synchronization
import Testing
import TestSupport

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

        let other = try t.request("POST", "/v1/experiments", headers: ["Idempotency-Key": key], body: validBody.replacingOccurrences(of: "\"fx\"", with: "\"fy\""))
        #expect(other.status == 422)
        #expect(other.json["field"] as? String == "Idempotency-Key")
        #expect(try t.request("POST", "/v1/experiments", headers: ["Idempotency-Key": String(repeating: "k", count: 300)], body: validBody).status == 400)
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
