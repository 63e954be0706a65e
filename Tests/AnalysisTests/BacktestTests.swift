import Analysis
import Foundation
import Testing

/// The backtest on tiny series whose every figure is worked out by hand.
struct BacktestTests {
    static let hour: Int64 = 3_600_000_000

    /// Bars as (open, high, low, close), one per hour from 0.
    static func input(_ bars: [(Double, Double, Double, Double)], signals: [(Int, TradeDirection, Double, Double)]) -> BacktestInput {
        BacktestInput(
            symbol: "X", timeframe: "1h", barDurationMicros: hour,
            timestamps: bars.indices.map { Int64($0) * hour },
            open: bars.map(\.0), high: bars.map(\.1), low: bars.map(\.2), close: bars.map(\.3),
            signals: signals.map { BacktestSignal(timestamp: Int64($0.0) * hour, direction: $0.1, stop: $0.2, target: $0.3) })
    }

    /// One unit per trade, no costs, hold at most 3 bars.
    static var plain: AnalysisConfig {
        var c = AnalysisConfig()
        c.spread = 0
        c.commission = 0
        c.sizing = .units
        c.units = 1
        c.maxHoldingBars = 3
        return c
    }

    //   bar  open   high   low    close   what happens
    //   0    100    101    99     100     signal long, stop 98, target 104
    //   1    100    101    99.5   100.5   enter long at 100
    //   2    100.5  104.5  100    104     high ≥ 104: target, +4 (R +2); signal short, stop 106, target 101
    //   3    104    105    103    103.5   enter short at 104
    //   4    103.5  106.5  102    106     high ≥ 106: stop, −2 (R −1); signal long, stop 100, target 112
    //   5    106    107    105    106.5   enter long at 106; a signal here is skipped (in a position)
    //   6    106.5  107.5  106    107
    //   7    107    108    106.5  107.5   3rd bar held: time exit at 107.5, +1.5 (R 1.5/6 = 0.25); signal long, stop 105, target 110
    //   8    107.8  110.5  104.5  108     enter at 107.8; low ≤ 105 and high ≥ 110: stop first, −2.8 (R −1)
    //   9    108    108.5  107.5  108     a signal on the last bar is skipped
    static let bars: [(Double, Double, Double, Double)] = [
        (100, 101, 99, 100), (100, 101, 99.5, 100.5), (100.5, 104.5, 100, 104), (104, 105, 103, 103.5),
        (103.5, 106.5, 102, 106), (106, 107, 105, 106.5), (106.5, 107.5, 106, 107), (107, 108, 106.5, 107.5),
        (107.8, 110.5, 104.5, 108), (108, 108.5, 107.5, 108),
    ]
    static let signals: [(Int, TradeDirection, Double, Double)] = [
        (0, .long, 98, 104), (2, .short, 106, 101), (4, .long, 100, 112), (5, .short, 110, 100),
        (7, .long, 105, 110), (9, .long, 100, 120),
    ]

