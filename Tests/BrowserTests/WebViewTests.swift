import Foundation
import MarketData
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// One server for the suite (a fresh database, sample data, every product
/// stage) and one finished default experiment for the chart, started as soon
/// as the first test asks for the server so that it runs meanwhile.
enum WebFixture {
    static let server: Result<WebTestServer, any Error> = Result { try WebTestServer(days: 10) }

    /// The default experiment (every stage) over the sample data; default
    /// exports (Parquet, and `equity.csv.gz` that the equity chart reads).
    static let analysed: Result<String, any Error> = Result {
        let s = try server.get()
        return try s.create(
            name: "fx-majors",
            stages: ["load", "resample", "merge", "features", "patterns", "forecast", "fusion", "export", "analysis"],
            timeframes: ["15m", "1h"],
            config: #"{"forecast":{"horizon_bars":4},"fusion":{"quality_threshold":0.5}}"#)
    }

    /// The server, with the default experiment under way.
    static func start() throws -> WebTestServer {
        let s = try server.get()
        _ = try analysed.get()
        return s
    }

    /// The package root (for `docs/`).
    static var root: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    static func saveScreenshot(_ png: Data, _ name: String) throws {
        let dir = root.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try png.write(to: dir.appendingPathComponent(name))
    }
}

extension Chromium {
    /// Opens the web view and types `token` into its form (kept in sessionStorage).
    func signIn(_ server: WebTestServer, token: String) throws {
        try navigate(server.base + "/ui/")
        try waitFor("document.querySelector('#token-form')", timeout: 5, what: "the token form")
        try evaluate(
            """
            (() => { const i = document.querySelector('#token-input'); i.value = \(Self.js(token));
              document.querySelector('#token-form').requestSubmit(); return true; })()
            """)
        try waitFor("document.querySelector('#experiments')", timeout: 5, what: "the experiments list after signing in")
    }

    /// Switches the single-page app to `hash` (`#/experiments/ID`).
    func show(_ hash: String) throws { try evaluate("location.hash = \(Self.js(hash)); true") }

    /// A JavaScript string literal.
    static func js(_ s: String) -> String {
        let data = try? JSONSerialization.data(withJSONObject: [s])
        let array = data.map { String(decoding: $0, as: UTF8.self) } ?? "[\"\"]"
        return String(array.dropFirst().dropLast())
    }

