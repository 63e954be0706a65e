import Foundation
import Hashing
import Store
import Synchronization
import TestSupport
import Testing

@testable import Service

/// The tokens file used by the auth tests, and the tokens it hashes.
enum TestTokens {
    static let reader = "sf_reader_token_for_tests"
    static let operatorToken = "sf_operator_token_for_tests"
    static var file: String {
        """
        # test tokens
        reader read \(SHA256.hex(Array(reader.utf8)))

        ops operate \(SHA256.hex(Array(operatorToken.utf8)))
        """
    }
}

struct AuthTests {
    @Test func tokensAndScopes() throws {
        let t = try TestApp(tokens: TestTokens.file)
        let none = try t.request("GET", "/v1/experiments")
        #expect(none.status == 401)
        #expect(none.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        #expect(none.header("Content-Type") == "application/problem+json")
        #expect(try t.request("GET", "/v1/experiments", token: "sf_wrong").status == 401)
        #expect(try t.request("GET", "/v1/experiments", headers: ["Authorization": "Basic abc"]).status == 401)
        #expect(try t.request("GET", "/v1/experiments", token: TestTokens.reader).status == 200)
        let forbidden = try t.request("POST", "/v1/experiments", token: TestTokens.reader, body: validBody)
        #expect(forbidden.status == 403)
        #expect(forbidden.json["required_scope"] as? String == "operate")
        #expect(try t.request("POST", "/v1/experiments", token: TestTokens.operatorToken, body: validBody).status == 201)
        // Health routes are open.
        #expect(try t.request("GET", "/healthz").status == 200)
        #expect(try t.request("GET", "/readyz").status == 200)
        #expect(try t.request("GET", "/metrics").status == 200)
    }

    @Test func whoamiNamesTheTokenAndItsScope() throws {
        let t = try TestApp(tokens: TestTokens.file)
        #expect(try t.request("GET", "/v1/whoami").status == 401)
        let reader = try t.request("GET", "/v1/whoami", token: TestTokens.reader).json
        #expect(reader["name"] as? String == "reader")
        #expect(reader["scope"] as? String == "read")
        #expect(reader["auth"] as? Bool == true)
        #expect(try t.request("GET", "/v1/whoami", token: TestTokens.operatorToken).json["scope"] as? String == "operate")
        let open = try TestApp().request("GET", "/v1/whoami").json
        #expect(open["auth"] as? Bool == false)
        #expect(open["scope"] as? String == "admin")
    }

    @Test func refusesToListenBeyondLoopbackWithoutTokens() throws {
        #expect(throws: StartupError.self) {
            _ = try TestApp(configure: { $0.address = "0.0.0.0" })
        }
        // With tokens it starts.
        let t = try TestApp(tokens: TestTokens.file, configure: { $0.address = "0.0.0.0" })
        #expect(try t.request("GET", "/healthz").status == 200)
    }

    @Test func unauthorizedUploadIsRefusedBeforeTheBody() throws {
        let t = try TestApp(tokens: TestTokens.file)
        let c = try RawHTTPConnection(port: t.port)
        c.send("POST /v1/experiments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        let r = try c.readResponse()
        #expect(r.status == 401)
    }
}