    @Test func handCheckedTrades() throws {
        let result = try Backtest.run(Self.input(Self.bars, signals: Self.signals), config: Self.plain)
        let t = result.trades
        #expect(t.map(\.exitReason) == [.target, .stop, .time, .stop])
        #expect(t.map(\.direction) == [.long, .short, .long, .long])
        #expect(t.map(\.entryPrice) == [100, 104, 106, 107.8])
        #expect(t.map(\.exitPrice) == [104, 106, 107.5, 105])
        #expect(t.map(\.entryTime) == [1, 3, 5, 8].map { $0 * Self.hour })
        #expect(t.map(\.exitTime) == [2, 4, 7, 8].map { $0 * Self.hour })
        #expect(t.map(\.signalTime) == [0, 2, 4, 7].map { $0 * Self.hour })
        #expect(t.map(\.barsHeld) == [2, 2, 3, 1])
        let pnl = [4.0, -2, 1.5, -2.8], r = [2.0, -1, 0.25, -1]
        for k in 0..<4 {
            #expect(abs(t[k].pnl - pnl[k]) < 1e-9)
            #expect(abs(t[k].r - r[k]) < 1e-9)
        }

        let m = result.metrics
        #expect(m.trades == 4 && m.wins == 2 && m.losses == 2)
        #expect(m.winRate == 0.5)
        #expect(abs(m.averageR - 0.0625) < 1e-12)  // (2 − 1 + 0.25 − 1) / 4
        #expect(abs(m.grossProfit - 5.5) < 1e-9 && abs(m.grossLoss - 4.8) < 1e-9)
        #expect(abs(m.profitFactor - 5.5 / 4.8) < 1e-9)
        #expect(abs(m.netProfit - 0.7) < 1e-9)
        #expect(m.skippedSignals == 2)  // bar 5 (in a position), bar 9 (last bar)
        #expect(m.exposure == 0.8)  // bars 1–8 in a position, of 10

        // Equity at each close: realized + open position marked at the close.
        let equity = [10000, 10000.5, 10004, 10004.5, 10002, 10002.5, 10003, 10003.5, 10000.7, 10000.7]
        #expect(result.equityCurve.map(\.timestamp) == (0..<10).map { Int64($0) * Self.hour })
        for (point, e) in zip(result.equityCurve, equity) { #expect(abs(point.equity - e) < 1e-9) }
        #expect(abs(m.finalEquity - 10000.7) < 1e-9)
        #expect(abs(m.totalReturn - 0.00007) < 1e-12)
        // Peak 10004.5 at bar 3, trough 10000.7 at bar 8.
        #expect(abs(m.maxDrawdown - 3.8 / 10004.5) < 1e-12)

        // Sharpe: per-bar returns (the first against the initial equity),
        // sample standard deviation, × √(365.25·24) for hourly bars.
        var returns: [Double] = []
        var previous = 10000.0
        for e in equity { returns.append(e / previous - 1); previous = e }
        let mean = returns.reduce(0, +) / 10
        let sd = (returns.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 9).squareRoot()
        #expect(abs(m.sharpe - mean / sd * (8766.0).squareRoot()) < 1e-9)
    }

    @Test func sharpeIsAnnualizedForTheTimeframe() throws {
        #expect(Backtest.barsPerYear(barDurationMicros: Self.hour) == 8766)
        #expect(Backtest.barsPerYear(barDurationMicros: 24 * Self.hour) == 365.25)
        #expect(Backtest.barsPerYear(barDurationMicros: 15 * 60_000_000) == 35064)
        var daily = Self.input(Self.bars, signals: Self.signals)
        daily.barDurationMicros = 24 * Self.hour
        daily.timestamps = daily.timestamps.map { $0 * 24 }
        daily.signals = daily.signals.map {
            var s = $0; s.timestamp *= 24; return s
        }
        let hourly = try Backtest.run(Self.input(Self.bars, signals: Self.signals), config: Self.plain).metrics.sharpe
        let perDay = try Backtest.run(daily, config: Self.plain).metrics.sharpe
        #expect(abs(hourly / perDay - (24.0).squareRoot()) < 1e-9)
    }

    /// The same bars and trades as months and as weeks: the Sharpe uses the
    /// input's own periods per year (12, 52), not a guess from a duration, and
    /// the report says which it used.
    @Test func monthsAndWeeksAnnualiseWithTheirOwnPeriods() throws {
        let hourly = try Backtest.run(Self.input(Self.bars, signals: Self.signals), config: Self.plain)
        #expect(hourly.metrics.periodsPerYear == 8766)
        let day: Int64 = 24 * Self.hour
        // Month starts from 2024-01-01 (31, 29, 31, 30, … days).
        let days: [Int64] = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274]
        var monthly = Self.input(Self.bars, signals: Self.signals)
        monthly.timeframe = "1M"
        monthly.timestamps = days.map { 1_704_067_200_000_000 + $0 * day }
        monthly.signals = monthly.signals.map { s in
            var s = s
            s.timestamp = monthly.timestamps[Int(s.timestamp / Self.hour)]
            return s
        }
        monthly.barDurationMicros = 2_629_746_000_000
        monthly.periodsPerYear = 12
        monthly.closeTimes = Array(monthly.timestamps.dropFirst()) + [monthly.timestamps.last! + 31 * day]
        let m = try Backtest.run(monthly, config: Self.plain)
        #expect(m.trades.count == hourly.trades.count && m.trades.map(\.pnl) == hourly.trades.map(\.pnl))
        #expect(m.metrics.periodsPerYear == 12)
        #expect(abs(m.metrics.sharpe - hourly.metrics.sharpe * (12.0 / 8766).squareRoot()) < 1e-9)
        var weekly = monthly
        weekly.periodsPerYear = 52
        weekly.closeTimes = nil
        weekly.barDurationMicros = 7 * day
        #expect(abs(try Backtest.run(weekly, config: Self.plain).metrics.sharpe - m.metrics.sharpe * (52.0 / 12).squareRoot()) < 1e-9)
        // The combined report of one monthly input annualises with 12 too, and encodes it.
        let report = try Backtest.run([monthly], config: Self.plain)
        #expect(report.summary.periodsPerYear == 12)
        #expect(abs(report.summary.sharpe - m.metrics.sharpe) < 1e-9)
        let json = String(decoding: try JSONEncoder().encode(report.summary), as: UTF8.self)
        #expect(json.contains("\"periods_per_year\":12"), "\(json)")
        // Bad periods or close times are refused, naming the member.
        var bad = monthly
        bad.periodsPerYear = 0
        #expect(throws: AnalysisError.self) { try Backtest.run(bad, config: Self.plain) }
        bad = monthly
        bad.closeTimes = [1]
        #expect(throws: AnalysisError.self) { try Backtest.run(bad, config: Self.plain) }
    }