    func number(_ expression: String) throws -> Double {
        let v = try evaluate(expression)
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        if let s = v as? String, let d = Double(s) { return d }
        throw Chromium.Failure(description: "`\(expression)` is not a number: \(String(describing: v))")
    }
}

@Suite(.serialized)
struct WebViewTests {
    /// The list shows a new experiment within 1 s; its page follows the
    /// progress tree and the live logs (each line within 1 s), and the
    /// Pause/Resume buttons follow the state.
    @Test func liveExperimentPage() throws {
        let server = try WebFixture.start()
        let browser = try Chromium()
        defer { browser.close() }
        try browser.signIn(server, token: WebTokens.operatorToken)
        #expect(try browser.evaluate("sessionStorage.getItem('signalforge.token')") as? String == WebTokens.operatorToken)
        #expect(try browser.evaluate("document.querySelector('#scope').textContent") as? String == "operate token")

        // The list polls every 500 ms: a new experiment shows up without a reload
        // (how soon is a figure printed here, not asserted: timings belong to benchmarks).
        let t0 = Date()
        let id = try server.create(name: "scripted-live", stages: ["load"], timeframes: ["1h"])
        guard let uuid = UUID(uuidString: id) else { throw Chromium.Failure(description: "bad id \(id)") }
        defer { server.load.release(uuid) }
        try browser.waitFor("document.querySelector('#experiments tr[data-id=\"\(id)\"]')", timeout: 3, what: "the new experiment's row")
        let listed = Date().timeIntervalSince(t0)
        print("web view: the list showed the new experiment \(String(format: "%.2f", listed)) s after it was started")
        try browser.waitFor(
            "document.querySelector('#experiments tr[data-id=\"\(id)\"]').dataset.status === 'running'", timeout: 5,
            what: "the row to say running")

        // A full load of the page keeps the token (typed once per tab).
        try browser.navigate(server.base + "/ui/#/experiments/\(id)")
        try browser.waitFor("document.querySelector('#status[data-status=\"running\"]')", timeout: 5, what: "the experiment page")
        #expect(try browser.evaluate("document.querySelector('#token-form') === null") as? Bool == true)

        // Progress advances while it runs.
        let root = "document.querySelector('#progress-tree [data-path=\"pipeline\"]')"
        try browser.waitFor("\(root) && Number(\(root).dataset.percent) > 0", timeout: 5, what: "progress above 0")
        let p1 = try browser.number("Number(\(root).dataset.percent)")
        try browser.waitFor("Number(\(root).dataset.percent) > \(p1)", timeout: 10, what: "progress to advance past \(p1)")
        #expect(try browser.evaluate("document.querySelector('#progress-tree [data-path=\"pipeline/load\"]') !== null") as? Bool == true)

        // Live logs: each posted line reaches the page while it runs (the worst delay is printed).
        try browser.waitFor("document.querySelector('#log-stream[data-state=\"live\"]')", timeout: 5, what: "the log stream")
        var worst = 0.0
        for n in 0..<3 {
            let message = "browser probe \(n) \(UUID().uuidString.prefix(8))"
            let start = Date()
            server.load.post(message, to: uuid)
            try browser.waitFor(
                "[...document.querySelectorAll('#logs .line .msg')].some(e => e.textContent.includes(\(Chromium.js(message))))",
                timeout: 5, what: "log line '\(message)'")
            worst = max(worst, Date().timeIntervalSince(start))
        }
        print("web view: the slowest of 3 log lines reached the page in \(String(format: "%.2f", worst)) s")

        // A dropped stream reconnects with Last-Event-ID: the next line arrives, none twice.
        let stream = "document.querySelector('#log-stream').dataset.state"
        try browser.evaluate("SignalForgeUI.current().logs.controller.abort(); true")
        try browser.waitFor("\(stream) === 'reconnecting'", timeout: 3, what: "the page to notice the dropped stream")
        try browser.waitFor("\(stream) === 'live'", timeout: 5, what: "the stream to come back")
        let resumed = "after the reconnect \(UUID().uuidString.prefix(8))"
        server.load.post(resumed, to: uuid)
        try browser.waitFor(
            "[...document.querySelectorAll('#logs .line .msg')].some(e => e.textContent.includes(\(Chromium.js(resumed))))",
            timeout: 3, what: "the line after the reconnect")
        let ids = try browser.evaluate("[...document.querySelectorAll('#logs .line')].map(l => Number(l.dataset.id))") as? [Int] ?? []
        #expect(ids.count > 5 && ids == ids.sorted() && Set(ids).count == ids.count, "log lines repeated or out of order: \(ids)")
        print("web view: listed after \(listed) s, slowest log line \(worst) s")

        // Pause with the button: Resume enabled, Pause disabled.
        #expect(try browser.evaluate("document.querySelector('#btn-pause').disabled") as? Bool == false)
        #expect(try browser.evaluate("document.querySelector('#btn-resume').disabled") as? Bool == true)
        try browser.evaluate("document.querySelector('#btn-pause').click(); true")
        try browser.waitFor(
            "document.querySelector('#status').dataset.status === 'paused' && !document.querySelector('#btn-resume').disabled"
                + " && document.querySelector('#btn-pause').disabled",
            timeout: 5, what: "Resume enabled and Pause disabled after pausing")
        #expect(try server.experiment(id)["status"] as? String == "paused")
        #expect(try browser.evaluate("document.querySelector('#btn-cancel').disabled") as? Bool == false)
        let held = try browser.number("Number(\(root).dataset.percent)")
        Thread.sleep(forTimeInterval: 0.7)
        #expect(try browser.number("Number(\(root).dataset.percent)") == held, "progress moved while paused")

        // Resume through the API: the page follows within a poll.
        #expect(try server.request("POST", "/v1/experiments/\(id)/resume").status == 202)
        try browser.waitFor(
            "document.querySelector('#status').dataset.status === 'running' && !document.querySelector('#btn-pause').disabled"
                + " && document.querySelector('#btn-resume').disabled",
            timeout: 3, what: "Pause enabled again after resuming")

        // Resource samples (every 2 s) reach the charts while it runs.
        try browser.waitFor("Number(document.querySelector('#metric-rss').dataset.points) > 0", timeout: 5, what: "an RSS sample")

        // Let it finish: the stream ends, nothing is left to control.
        server.load.release(uuid)
        try browser.waitFor("document.querySelector('#status').dataset.status === 'succeeded'", timeout: 10, what: "succeeded")
        try browser.waitFor("document.querySelector('#log-stream[data-state=\"ended\"]')", timeout: 5, what: "the log stream's end")
        for b in ["pause", "resume", "cancel", "retry"] {
            #expect(try browser.evaluate("document.querySelector('#btn-\(b)').disabled") as? Bool == true, "\(b) enabled after success")
        }
        try browser.waitFor("document.querySelector('#events tr[data-kind]')", timeout: 5, what: "the events table")
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }

    /// A read token sees the experiment but every control is disabled, with the reason.
    @Test func readTokenControlsNothing() throws {
        let server = try WebFixture.start()
        let id = try server.create(name: "scripted-read", stages: ["load"], timeframes: ["1h"])
        guard let uuid = UUID(uuidString: id) else { throw Chromium.Failure(description: "bad id \(id)") }
        defer { server.load.release(uuid) }
        let browser = try Chromium()
        defer { browser.close() }
        try browser.signIn(server, token: WebTokens.reader)
        #expect(try browser.evaluate("document.querySelector('#scope').textContent") as? String == "read-only token")
        try browser.show("#/experiments/\(id)")
        try browser.waitFor("document.querySelector('#status[data-status=\"running\"]')", timeout: 5, what: "the running experiment")
        try browser.waitFor("document.querySelector('#logs .line')", timeout: 5, what: "its logs")
        for b in ["pause", "resume", "cancel", "retry"] {
            #expect(try browser.evaluate("document.querySelector('#btn-\(b)').disabled") as? Bool == true, "\(b) enabled for a read token")
        }
        #expect(try browser.evaluate("document.querySelector('#btn-pause').dataset.allowed") as? String == "true")
        #expect(try browser.evaluate("!document.querySelector('#control-note').hidden") as? Bool == true)
        let note = try browser.evaluate("document.querySelector('#control-note').textContent") as? String ?? ""
        #expect(note.contains("read"), "\(note)")
        #expect(try server.request("POST", "/v1/experiments/\(id)/pause", token: WebTokens.reader).status == 403)
        #expect(try server.experiment(id)["status"] as? String == "running")
        server.load.release(uuid)
        #expect(try server.waitFor(id, timeout: 10) { $0["status"] as? String == "succeeded" }["status"] as? String == "succeeded")
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }

