import Foundation
import MarketData
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// The web view's static files, over plain HTTP.
struct UITests {
    @Test func servesTheEmbeddedFilesWithoutAToken() throws {
        let t = try TestApp(tokens: TestTokens.file)
        let page = try t.request("GET", "/ui/")
        #expect(page.status == 200)
        #expect(page.header("Content-Type") == "text/html; charset=utf-8")
        #expect(page.text.contains("<script type=\"module\" src=\"main.js\""))
        #expect(page.header("Content-Security-Policy")?.contains("script-src 'self'") == true)
        #expect(page.header("Cache-Control") == "no-cache")

        let redirect = try t.request("GET", "/ui")
        #expect(redirect.status == 301)
        #expect(redirect.header("Location") == "/ui/")

        // Every file of Sources/Service/UI, with the type its extension says; ES modules need a JavaScript type.
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Service/UI")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasPrefix(".") }.sorted()
        let types = [
            "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
            "svg": "image/svg+xml",
        ]
        #expect(names.contains("main.js") && names.contains("chart.js") && names.contains("app.css"), "\(names)")
        for name in names {
            let type = try #require(types[String(name.split(separator: ".").last ?? "")], "\(name): no type expected")
            let r = try t.request("GET", "/ui/\(name)")
            #expect(r.status == 200, "\(name)")
            #expect(r.header("Content-Type") == type, "\(name)")
            #expect(r.header("X-Content-Type-Options") == "nosniff")
            #expect(!r.body.isEmpty)
            let source = try String(contentsOf: dir.appendingPathComponent(name), encoding: .utf8)
            #expect(r.text == source, "\(name) differs from its source")

            // Every module a module imports is one of the files served.
            if name.hasSuffix(".js") {
                let imports = source.matches(of: /from '\.\/([\w-]+\.js)'/).map { String($0.output.1) }
                for target in imports { #expect(names.contains(target), "\(name) imports \(target), which is not served") }
            }

            // Revalidation.
            let etag = try #require(r.header("ETag"))
            let again = try t.request("GET", "/ui/\(name)", headers: ["If-None-Match": etag])
            #expect(again.status == 304)
            #expect(again.body.isEmpty)
        }
        let head = try t.request("HEAD", "/ui/main.js")
        #expect(head.status == 200)

        let missing = try t.request("GET", "/ui/nope.js")
        #expect(missing.status == 404)
        #expect(missing.header("Content-Type") == "application/problem+json")
        #expect(missing.json["field"] as? String == "file")
        #expect(try t.request("GET", "/ui/..%2Fopenapi.yaml").status == 400)  // encoded '/' refused at the edge
        #expect(try t.request("POST", "/ui/").status == 405)

        // The API the page calls still needs the token.
        #expect(try t.request("GET", "/v1/experiments").status == 401)
        #expect(try t.request("GET", "/v1/experiments/\(UUID())/bars?symbol=EURUSD&timeframe=1h").status == 401)
        #expect(try t.request("GET", "/v1/experiments/\(UUID())/bars?symbol=EURUSD&timeframe=1h", token: TestTokens.reader).status == 404)
    }
}

/// `GET /v1/experiments/{id}/bars`: the merged bars of one symbol × timeframe.
struct BarsTests {
    @Test func barsComeFromTheMergedTable() throws {
        let t = try TestApp(stages: StageRegistry(MarketDataStages.all))
        try StageTests.sample(t, days: 3)
        let id = try t.create(StageTests.body(stages: ["load", "resample", "merge"], timeframes: ["15m", "1h"]))
        let token: String? = nil
        let done = try t.waitFor(id, timeout: 60, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")

        // Succeeded: the merged checkpoints are gone; the chart's bars are kept (OHLCV only, exact).
        let folder = t.app.engine.configuration.dataDirectory.appendingPathComponent("experiments/\(id)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("checkpoints").path))
        let table = try #require(TableCheckpoint.read(MergeStage.chartBarsURL(folder, .h1)))
        #expect(table.columns.map(\.name).allSatisfy { ["_open", "_high", "_low", "_close", "_volume"].contains(where: $0.hasSuffix) })
        #expect(table.count == 3 * 24)

        // Everything, oldest first, columns index-aligned with the table.
        let all = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=GBPUSD&timeframe=1h", token: token)
        #expect(all.status == 200)
        #expect(all.header("Content-Type") == "application/json")
        let j = all.json
        #expect(j["symbol"] as? String == "GBPUSD")
        #expect(j["timeframe"] as? String == "1h")
        #expect(j["count"] as? Int == table.count)
        #expect(j["truncated"] as? Bool == false)
        let stamps = (j["timestamps"] as? [NSNumber] ?? []).map(\.int64Value)
        #expect(stamps == table.timestamps)
        for name in ["open", "high", "low", "close", "volume"] {
            let values = (j[name] as? [NSNumber] ?? []).map(\.doubleValue)
            #expect(values == table.column("gbpusd_\(name)"), "\(name)")
        }

        // Symbols are case-insensitive; limit keeps the latest bars; from/to (µs or RFC 3339) are inclusive.
        let last10 = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=gbpusd&timeframe=1h&limit=10", token: token).json
        #expect(last10["count"] as? Int == 10)
        #expect(last10["truncated"] as? Bool == true)
        #expect((last10["timestamps"] as? [NSNumber] ?? []).map(\.int64Value) == Array(table.timestamps.suffix(10)))
        let from = table.timestamps[5], to = table.timestamps[9]
        let window = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=EURUSD&timeframe=1h&from=\(from)&to=\(to)", token: token).json
        #expect((window["timestamps"] as? [NSNumber] ?? []).map(\.int64Value) == Array(table.timestamps[5...9]))
        let iso = try t.request(
            "GET", "/v1/experiments/\(id)/bars?symbol=EURUSD&timeframe=1h&from=2024-01-01T05:00:00Z&to=2024-01-01T09:00:00.000000Z",
            token: token
        ).json
        #expect(iso["count"] as? Int == 5, "\(iso)")
        let fifteen = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=USDJPY&timeframe=15m&limit=100000", token: token).json
        #expect(fifteen["count"] as? Int == 3 * 24 * 4)

        // 400 naming the field.
        let bad: [(String, String)] = [
            ("timeframe=1h", "symbol"), ("symbol=EURUSD", "timeframe"), ("symbol=EURUSD&timeframe=2h", "timeframe"),
            ("symbol=EURUSD&timeframe=1h&from=yesterday", "from"), ("symbol=EURUSD&timeframe=1h&to=x", "to"),
            ("symbol=EURUSD&timeframe=1h&from=\(to)&to=\(from)", "from"), ("symbol=EURUSD&timeframe=1h&limit=0", "limit"),
            ("symbol=EURUSD&timeframe=1h&limit=100001", "limit"),
        ]
        for (query, field) in bad {
            let e = try t.request("GET", "/v1/experiments/\(id)/bars?\(query)", token: token)
            #expect(e.status == 400, "\(query)")
            #expect(e.json["field"] as? String == field, "\(query): \(e.text)")
        }
        // 404: unknown experiment, timeframe not computed, unknown symbol.
        let unknown = try t.request("GET", "/v1/experiments/\(UUID())/bars?symbol=EURUSD&timeframe=1h", token: token)
        #expect(unknown.status == 404)
        #expect(try t.request("GET", "/v1/experiments/not-a-uuid/bars?symbol=EURUSD&timeframe=1h", token: token).status == 404)
        let noTF = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=EURUSD&timeframe=4h", token: token)
        #expect(noTF.status == 404)
        #expect(noTF.json["field"] as? String == "timeframe")
        #expect((noTF.json["detail"] as? String)?.contains("15m, 1h") == true, "\(noTF.text)")
        let noSymbol = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=AUDUSD&timeframe=1h", token: token)
        #expect(noSymbol.status == 404)
        #expect(noSymbol.json["field"] as? String == "symbol")
        #expect((noSymbol.json["detail"] as? String)?.contains("EURUSD") == true, "\(noSymbol.text)")
    }

    /// Before the merge stage has run there are no bars: a 404 that says so.
    @Test func noBarsBeforeTheMerge() throws {
        let t = try TestApp(stages: StageRegistry([ChunkedStage(name: "load", units: 2000, chunkSeconds: 0.005)]))
        let id = try t.create(body("early", stages: ["load"]))
        let r = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=EURUSD&timeframe=1h")
        #expect(r.status == 404)
        #expect((r.json["detail"] as? String)?.contains("merge stage") == true, "\(r.text)")
        _ = try t.request("POST", "/v1/experiments/\(id)/cancel")
    }
}
