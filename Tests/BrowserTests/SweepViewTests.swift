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
}
