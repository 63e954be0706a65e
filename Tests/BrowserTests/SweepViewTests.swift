import Foundation
import TestSupport
import Testing

extension WebViewTests {
    /// A sweep's page shows its leaderboard; picking two points opens the
    /// compare page, which draws one equity curve per experiment.
    @Test func sweepPageShowsTheLeaderboardAndComparePageDrawsOneCurvePerExperiment() throws {
        let server = try WebFixture.start()
        let datasets = WebTestServer.symbols.map { #"{"symbol":"\#($0)","path":"samples/\#($0)_1m.csv"}"# }.joined(separator: ",")
        let base =
            #"{"datasets":[\#(datasets)],"timeframes":["1h"],"stages":["load","resample","merge","features","patterns","forecast","fusion","analysis"],"config":{"export":{"formats":["csv"]},"forecast":{"horizon_bars":4}}}"#
        let r = try server.request(
            "POST", "/v1/sweeps",
            body: #"{"name":"web-sweep","base":\#(base),"parameters":{"config.fusion.quality_threshold":[0.5,0.6]},"max_parallel":2}"#)
        #expect(r.status == 201, "\(r.text)")
        let sweep = try #require(r.json["id"] as? String)
        let deadline = Date().addingTimeInterval(180)
        var shown: [String: Any] = [:]
        while Date() < deadline {
            shown = try server.request("GET", "/v1/sweeps/\(sweep)").json
            if shown["state"] as? String == "finished" { break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect((shown["counts"] as? [String: Any])?["succeeded"] as? Int == 2, "\(shown)")
        let board = try server.request("GET", "/v1/sweeps/\(sweep)/leaderboard").json["items"] as? [[String: Any]] ?? []
        let ids = board.compactMap { $0["experiment_id"] as? String }
        #expect(ids.count == 2)

        let browser = try Chromium(width: 1280, height: 900)
        defer { browser.close() }
        try browser.signIn(server, token: WebTokens.operatorToken)
        try browser.show("#/sweeps")
        try browser.waitFor("document.querySelector('#sweeps tr[data-id=\"\(sweep)\"]')", timeout: 5, what: "the sweep in the list")
        try browser.show("#/sweeps/\(sweep)")
        try browser.waitFor(
            "document.querySelectorAll('#leaderboard tbody tr[data-state=\"succeeded\"]').length === 2", timeout: 5,
            what: "the leaderboard's two succeeded points")
        let listed =
            try browser.evaluate("[...document.querySelectorAll('#leaderboard tbody tr')].map(r => r.dataset.id).join()") as? String
        #expect(listed == ids.joined(separator: ","))
        #expect(try browser.evaluate("document.querySelector('#sweep-state').textContent") as? String == "finished")
        // Delete is for admin tokens only: an operator does not see it.
        #expect(try browser.evaluate("document.querySelector('#sweep-delete') === null") as? Bool == true)

        // Pick both points and compare them.
        try browser.evaluate(
            "document.querySelectorAll('#leaderboard tbody input[type=checkbox]').forEach(b => b.click()); document.querySelector('#compare-picked').click(); true"
        )
        let canvas = "document.querySelector('#compare-equity')"
        try browser.waitFor(
            "\(canvas) && \(canvas).dataset.series === '2' && Number(\(canvas).dataset.points) > 0", timeout: 10,
            what: "two equity curves on the compare page")
        #expect(
            try browser.evaluate("document.querySelector('#config-diff-table tr[data-path=\"config.fusion.quality_threshold\"]') !== null")
                as? Bool == true)
        #expect(try browser.number("document.querySelectorAll('#config-diff-table tbody tr').length") == 1)
        try WebFixture.saveScreenshot(try browser.screenshot(), "web-compare.png")
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }

    /// An admin deletes a sweep from its page: a confirmation first (keeping
    /// it changes nothing), then the sweep and its children are gone and the
    /// page goes back to the sweeps list.
    @Test func anAdminDeletesASweepFromItsPageAfterAConfirmation() throws {
        let server = try WebFixture.start()
        let datasets = WebTestServer.symbols.map { #"{"symbol":"\#($0)","path":"samples/\#($0)_1m.csv"}"# }.joined(separator: ",")
        let r = try server.request(
            "POST", "/v1/sweeps",
            body:
                #"{"name":"web-delete","base":{"datasets":[\#(datasets)],"timeframes":["1h"],"stages":["load"]},"parameters":{"config.fusion.quality_threshold":[0.5,0.6]}}"#
        )
        #expect(r.status == 201, "\(r.text)")
        let sweep = try #require(r.json["id"] as? String)
        let children = (try server.request("GET", "/v1/sweeps/\(sweep)/leaderboard").json["items"] as? [[String: Any]] ?? []).compactMap {
            $0["experiment_id"] as? String
        }
        #expect(children.count == 2)

        let browser = try Chromium(width: 1280, height: 900)
        defer { browser.close() }
        try browser.signIn(server, token: WebTokens.admin)
        try browser.show("#/sweeps/\(sweep)")
        try browser.waitFor("document.querySelector('#sweep-delete')", timeout: 5, what: "Delete for an admin")
        try browser.evaluate("document.querySelector('#sweep-delete').click(); true")
        try browser.waitFor("document.querySelector('#delete-dialog[open]')", timeout: 3, what: "the confirmation")
        try browser.evaluate("document.querySelector('#delete-dialog [data-choice=\"cancel\"]').click(); true")
        try browser.waitFor("!document.querySelector('#delete-dialog')", timeout: 3, what: "the dialog to close")
        #expect(try server.request("GET", "/v1/sweeps/\(sweep)").status == 200)
        try browser.evaluate("document.querySelector('#sweep-delete').click(); true")
        try browser.waitFor("document.querySelector('#delete-dialog[open]')", timeout: 3, what: "the confirmation again")
        try browser.evaluate("document.querySelector('#delete-dialog [data-choice=\"ok\"]').click(); true")
        try browser.waitFor(
            "location.hash === '#/sweeps' && document.querySelector('#sweeps')", timeout: 60, what: "the sweeps list after deleting")
        #expect(try server.request("GET", "/v1/sweeps/\(sweep)").status == 404)
        for child in children { #expect(try server.request("GET", "/v1/experiments/\(child)").status == 404) }
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }
}