    /// The experiment page shows only the buttons the experiment allows: the
    /// resource's `allowed_actions` when the server sends it (the old rules
    /// otherwise); pin/unpin and delete only when the resource has `pinned`,
    /// delete for an admin token only, after a confirmation.
    @Test func controlsFollowAllowedActions() throws {
        let server = try WebFixture.start()
        let id = try server.create(name: "scripted-allowed", stages: ["load"], timeframes: ["1h"])
        guard let uuid = UUID(uuidString: id) else { throw Chromium.Failure(description: "bad id \(id)") }
        defer { server.load.release(uuid) }
        let browser = try Chromium()
        defer { browser.close() }
        try browser.signIn(server, token: WebTokens.admin)
        #expect(try browser.evaluate("document.querySelector('#scope').textContent") as? String == "admin token")
        try browser.show("#/experiments/\(id)")

        let controls = ["pause", "resume", "cancel", "retry"]
        let shown = "[...document.querySelectorAll('#controls button')].filter(b => !b.hidden).map(b => b.dataset.action).join()"
        /// The buttons the page should show for the resource as it is now.
        func expected(_ e: [String: Any], fallback: [String]) -> [String] {
            let listed = e["allowed_actions"] as? [String]
            var allowed = listed.map { a in controls.filter { a.contains($0) } } ?? fallback
            guard let pinned = e["pinned"] as? Bool else { return allowed }
            let history = ["pin", "unpin", "delete"]
            if let listed, listed.contains(where: history.contains) {
                allowed += history.filter { listed.contains($0) }
            } else {
                allowed += [pinned ? "unpin" : "pin", "delete"]
            }
            return allowed
        }
        for (state, fallback, act) in [
            ("running", ["pause", "cancel"], { try server.request("POST", "/v1/experiments/\(id)/pause").status == 202 }),
            ("paused", ["resume", "cancel"], { try server.request("POST", "/v1/experiments/\(id)/resume").status == 202 }),
        ] as [(String, [String], () throws -> Bool)] {
            let e = try server.waitFor(id, timeout: 5) { $0["status"] as? String == state }
            try #require(e["status"] as? String == state, "\(e)")
            let want = expected(e, fallback: fallback)
            try browser.waitFor(
                "document.querySelector('#status').dataset.status === '\(state)' && \(shown) === '\(want.joined(separator: ","))'",
                timeout: 5, what: "the buttons \(want) while \(state)")
            for b in controls where !want.contains(b) {
                #expect(try browser.evaluate("document.querySelector('#btn-\(b)').disabled") as? Bool == true, "\(b) while \(state)")
            }
            #expect(try act())
        }
        server.load.release(uuid)
        let done = try server.waitFor(id, timeout: 10) { $0["status"] as? String == "succeeded" }
        try #require(done["status"] as? String == "succeeded", "\(done)")
        let final = expected(done, fallback: [])
        try browser.waitFor(
            "document.querySelector('#status').dataset.status === 'succeeded' && \(shown) === '\(final.joined(separator: ","))'",
            timeout: 5, what: "the buttons \(final) after success")

        // The decision itself, for shapes the server may send (before and after allowed_actions and pins).
        let decide = """
            import('/ui/lifecycle.js').then(m => [
              { status: 'running' }, { status: 'paused' }, { status: 'failed' }, { status: 'succeeded' },
              { status: 'running', allowed_actions: ['cancel'] }, { status: 'failed', allowed_actions: [] },
              { status: 'succeeded', pinned: false }, { status: 'succeeded', pinned: true, allowed_actions: [] },
              { status: 'running', allowed_actions: ['pause', 'cancel', 'delete'], pinned: false },
            ].map(e => [...m.allowedActions(e)].sort().join()))
            """
        #expect(
            try browser.evaluate(decide) as? [String] == [
                "cancel,pause", "cancel,resume", "retry", "", "cancel", "", "delete,pin", "delete,unpin", "cancel,delete,pause",
            ])

        if done["pinned"] is Bool {
            // Pin and unpin (HISTORY's routes), then delete: the dialog first; keeping it changes nothing.
            try browser.evaluate("document.querySelector('#btn-pin').click(); true")
            try browser.waitFor(
                "!document.querySelector('#btn-unpin').hidden && !document.querySelector('#exp-pinned').hidden",
                timeout: 5, what: "Unpin after pinning")
            #expect(try server.experiment(id)["pinned"] as? Bool == true)
            try browser.evaluate("document.querySelector('#btn-unpin').click(); true")
            try browser.waitFor("!document.querySelector('#btn-pin').hidden", timeout: 5, what: "Pin after unpinning")
            #expect(try server.experiment(id)["pinned"] as? Bool == false)

            try browser.evaluate("document.querySelector('#btn-delete').click(); true")
            try browser.waitFor("document.querySelector('#delete-dialog[open]')", timeout: 3, what: "the confirmation")
            try browser.evaluate("document.querySelector('#delete-dialog [data-choice=\"cancel\"]').click(); true")
            try browser.waitFor("!document.querySelector('#delete-dialog')", timeout: 3, what: "the dialog to close")
            #expect(try server.request("GET", "/v1/experiments/\(id)").status == 200)
            try browser.evaluate("document.querySelector('#btn-delete').click(); true")
            try browser.waitFor("document.querySelector('#delete-dialog[open]')", timeout: 3, what: "the confirmation again")
            try browser.evaluate("document.querySelector('#delete-dialog [data-choice=\"ok\"]').click(); true")
            try browser.waitFor(
                "location.hash === '#/' && document.querySelector('#experiments')", timeout: 10, what: "the list after deleting")
            // Gone (a delete may finish just after it answers): 404 within 10 s.
            let deadline = Date().addingTimeInterval(10)
            var gone = try server.request("GET", "/v1/experiments/\(id)").status
            while gone != 404 && Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
                gone = try server.request("GET", "/v1/experiments/\(id)").status
            }
            #expect(gone == 404)
            try browser.waitFor(
                "!document.querySelector('#experiments tr[data-id=\"\(id)\"]')", timeout: 3, what: "the row to go")