struct ExperimentAPITests {
    @Test func createShowAndList() throws {
        let t = try TestApp()
        let created = try t.request("POST", "/v1/experiments", body: validBody)
        #expect(created.status == 201)
        let id = try #require(created.json["id"] as? String)
        #expect(created.header("Location") == "/v1/experiments/\(id)")
        #expect(created.json["status"] as? String == "queued")
        #expect(created.json["priority"] as? String == "medium")
        #expect(created.json["percent"] as? Double == 0)
        #expect(created.json["started_at"] is NSNull)
        let request = try #require(created.json["request"] as? [String: Any])
        #expect(request["timeframes"] as? [String] == ["15m", "1h"])
        #expect((request["stages"] as? [String])?.count == 9)

        let shown = try t.request("GET", "/v1/experiments/\(id)")
        #expect(shown.status == 200)
        #expect(shown.json["id"] as? String == id)
        #expect(shown.json["name"] as? String == "fx")
        #expect((shown.json["created_at"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func concurrentReadsAreBatchedAndEachGetsItsOwnExperiment() throws {
        let t = try TestApp()
        var ids: [String] = []
        for i in 0..<8 {
            let r = try t.request("POST", "/v1/experiments", body: validBody.replacingOccurrences(of: "\"fx\"", with: "\"fx\(i)\""))
            ids.append(try #require(r.json["id"] as? String))
        }
        let unknown = UUID().uuidString.lowercased()
        let failures = Mutex<[String]>([])
        let port = t.port
        let known = ids
        DispatchQueue.concurrentPerform(iterations: 16) { worker in
            let ids = known
            do {
                let c = try RawHTTPConnection(port: port)
                for round in 0..<25 {
                    let k = (worker + round) % 9
                    if k == 8 {
                        let r = try c.request("GET", "/v1/experiments/\(unknown)")
                        if r.status != 404 { failures.withLock { $0.append("unknown id: \(r.status)") } }
                        continue
                    }
                    let r = try c.request("GET", "/v1/experiments/\(ids[k])")
                    if r.status != 200 || r.json["id"] as? String != ids[k] || r.json["name"] as? String != "fx\(k)" {
                        failures.withLock { $0.append("\(ids[k]): \(r.status) \(r.text)") }
                    }
                }
            } catch { failures.withLock { $0.append("\(error)") } }
        }
        #expect(failures.withLock { $0 } == [])
        // Every request answered once: by a batched query or from the row cache.
        let stats = t.app.reader.statistics
        let hits = t.app.rowCache?.statistics.hits ?? 0
        #expect(stats.served + hits == 400)
        #expect(stats.batches <= stats.served)
    }

    @Test func listPagesWithACursor() throws {
        let t = try TestApp()
        var ids: [String] = []
        for i in 0..<5 {
            let r = try t.request("POST", "/v1/experiments", body: validBody.replacingOccurrences(of: "\"fx\"", with: "\"fx\(i)\""))
            ids.append(try #require(r.json["id"] as? String))
        }
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let target = "/v1/experiments?limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
            let page = try t.request("GET", target)
            #expect(page.status == 200)
            let items = try #require(page.json["items"] as? [[String: Any]])
            #expect(items.count <= 2)
            seen += items.compactMap { $0["id"] as? String }
            cursor = page.json["next_cursor"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 3)
        #expect(seen == ids.reversed())
        let queued = try t.request("GET", "/v1/experiments?status=queued&limit=500")
        #expect((queued.json["items"] as? [Any])?.count == 5)
        let running = try t.request("GET", "/v1/experiments?status=running")
        #expect((running.json["items"] as? [Any])?.count == 0)
    }

    @Test func badQueriesAreProblemsNamingTheField() throws {
        let t = try TestApp()
        let status = try t.request("GET", "/v1/experiments?status=sleeping")
        #expect(status.status == 400)
        #expect(status.json["field"] as? String == "status")
        let limit = try t.request("GET", "/v1/experiments?limit=0")
        #expect(limit.status == 400)
        #expect(limit.json["field"] as? String == "limit")
        let cursor = try t.request("GET", "/v1/experiments?cursor=garbage")
        #expect(cursor.status == 400)
        #expect(cursor.json["field"] as? String == "cursor")
        #expect(try t.request("GET", "/v1/experiments/not-a-uuid").status == 404)
        #expect(try t.request("GET", "/v1/experiments/\(UUID().uuidString)").status == 404)
    }

    @Test func malformedJSONSaysWhereItBroke() throws {
        let t = try TestApp()
        let r = try t.request("POST", "/v1/experiments", body: "{\n  \"name\": \"x\",\n  \"datasets\": [1,,2]\n}")
        #expect(r.status == 400)
        #expect(r.header("Content-Type") == "application/problem+json")
        let detail = try #require(r.json["detail"] as? String)
        #expect(detail.contains("line 3, column 18"), "\(detail)")
        #expect(r.json["line"] as? String == "3")
        #expect(try t.request("POST", "/v1/experiments", body: "").status == 400)
        #expect(try t.request("POST", "/v1/experiments", body: "[]").status == 400)
        let wrongType = try t.request("POST", "/v1/experiments", headers: ["Content-Type": "text/csv"], body: validBody)
        #expect(wrongType.status == 415)
    }

    @Test func invalidMembersAreNamed() throws {
        let t = try TestApp()
        let cases: [(String, String)] = [
            (#"{"datasets":[{"symbol":"A","path":"a.csv"}],"priority":"urgent"}"#, "priority"),
            (#"{"datasets":[]}"#, "datasets"),
            (#"{}"#, "datasets"),
            (#"{"datasets":[{"symbol":"A","path":"../../etc/passwd"}]}"#, "datasets[0].path"),
            (#"{"datasets":[{"symbol":"A","path":"/etc/passwd"}]}"#, "datasets[0].path"),
            (#"{"datasets":[{"symbol":"A","dataset_id":"nope"}]}"#, "datasets[0].dataset_id"),
            (#"{"datasets":[{"symbol":"A"}]}"#, "datasets[0]"),
            (#"{"datasets":[{"symbol":"A b","path":"a.csv"}]}"#, "datasets[0].symbol"),
            (#"{"datasets":[{"symbol":"A","path":"a.csv"}],"timeframes":["2h"]}"#, "timeframes[0]"),
            (#"{"datasets":[{"symbol":"A","path":"a.csv"}],"stages":["fusion"]}"#, "stages"),
            (
                #"{"datasets":[{"symbol":"A","path":"a.csv"}],"config":{"fusion":{"quality_threshold":2}}}"#,
                "config.fusion.quality_threshold"
            ),
            (#"{"datasets":[{"symbol":"A","path":"a.csv"}],"colour":"red"}"#, "colour"),
        ]
        for (body, field) in cases {
            let r = try t.request("POST", "/v1/experiments", body: body)
            #expect(r.status == 400, "\(body)")
            #expect(r.json["field"] as? String == field, "\(body) → \(r.text)")
        }
        let p = try t.request("POST", "/v1/experiments", body: cases[0].0)
        #expect(p.json["allowed"] as? String == "high, medium, low")
        // Nothing was stored by the refused requests.
        let list = try t.request("GET", "/v1/experiments")
        #expect((list.json["items"] as? [Any])?.count == 0)
    }

    @Test func sqlInjectionIsStoredVerbatim() throws {
        let t = try TestApp()
        let evil = #"x'); DROP TABLE experiments; -- \" $1 \\ ' OR '1'='1"#
        let body = "{\"name\":\(Service.JSONValue.string(evil).serialized),\"datasets\":[{\"symbol\":\"A\",\"path\":\"a.csv\"}]}"
        let r = try t.request("POST", "/v1/experiments", body: body)
        #expect(r.status == 201)
        let id = try #require(r.json["id"] as? String)
        let back = try t.request("GET", "/v1/experiments/\(id)")
        #expect(back.json["name"] as? String == evil)
        #expect(try t.request("GET", "/v1/experiments").status == 200)
    }

    /// Hostile and odd input never produces a 5xx.
    @Test func noClientInputProducesA5xx() throws {
        let t = try TestApp()
        let bodies = [
            "", "{", "}", "null", "1e999", "\"\\ud800\"", String(repeating: "[", count: 10_000), "{\"a\":1,\"a\":2}",
            "{\"datasets\":[{\"symbol\":\"\u{0}\",\"path\":\"a\"}]}", "\u{FEFF}{}",
            "{\"name\":\"\\u0000\",\"datasets\":[{\"symbol\":\"A\",\"path\":\"a\"}]}",
            String(repeating: "x", count: 5000),
        ]
        for b in bodies {
            let r = try t.request("POST", "/v1/experiments", body: b)
            #expect(r.status < 500 && r.status >= 400, "body \(b.prefix(40)) → \(r.status) \(r.text)")
        }
        let targets = [
            "/v1/experiments?limit=abc", "/v1/experiments?limit=99999999999999999999", "/v1/experiments/%00",
            "/v1/experiments/%2e%2e%2f", "/v1/experiments?cursor=%ff%fe", "/v1/experiments?status=",
            "/v1/experiments/" + String(repeating: "a", count: 3000), "/%", "//", "/v1//experiments",
        ]
        for target in targets {
            let r = try t.request("GET", target)
            #expect(r.status < 500, "\(target) → \(r.status) \(r.text)")
        }
    }
}
