import Testing

@testable import MicroHTTP

struct RouterTests {
    func table() -> RouteTable {
        var r = Router()
        r.get("/healthz") { _ in .text("ok") }
        r.get("/v1/experiments") { _ in .text("list") }
        r.post("/v1/experiments") { _ in .text("create") }
        r.get("/v1/experiments/{id}") { _ in .text("one") }
        r.post("/v1/experiments/{id}/pause") { _ in .text("pause") }
        r.get("/v1/experiments/{id}/artifacts/{name}") { _ in .text("artifact") }
        return r.freeze()
    }

    @Test func staticRouteMatches() {
        guard case .found(let route, let params) = table().match(.get, "/healthz") else {
            Issue.record("no match")
            return
        }
        #expect(route.pattern == "/healthz")
        #expect(params.isEmpty)
    }

    @Test func pathParametersAreExtracted() {
        guard case .found(let route, let params) = table().match(.get, "/v1/experiments/abc/artifacts/x.csv") else {
            Issue.record("no match")
            return
        }
        #expect(route.pattern == "/v1/experiments/{id}/artifacts/{name}")
        #expect(params == ["id": "abc", "name": "x.csv"])
    }

    @Test func methodsShareAPath() {
        guard case .found(let route, _) = table().match(.post, "/v1/experiments") else {
            Issue.record("no match")
            return
        }
        #expect(route.method == .post)
    }

    @Test func headIsServedByGet() {
        guard case .found(let route, _) = table().match(.head, "/v1/experiments/1") else {
            Issue.record("no match")
            return
        }
        #expect(route.method == .get)
    }

    @Test func trailingSlashIsTolerated() {
        guard case .found = table().match(.get, "/v1/experiments/") else {
            Issue.record("no match")
            return
        }
    }

    @Test func unknownPathIsNotFound() {
        guard case .notFound = table().match(.get, "/v1/nothing") else {
            Issue.record("expected notFound")
            return
        }
        guard case .notFound = table().match(.get, "/v1/experiments/1/pause/extra") else {
            Issue.record("expected notFound")
            return
        }
    }

    @Test func wrongMethodListsAllowed() {
        guard case .methodNotAllowed(let allowed) = table().match(.delete, "/v1/experiments") else {
            Issue.record("expected 405")
            return
        }
        #expect(allowed == [.get, .head, .post])
        guard case .methodNotAllowed(let a2) = table().match(.get, "/v1/experiments/7/pause") else {
            Issue.record("expected 405")
            return
        }
        #expect(a2 == [.post])
    }

    @Test func headersAreCaseInsensitive() {
        var h = HTTPHeaders()
        h.add("Content-Type", "application/json")
        h.add("X-Multi", "1")
        h.add("x-multi", "2")
        #expect(h["content-type"] == "application/json")
        #expect(h["CONTENT-TYPE"] == "application/json")
        #expect(h.values("X-MULTI") == ["1", "2"])
        #expect(h["content-typ"] == nil)
        #expect(h["Content-Typf"] == nil)
        h.replace("X-MULTI", "3")
        #expect(h.values("x-multi") == ["3"])
    }

    @Test func problemJSONEscapes() {
        let p = ProblemDetails(status: 400, detail: "bad \"quote\"\n", extensions: [("field", "a\\b")])
        #expect(p.json == #"{"type":"about:blank","title":"Bad Request","status":400,"detail":"bad \"quote\"\n","field":"a\\b"}"#)
    }
}