            // An operate token sees no delete button at all.
            let other = try server.create(name: "scripted-operate", stages: ["load"], timeframes: ["1h"])
            if let u = UUID(uuidString: other) { server.load.release(u) }
            try server.waitFor(other, timeout: 10) { $0["status"] as? String == "succeeded" }
            let operate = try Chromium()
            defer { operate.close() }
            try operate.signIn(server, token: WebTokens.operatorToken)
            try operate.show("#/experiments/\(other)")
            try operate.waitFor(
                "document.querySelector('#status[data-status=\"succeeded\"]') && !document.querySelector('#btn-pin').hidden",
                timeout: 5, what: "the finished experiment with its Pin button")
            #expect(try operate.evaluate("document.querySelector('#btn-delete').hidden") as? Bool == true)
            #expect(operate.pageErrors.isEmpty, "page errors: \(operate.pageErrors)")
        } else {
            // A server without pins: no pin, unpin or delete button.
            for b in ["pin", "unpin", "delete"] {
                #expect(try browser.evaluate("document.querySelector('#btn-\(b)').hidden") as? Bool == true, "\(b) shown without pins")
            }
        }
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }

    /// The header shows the server (`GET /v1/system`), with the details in its
    /// title; a finished default experiment's tree has its fourth level.
    @Test func headerShowsTheServerAndTheTreeItsSubsteps() throws {
        let server = try WebFixture.start()
        let id = try WebFixture.analysed.get()
        let done = try server.waitFor(id, timeout: 50) { ["succeeded", "failed", "cancelled"].contains($0["status"] as? String ?? "") }
        try #require(done["status"] as? String == "succeeded", "the default experiment did not succeed: \(done)")
        let browser = try Chromium()
        defer { browser.close() }
        try browser.signIn(server, token: WebTokens.reader)
        try browser.waitFor("!document.querySelector('#system').hidden", timeout: 5, what: "the server readout")
        let text = try browser.evaluate("document.querySelector('#system').textContent") as? String ?? ""
        #expect(
            text.range(of: #"^\d+ running · \d+ queued · RSS [\d.]+[kM]? MiB · disk \d+% used"#, options: .regularExpression) != nil,
            "\(text)")
        let title = try browser.evaluate("document.querySelector('#system').title") as? String ?? ""
        #expect(title.contains("instance ") && title.contains("open fds") && title.contains("database up"), "\(title)")

        try browser.show("#/experiments/\(id)")
        let substeps = "document.querySelectorAll('#progress-tree .node.k-substep')"
        try browser.waitFor("\(substeps).length > 0", timeout: 5, what: "substeps in the tree")
        let paths = try browser.evaluate("[...\(substeps)].map(n => n.dataset.path)") as? [String] ?? []
        for stage in ["load", "forecast", "export"] {
            #expect(paths.contains { $0.hasPrefix("pipeline/\(stage)/") && $0.split(separator: "/").count == 4 }, "\(stage): \(paths)")
        }

        // The theme button switches the one palette between its light and dark colours (and back), charts redrawn.
        let background = "getComputedStyle(document.body).backgroundColor"
        #expect(try browser.evaluate(background) as? String == "rgb(246, 247, 249)")
        try browser.evaluate("document.querySelector('#theme').click(); true")
        #expect(try browser.evaluate("document.documentElement.dataset.theme") as? String == "dark")
        #expect(try browser.evaluate(background) as? String == "rgb(15, 18, 22)")
        try browser.evaluate("document.querySelector('#theme').click(); true")
        #expect(try browser.evaluate("document.documentElement.dataset.theme") as? String == "light")
        #expect(try browser.evaluate(background) as? String == "rgb(246, 247, 249)")
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }

    /// The chart draws one candle per bar of the chosen range and one marker
    /// per accepted signal in it; hovering a marker shows the quality and its
    /// six components. Saves docs/web-experiment.png and docs/web-view.png.
    @Test func chartShowsBarsAndAcceptedSignals() throws {
        let server = try WebFixture.start()
        let id = try WebFixture.analysed.get()
        let done = try server.waitFor(id, timeout: 50) { ["succeeded", "failed", "cancelled"].contains($0["status"] as? String ?? "") }
        try #require(done["status"] as? String == "succeeded", "the default experiment did not succeed: \(done)")

        // The symbol × timeframe with the most accepted signals.
        let all =
            try server.request("GET", "/v1/experiments/\(id)/signals?accepted=true&limit=5000").json["items"] as? [[String: Any]] ?? []
        var counts: [String: Int] = [:]
        for s in all { counts["\(s["symbol"] ?? "")|\(s["timeframe"] ?? "")", default: 0] += 1 }
        let best = try #require(counts.max { $0.value < $1.value }?.key, "no accepted signals at all")
        let parts = best.split(separator: "|").map(String.init)
        let (symbol, timeframe) = (parts[0], parts[1])
        guard let tf = Timeframe(rawValue: timeframe) else { throw Chromium.Failure(description: "bad timeframe \(timeframe)") }

        // What the chart should show, from the checkpoint itself.
        let file = MergeStage.chartBarsURL(
            server.app.engine.configuration.dataDirectory.appendingPathComponent("experiments/\(id)"), tf)
        let table = try #require(TableCheckpoint.read(file), "no chart bars at \(file.path)")
        func expected(lastBars: Int) -> (bars: Int, first: Int64, last: Int64, markers: Int) {
            let stamps = Array(table.timestamps.suffix(lastBars))
            let first = stamps.first ?? 0, last = stamps.last ?? 0
            let signals = all.filter { s in
                guard s["symbol"] as? String == symbol, s["timeframe"] as? String == timeframe,
                    let t = (s["timestamp"] as? String).flatMap(Self.micros)
                else { return false }
                return t >= first && t <= last
            }
            return (stamps.count, first, last, signals.count)
        }

        let browser = try Chromium(width: 1280, height: 900)
        defer { browser.close() }
        try browser.signIn(server, token: WebTokens.operatorToken)
        let canvas = "document.querySelector('#candles')"
        for bars in [1000, 100] {
            try browser.show("#/experiments/\(id)?symbol=\(symbol)&timeframe=\(timeframe)&bars=\(bars)")
            let want = expected(lastBars: bars)
            try browser.waitFor(
                "\(canvas).dataset.state === 'ready' && \(canvas).dataset.timeframe === '\(timeframe)'"
                    + " && \(canvas).dataset.symbol === '\(symbol)' && \(canvas).dataset.candles === '\(want.bars)'",
                timeout: 10, what: "the \(symbol) \(timeframe) chart of \(want.bars) bars")
            #expect(try browser.number("\(canvas).dataset.candles") == Double(want.bars))
            #expect(try browser.number("\(canvas).dataset.first") == Double(want.first))
            #expect(try browser.number("\(canvas).dataset.last") == Double(want.last))
            #expect(try browser.number("\(canvas).dataset.markers") == Double(want.markers), "range of \(bars) bars")
            if bars == 1000 { #expect(want.markers > 0) }
        }

        // The range menu: back to 1000 bars.
        try browser.evaluate(
            "const r = document.querySelector('#chart-range'); r.value = '1000'; r.dispatchEvent(new Event('change')); true")
        let wide = expected(lastBars: 1000)
        try browser.waitFor(
            "\(canvas).dataset.state === 'ready' && \(canvas).dataset.candles === '\(wide.bars)'", timeout: 10, what: "the wide chart")
        #expect(try browser.number("\(canvas).dataset.markers") == Double(wide.markers))

        // A quieter view for the picture; hover a marker: the tooltip shows the quality and its six components.
        // (Issue 13: with the calibrated quality, accepted signals are rarer: take the
        // series with the most of them and the last 1000 bars, which hold some.)
        try browser.show("#/experiments/\(id)?symbol=\(symbol)&timeframe=\(timeframe)&bars=1000")
        try browser.waitFor(
            "\(canvas).dataset.state === 'ready' && \(canvas).dataset.timeframe === '\(timeframe)' && Number(\(canvas).dataset.markers) > 0",
            timeout: 10, what: "the \(symbol) \(timeframe) chart with markers")
        try browser.evaluate(
            """
            (() => { const c = SignalForgeUI.current().candles; const m = c.markers[Math.floor(c.markers.length * 0.4)];
              const r = c.canvas.getBoundingClientRect();
              c.canvas.dispatchEvent(new MouseEvent('mousemove', { clientX: r.left + m.x, clientY: r.top + m.y, bubbles: true }));
              return true; })()
            """)
        let tip =
            try browser.evaluate(
                "document.querySelector('#candle-tooltip').hidden ? '' : document.querySelector('#candle-tooltip').textContent") as? String
            ?? ""
        for word in [
            "Quality", "Entry", "Stop", "Target", "Pattern strength", "Multi-timeframe agreement", "Regime confidence",
            "Volume confirmation", "Sentiment alignment", "Correlation safety",
        ] {
            #expect(tip.contains(word), "the marker tooltip lacks \(word): \(tip)")
        }
        // The equity curve and the report.
        try browser.waitFor("Number(document.querySelector('#equity').dataset.points) > 0", timeout: 5, what: "the equity curve")
        try browser.waitFor("document.querySelector('#report .stats')", timeout: 5, what: "the backtest figures")
        try browser.waitFor("Number(document.querySelector('#logs').dataset.count) > 0", timeout: 5, what: "the logs")
        let samples = try server.request("GET", "/v1/experiments/\(id)/metrics?limit=5000").json["items"] as? [[String: Any]] ?? []
        let rss = samples.filter { $0["rss_bytes"] is NSNumber }.count
        try browser.waitFor(
            "Number(document.querySelector('#metric-rss').dataset.points) === \(rss)", timeout: 5, what: "the RSS chart's \(rss) samples")

        try WebFixture.saveScreenshot(try browser.screenshot(), "web-experiment.png")
        try browser.emulateColorScheme("dark")
        try WebFixture.saveScreenshot(try browser.screenshot(), "web-experiment-dark.png")
        try browser.emulateColorScheme("light")

        // The list, for the other picture: one experiment of each kind (a
        // paused one keeps its runner, so the failing one goes first).
        let bad = try server.writeData(
            "samples/BROKEN_1m.csv",
            "timestamp,open,high,low,close,volume\n2024-01-01T00:00:00Z,1.1,1.2,1.0,1.1,5\n2024-01-01T00:01:00Z,1.1,1.0,1.2,1.1,5\n")
        let failed = try server.create(name: "broken-upload", stages: ["load", "resample"], timeframes: ["1h"], files: [("BROKEN", bad)])
        #expect(try server.waitFor(failed, timeout: 10) { $0["status"] as? String == "failed" }["status"] as? String == "failed")
        let running = try server.create(name: "scripted-backfill", priority: "high", stages: ["load"], timeframes: ["1h"])
        let paused = try server.create(name: "scripted-nightly", priority: "low", stages: ["load"], timeframes: ["1h"])
        defer {
            for e in [running, paused] { if let u = UUID(uuidString: e) { server.load.release(u) } }
        }
        try server.waitFor(paused, timeout: 5) { ($0["percent"] as? Double ?? 0) > 3 }
        #expect(try server.request("POST", "/v1/experiments/\(paused)/pause").status == 202)
        try server.waitFor(paused, timeout: 5) { $0["status"] as? String == "paused" }
        try browser.setViewport(width: 1280, height: 720)
        try browser.show("#/")
        try browser.waitFor(
            "['\(running)', '\(paused)', '\(failed)', '\(id)'].every(i => document.querySelector(`#experiments tr[data-id=\"${i}\"]`))"
                + " && document.querySelector('#experiments tr[data-id=\"\(paused)\"]').dataset.status === 'paused'"
                + " && document.querySelector('#experiments tr[data-id=\"\(failed)\"]').dataset.status === 'failed'",
            timeout: 5, what: "the list with every kind of experiment")
        try browser.waitFor(
            "Number(document.querySelector('#experiments tr[data-id=\"\(running)\"]').dataset.percent) > 10", timeout: 5,
            what: "the running experiment's progress")
        try WebFixture.saveScreenshot(try browser.screenshot(fullPage: false), "web-view.png")

        // The state filter.
        try browser.evaluate("document.querySelector('#status-filter [data-status=\"paused\"]').click(); true")
        try browser.waitFor(
            "[...document.querySelectorAll('#experiments tbody tr')].map(r => r.dataset.id).join() === '\(paused)'", timeout: 3,
            what: "only the paused experiment")
        #expect(try server.request("POST", "/v1/experiments/\(paused)/cancel").status == 202)
        #expect(browser.pageErrors.isEmpty, "page errors: \(browser.pageErrors)")
    }

    static func micros(_ iso: String) -> Int64? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        guard let d = f.date(from: iso) ?? ISO8601DateFormatter().date(from: iso) else { return nil }
        return Int64((d.timeIntervalSince1970 * 1_000_000).rounded())
    }
}
