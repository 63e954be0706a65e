import Foundation
import MarketData
import Pipeline
import Service
import Stages
import TestSupport
import Testing

/// Timeframes through a real server: monthly data runs as `1M` and is annualised
/// with 12 periods a year; data is never silently treated as another timeframe.
struct TimeframeServiceTests {
    static let header = "timestamp,open,high,low,close,volume\n"

    /// 156 monthly bars of a BTCUSD-like random walk (2012-01 … 2024-12), opening
    /// on the 1st of each month, 00:00 UTC.
    static func monthlyCSV() throws -> String {
        let dir = try TempDir()
        let config = SyntheticMarket.Configuration(
            symbols: ["BTCUSD"], timeframe: .mo1, start: 1_325_376_000_000_000, bars: 156, seed: 2012)
        let files = try SyntheticMarket.writeCSV(config, to: dir.url.path)
        return try String(contentsOfFile: files[0].path, encoding: .utf8)
    }

    static func upload(_ t: TestApp, _ csv: String, query: String) throws -> RawHTTPConnection.Response {
        try httpRequest(port: t.port, "POST", "/v1/datasets?" + query, headers: ["Content-Type": "text/csv"], body: Array(csv.utf8))
    }

    /// Writes `text` at `relative` under the server's data root.
    static func place(_ t: TestApp, _ relative: String, _ text: String) throws {
        let url = URL(fileURLWithPath: t.app.settings.dataDir).appendingPathComponent(relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: true, encoding: .utf8)
    }

    @Test func monthlyDataRunsAsMonthsWithTwelvePeriodsAYear() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        let csv = try Self.monthlyCSV()
        #expect(csv.split(separator: "\n").count == 157)
        #expect(csv.contains("\n2012-02-01T00:00:00Z,") && csv.contains("\n2024-12-01T00:00:00Z,"))

        // 1M and 1m are different timeframes: the bars are months, so 1m (or 1d) is refused.
        let minute = try Self.upload(t, csv, query: "symbol=BTCUSD&timeframe=1m")
        #expect(minute.status == 422, "\(minute.text)")
        #expect((minute.json["reason"] as? String)?.contains("the bars are 1M bars") == true, "\(minute.text)")
        #expect(try Self.upload(t, csv, query: "symbol=BTCUSD&timeframe=1d").status == 422)
        let month = try Self.upload(t, csv, query: "symbol=BTCUSD&timeframe=1M")
        #expect(month.status == 201, "\(month.text)")
        #expect(month.json["timeframe"] as? String == "1M")
        #expect(month.json["row_count"] as? Int == 156)
        let dataset = try #require(month.json["id"] as? String)
        #expect((try t.request("GET", "/v1/datasets?timeframe=1M").json["items"] as? [Any])?.count == 1)
        #expect((try t.request("GET", "/v1/datasets?timeframe=1m").json["items"] as? [Any])?.count == 0)