    /// Spread 0.2 (0.1 per side), commission 0.1 % per side, one unit:
    ///   bar 0: signal long, stop 95, target 110
    ///   bar 1: enter at 100 + 0.1 = 100.1; commission 0.1001; close 102
    ///   bar 2: high 111 ≥ 110: exit at 110 − 0.1 = 109.9; commission 0.1099
    /// pnl = 9.8 − 0.1001 − 0.1099 = 9.59; R = 9.59 / (100.1 − 95) = 1.880392…
    @Test func costsAreCharged() throws {
        var c = Self.plain
        c.spread = 0.2
        c.commission = 0.001
        let input = Self.input([(100, 101, 99, 100), (100, 103, 99, 102), (102, 111, 101, 109)], signals: [(0, .long, 95, 110)])
        let result = try Backtest.run(input, config: c)
        let trade = try #require(result.trades.first)
        #expect(abs(trade.entryPrice - 100.1) < 1e-12 && abs(trade.exitPrice - 109.9) < 1e-12)
        #expect(abs(trade.pnl - 9.59) < 1e-9)
        #expect(abs(trade.r - 9.59 / 5.1) < 1e-9)
        // Bar 1: 10000 − 0.1001 + (102 − 100.1); bar 2: 10000 + 9.59.
        #expect(abs(result.equityCurve[1].equity - 10001.7999) < 1e-9)
        #expect(abs(result.equityCurve[2].equity - 10009.59) < 1e-9)
        // No losing trade: profit factor is infinite, encoded as null.
        #expect(result.metrics.profitFactor == .infinity)

        // A short pays the spread the other way: enter at 100 − 0.1, exit at the target 90 + 0.1.
        let short = Self.input([(100, 101, 99, 100), (100, 101, 95, 96), (96, 97, 89, 90)], signals: [(0, .short, 105, 90)])
        let s = try #require(try Backtest.run(short, config: c).trades.first)
        #expect(abs(s.entryPrice - 99.9) < 1e-12 && abs(s.exitPrice - 90.1) < 1e-12)
        #expect(abs(s.pnl - (9.8 - 0.001 * (99.9 + 90.1))) < 1e-9)
    }

    /// Risk sizing: 1 % of 10 000 over a 2-point stop is 50 units; the stop loses 100 (R −1).
    @Test func riskSizing() throws {
        var c = Self.plain
        c.sizing = .risk
        c.riskFraction = 0.01
        let input = Self.input([(100, 101, 99, 100), (100, 101, 97, 98.5), (98.5, 99, 98, 98.5)], signals: [(0, .long, 98, 110)])
        let result = try Backtest.run(input, config: c)
        let trade = try #require(result.trades.first)
        #expect(trade.units == 50 && trade.exitReason == .stop)
        #expect(abs(trade.pnl + 100) < 1e-9 && abs(trade.r + 1) < 1e-12)
        #expect(abs(result.metrics.maxDrawdown - 0.01) < 1e-12)
        #expect(result.metrics.profitFactor == 0)
    }