        // Treating months as hours or days is refused when the experiment is created.
        for finer in [#"["1h"]"#, #"["1d","1M"]"#, #"["1w"]"#] {
            let r = try t.request(
                "POST", "/v1/experiments", body: #"{"datasets":[{"symbol":"BTCUSD","dataset_id":"\#(dataset)"}],"timeframes":\#(finer)}"#)
            #expect(r.status == 400, "\(finer): \(r.text)")
            #expect(r.json["field"] as? String == "timeframes", "\(r.text)")
            #expect((r.json["detail"] as? String)?.contains("has 1M bars") == true, "\(r.text)")
        }

        let body = #"""
            {"name":"btc-monthly","datasets":[{"symbol":"BTCUSD","dataset_id":"\#(dataset)"}],"timeframes":["1M"],
             "config":{"export":{"formats":["csv"]},"forecast":{"horizon_bars":3,"min_train":40},
                       "fusion":{"quality_threshold":0.0},
                       "analysis":{"spread":0,"commission":0,"initial_equity":10000,"max_holding_bars":6}}}
            """#
        let id = try t.create(body)
        let done = try t.waitFor(id, timeout: 120, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let logs = try t.request("GET", "/v1/experiments/\(id)/logs?stage=load&limit=100").json["items"] as? [[String: Any]] ?? []
        #expect(
            logs.contains {
                ($0["message"] as? String) == "dataset loaded" && ($0["fields"] as? [String: Any])?["timeframe"] as? String == "1M"
            }
                || logs.contains { "\($0)".contains("1M") }, "\(logs)")

        // The merged bars are the 156 months, on the 1st of each month.
        let bars = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=BTCUSD&timeframe=1M&limit=1000").json
        let stamps = try #require(bars["timestamps"] as? [Any])
        #expect(stamps.count == 156)
        #expect("\(stamps.first!)".hasPrefix("2012-01-01") || "\(stamps.first!)" == "1325376000000000", "\(stamps.first!)")

        // The report: traded, and its Sharpe annualised with 12 periods a year.
        let report = try t.request("GET", "/v1/experiments/\(id)/report").json
        let backtest = try #require(report["backtest"] as? [String: Any])
        let results = try #require(backtest["results"] as? [[String: Any]])
        let series = try #require(results.first)
        #expect(series["timeframe"] as? String == "1M")
        let metrics = try #require(series["metrics"] as? [String: Any])
        #expect(metrics["periods_per_year"] as? Double == 12)
        #expect((backtest["summary"] as? [String: Any])?["periods_per_year"] as? Double == 12)
        #expect((metrics["trades"] as? Int ?? 0) > 0, "\(metrics)")
        let sharpe = try #require(metrics["sharpe"] as? Double, "\(metrics)")

        // Recompute it from the report's own per-period returns (the equity curve artifact).
        let equityCSV = try t.request("GET", "/v1/experiments/\(id)/artifacts/equity.csv")
        #expect(equityCSV.status == 200)
        let rows = equityCSV.text.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let equity = rows.filter { $0[0] == "BTCUSD" && $0[1] == "1M" }.compactMap { Double($0[3]) }
        #expect(equity.count == 156)
        var returns: [Double] = []
        var previous = 10000.0
        for e in equity { returns.append(e / previous - 1); previous = e }
        let mean = returns.reduce(0, +) / Double(returns.count)
        let sd = (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(returns.count - 1)).squareRoot()
        let expected = mean / sd * (12.0).squareRoot()
        #expect(abs(sharpe - expected) <= 1e-9 * max(1, abs(expected)), "sharpe \(sharpe) vs \(expected)")
        // Not what it would be as hours, days or weeks.
        for wrong in [8766.0, 365.25, 52] { #expect(abs(sharpe - mean / sd * wrong.squareRoot()) > 1e-6) }
    }

    @Test func irregularFilesAreRefusedNamingTheFirstGap() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        // Hourly bars, the 11th at 10:37: line 12 (header on line 1).
        var csv = Self.header
        for h in 0..<24 {
            let minute = h == 10 ? 37 : 0
            csv += String(format: "2024-01-01T%02d:%02d:00Z,100,101,99,100.5,10\n", h, minute)
        }
        // Declared as 1h: that bar is off the 1h grid.
        let hourly = try Self.upload(t, csv, query: "symbol=X&timeframe=1h")
        #expect(hourly.status == 422, "\(hourly.text)")
        #expect(hourly.json["line"] as? Int == 12, "\(hourly.text)")
        // Declared as 1m (every bar is on the minute grid): still not 1m data, and not 1h data either.
        let minute = try Self.upload(t, csv, query: "symbol=X&timeframe=1m")
        #expect(minute.status == 422, "\(minute.text)")
        #expect(minute.header("Content-Type") == "application/problem+json")
        #expect(minute.json["line"] as? Int == 12, "\(minute.text)")
        let reason = minute.json["reason"] as? String ?? ""
        #expect(reason.contains("fit no timeframe"), "\(reason)")
        #expect(reason.contains("between line 11 and line 12"), "\(reason)")
        #expect(reason.contains("2024-01-01T09:00:00Z → 2024-01-01T10:37:00Z"), "\(reason)")
        #expect((try t.request("GET", "/v1/datasets").json["items"] as? [Any])?.count == 0)

        // Gaps that are whole numbers of bars (a missing hour, a weekend) are fine.
        var gapped = Self.header
        for h in [0, 1, 2, 5, 6, 7] { gapped += String(format: "2024-01-01T%02d:00:00Z,100,101,99,100.5,10\n", h) }
        #expect(try Self.upload(t, gapped, query: "symbol=Y&timeframe=1h").status == 201)

        // The same irregular file by path: the experiment fails at load naming the gap.
        try Self.place(t, "odd/X.csv", csv)
        let id = try t.create(#"{"datasets":[{"symbol":"X","path":"odd/X.csv"}],"timeframes":["1h"],"stages":["load","resample"]}"#)
        let done = try t.waitFor(id, timeout: 60, StageTests.finished)
        #expect(done["status"] as? String == "failed")
        let error = "\(done["error"] ?? "")"
        #expect(
            error.contains("odd/X.csv") && error.contains("fit no timeframe") && error.contains("data row 10 and data row 11"), "\(error)")
    }

    /// Bars never one bar of any timeframe apart (daily bars on Mondays and
    /// Wednesdays only) do not tell their timeframe: an upload takes the declared
    /// one when every bar is on its grid, and `load` uses it; by path they fail.
    @Test func undeterminedBarsTakeTheDeclaredTimeframe() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        var csv = Self.header
        let monday: Int64 = 1_704_067_200  // 2024-01-01
        for week in 0..<30 {
            for offset in [0, 2] {
                let day = monday + Int64(week * 7 + offset) * 86_400
                csv += "\(day),100,101,99,100.5,10\n"
            }
        }
        let r = try Self.upload(t, csv, query: "symbol=MW&timeframe=1d")
        #expect(r.status == 201, "\(r.text)")
        #expect(r.json["timeframe"] as? String == "1d")
        let dataset = try #require(r.json["id"] as? String)
        // Declared 1h instead: also on its grid, and also recorded (nothing contradicts it).
        #expect(try Self.upload(t, csv, query: "symbol=MW&timeframe=1h").status == 201)
        // Declared 1w: Wednesdays are off the Monday grid.
        #expect(try Self.upload(t, csv, query: "symbol=MW&timeframe=1w").status == 422)
        let id = try t.create(
            #"{"datasets":[{"symbol":"MW","dataset_id":"\#(dataset)"}],"timeframes":["1d","1w"],"stages":["load","resample","merge"]}"#)
        let done = try t.waitFor(id, timeout: 60, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let weeks = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=MW&timeframe=1w&limit=1000").json
        #expect((weeks["timestamps"] as? [Any])?.count == 30, "\(weeks)")
        // The same file by path has no recorded timeframe: load fails naming the first gap.
        try Self.place(t, "mw/MW.csv", csv)
        let byPath = try t.create(#"{"datasets":[{"symbol":"MW","path":"mw/MW.csv"}],"timeframes":["1d"],"stages":["load"]}"#)
        let failed = try t.waitFor(byPath, timeout: 60, StageTests.finished)
        #expect(failed["status"] as? String == "failed")
        #expect("\(failed["error"] ?? "")".contains("no two consecutive bars are one bar"), "\(failed)")
        #expect("\(failed["error"] ?? "")".contains("between data row 1 and data row 2"), "\(failed)")
    }

    @Test func finerThanTheDataIsRefusedAndMixingMonthsWithDaysIsMadeCorrect() throws {
        let t = try TestApp(stages: StageRegistry(SignalForgeStages.all))
        try Self.place(t, "monthly/BTCUSD_1M.csv", try Self.monthlyCSV())
        // Daily bars of another symbol over 2023–2024.
        let config = SyntheticMarket.Configuration(symbols: ["ETHUSD"], timeframe: .d1, start: 1_672_531_200_000_000, bars: 731, seed: 5)
        try FileManager.default.createDirectory(atPath: t.app.settings.dataDir + "/daily", withIntermediateDirectories: true)
        let daily = try SyntheticMarket.writeCSV(config, to: t.app.settings.dataDir + "/daily")
        #expect(daily.first?.rows == 731)

        // A path whose first rows settle its timeframe: finer is a 400 at creation.
        let hourly = try t.request(
            "POST", "/v1/experiments", body: #"{"datasets":[{"symbol":"BTCUSD","path":"monthly/BTCUSD_1M.csv"}],"timeframes":["1h"]}"#)
        #expect(hourly.status == 400, "\(hourly.text)")
        #expect(hourly.json["field"] as? String == "timeframes")
        #expect((hourly.json["allowed"] as? String) == "1M", "\(hourly.text)")
        // Months mixed with days at 1d: refused (the months cannot be days).
        let mixedDaily = try t.request(
            "POST", "/v1/experiments",
            body:
                #"{"datasets":[{"symbol":"BTCUSD","path":"monthly/BTCUSD_1M.csv"},{"symbol":"ETHUSD","path":"daily/ETHUSD_1d.csv"}],"timeframes":["1d"]}"#
        )
        #expect(mixedDaily.status == 400 && mixedDaily.json["field"] as? String == "timeframes", "\(mixedDaily.text)")

        // Weeks cannot be made into months (a week can straddle two).
        try FileManager.default.createDirectory(atPath: t.app.settings.dataDir + "/weekly", withIntermediateDirectories: true)
        let weekly = SyntheticMarket.Configuration(symbols: ["SOLUSD"], timeframe: .w1, start: 1_704_067_200_000_000, bars: 60, seed: 9)
        _ = try SyntheticMarket.writeCSV(weekly, to: t.app.settings.dataDir + "/weekly")
        for asked in [#"["1M"]"#, #"["1w","1M"]"#] {
            let r = try t.request(
                "POST", "/v1/experiments", body: #"{"datasets":[{"symbol":"SOLUSD","path":"weekly/SOLUSD_1w.csv"}],"timeframes":\#(asked)}"#
            )
            #expect(r.status == 400 && r.json["field"] as? String == "timeframes", "\(r.text)")
            #expect((r.json["detail"] as? String)?.contains("straddle") == true, "\(r.text)")
        }
        #expect(
            try t.create(#"{"datasets":[{"symbol":"SOLUSD","path":"weekly/SOLUSD_1w.csv"}],"timeframes":["1w"],"stages":["load"]}"#).count
                == 36)

        // At 1M both are months: the daily symbol is resampled to calendar months, 24 shared rows.
        let id = try t.create(
            #"{"datasets":[{"symbol":"BTCUSD","path":"monthly/BTCUSD_1M.csv"},{"symbol":"ETHUSD","path":"daily/ETHUSD_1d.csv"}],"timeframes":["1M"],"stages":["load","resample","merge"]}"#
        )
        let done = try t.waitFor(id, timeout: 60, StageTests.finished)
        #expect(done["status"] as? String == "succeeded", "\(done)")
        let eth = try t.request("GET", "/v1/experiments/\(id)/bars?symbol=ETHUSD&timeframe=1M&limit=1000").json
        #expect((eth["timestamps"] as? [Any])?.count == 24, "\(eth)")
    }
}