    /// Gaps: a bar opening beyond the stop exits at its open; an entry open
    /// beyond the stop skips the signal; the data ending closes at the last close.
    @Test func gapsAndEndOfData() throws {
        // Long, stop 98: bar 2 opens at 97 → exit at 97 (R −1.5).
        let gap = Self.input([(100, 101, 99, 100), (100, 101, 99, 99.5), (97, 98, 96, 97.5)], signals: [(0, .long, 98, 110)])
        let g = try #require(try Backtest.run(gap, config: Self.plain).trades.first)
        #expect(g.exitReason == .stop && g.exitPrice == 97 && abs(g.r + 1.5) < 1e-12)

        // Short, target 95: bar 2 opens at 94 → exit at 94 (+6, R 6/5).
        let gapUp = Self.input([(100, 101, 99, 100), (100, 101, 99, 99.5), (94, 95, 93, 94)], signals: [(0, .short, 105, 95)])
        let u = try #require(try Backtest.run(gapUp, config: Self.plain).trades.first)
        #expect(u.exitReason == .target && u.exitPrice == 94 && abs(u.r - 1.2) < 1e-12)

        // Entry open 97.5 is below the stop 98: skipped.
        let skipped = Self.input([(100, 101, 99, 100), (97.5, 98, 97, 97.5), (97.5, 98, 97, 97.5)], signals: [(0, .long, 98, 110)])
        let s = try Backtest.run(skipped, config: Self.plain)
        #expect(s.trades.isEmpty && s.metrics.skippedSignals == 1)
        #expect(s.metrics.winRate.isNaN && s.metrics.profitFactor.isNaN && s.metrics.sharpe.isNaN)

        // Held to the end (2 bars < 3): end_of_data at the last close.
        let end = Self.input([(100, 101, 99, 100), (100, 101, 99, 100.5), (100.5, 102, 100, 101)], signals: [(0, .long, 95, 110)])
        let e = try #require(try Backtest.run(end, config: Self.plain).trades.first)
        #expect(e.exitReason == .endOfData && e.exitPrice == 101 && e.barsHeld == 2)
    }

    /// Short side of the both-in-one-bar rule.
    @Test func shortBothHitAssumesStop() throws {
        let input = Self.input([(100, 101, 99, 100), (100, 103, 96, 99)], signals: [(0, .short, 102, 97)])
        let t = try #require(try Backtest.run(input, config: Self.plain).trades.first)
        #expect(t.exitReason == .stop && t.exitPrice == 102 && abs(t.pnl + 2) < 1e-12)
    }

    /// Two inputs on one time index: the summary adds their equity.
    @Test func combinedReportAndJSON() throws {
        let a = Self.input(Self.bars, signals: Self.signals)
        var b = Self.input(Self.bars, signals: [(0, .long, 98, 104)])
        b.symbol = "Y"
        let report = try Backtest.run([a, b], config: Self.plain)
        #expect(report.results.map(\.symbol) == ["X", "Y"])
        #expect(report.summary.trades == 5 && report.summary.wins == 3)
        #expect(report.summary.initialEquity == 20000)
        #expect(abs(report.summary.finalEquity - (10000.7 + 10004)) < 1e-9)
        #expect(report.equityCurve.count == 10)
        for k in 0..<10 {
            let sum = report.results[0].equityCurve[k].equity + report.results[1].equityCurve[k].equity
            #expect(abs(report.equityCurve[k].equity - sum) < 1e-9)
        }
        #expect(report.summary.exposure == 0.8)

        // JSON: snake_case keys, non-finite numbers as null.
        let lossless = try Backtest.run(
            [
                Self.input(
                    [(100, 101, 99, 100), (100, 103, 99, 102), (102, 111, 101, 109)],
                    signals: [(0, .long, 95, 110)])
            ], config: Self.plain)
        let data = try JSONEncoder().encode(lossless)
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let summary = object["summary"] as! [String: Any]
        #expect(summary["profit_factor"] is NSNull)
        #expect(summary["win_rate"] as? Double == 1)
        for key in [
            "trades", "wins", "win_rate", "average_r", "profit_factor", "total_return", "sharpe",
            "max_drawdown", "exposure", "skipped_signals", "gross_profit", "gross_loss",
        ] {
            #expect(summary[key] != nil, "\(key)")
        }
        let result = (object["results"] as! [[String: Any]])[0]
        let trade = (result["trades"] as! [[String: Any]])[0]
        #expect(
            Set(trade.keys).isSuperset(of: [
                "symbol", "entry_time", "entry_price", "exit_time", "exit_price",
                "direction", "exit_reason", "pnl", "r",
            ]))
        #expect(trade["exit_reason"] as? String == "target")
        #expect((result["equity_curve"] as! [[String: Any]]).count == 3)
        let decoded = try JSONDecoder().decode(BacktestReport.self, from: data)
        #expect(decoded.summary.profitFactor.isNaN && decoded.results[0].trades == lossless.results[0].trades)
    }
}
