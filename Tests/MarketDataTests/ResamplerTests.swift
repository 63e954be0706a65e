import Foundation
import TestSupport
import Testing

@testable import MarketData

struct ResamplerTests {
    @Test func matchesTheHandCheckedFixture() throws {
        let input = try #require(Bundle.module.path(forResource: "Fixtures/eurusd_1m", ofType: "csv"))
        let expectedPath = try #require(Bundle.module.path(forResource: "Fixtures/eurusd_5m_expected", ofType: "csv"))
        let bars = try OHLCVCSVReader.read(path: input, symbol: "EURUSD", timeframe: .m1)
        let expected = try OHLCVCSVReader.read(path: expectedPath, symbol: "EURUSD", timeframe: .m5)
        let out = try Resampler.resample(bars, to: .m5)
        #expect(out == expected)
        // Streaming one bar at a time gives the same bars.
        var r = Resampler(to: .m5)
        var streamed = OHLCVSeries.empty(symbol: "EURUSD", timeframe: .m5)
        for i in 0..<bars.count {
            let one = OHLCVSeries(
                symbol: "EURUSD", timeframe: .m1, timestamps: [bars.timestamps[i]], open: [bars.open[i]],
                high: [bars.high[i]], low: [bars.low[i]], close: [bars.close[i]], volume: [bars.volume[i]])
            streamed.append(contentsOf: try r.feed(one))
        }
        streamed.append(contentsOf: r.finish())
        #expect(streamed == expected)
    }

    @Test func passesThroughTheSameArrays() throws {
        let s = randomSeries(count: 100, seed: 1, timeframe: .h1)
        let out = try Resampler.resample(s, to: .h1)
        #expect(out == s)
        let a = s.close.withUnsafeBufferPointer { $0.baseAddress }
        let b = out.close.withUnsafeBufferPointer { $0.baseAddress }
        #expect(a == b)
        #expect(throws: MarketDataError.self) { try Resampler.resample(s, to: .m15) }
    }

    @Test func weeksStartOnMondayAndExtrasTakeTheLast() throws {
        // 2024-01-06 (Sat), 2024-01-07 (Sun), 2024-01-08 (Mon) daily bars.
        let day: Int64 = 86_400_000_000
        let sat: Int64 = 1_704_499_200_000_000
        let s = OHLCVSeries(
            symbol: "X", timeframe: .d1, timestamps: [sat, sat + day, sat + 2 * day], open: [1, 2, 3], high: [1, 2, 3],
            low: [1, 2, 3], close: [1, 2, 3], volume: [1, 1, 1], extras: [NamedColumn(name: "sentiment", values: [0.1, 0.2, 0.3])])
        let w = try Resampler.resample(s, to: .w1)
        #expect(w.timestamps == [sat - 5 * day, sat + 2 * day])  // Mondays 2024-01-01 and 2024-01-08
        #expect(w.open == [1, 3] && w.close == [2, 3] && w.volume == [2, 1])
        #expect(w.extra("sentiment") == [0.2, 0.3])
    }

    @Test func streamingInChunksEqualsWhole() throws {
        let s = randomSeries(count: 20_000, seed: 7, timeframe: .m1, gaps: true)
        let whole = try Resampler.resample(s, to: .h1)
        for chunkSize in [1, 59, 60, 61, 1000, 7919] {
            var r = Resampler(to: .h1)
            var out = OHLCVSeries.empty(symbol: s.symbol, timeframe: .h1)
            var i = 0
            while i < s.count {
                let j = min(s.count, i + chunkSize)
                let chunk = OHLCVSeries(
                    symbol: s.symbol, timeframe: .m1, timestamps: Array(s.timestamps[i..<j]), open: Array(s.open[i..<j]),
                    high: Array(s.high[i..<j]), low: Array(s.low[i..<j]), close: Array(s.close[i..<j]),
                    volume: Array(s.volume[i..<j]))
                out.append(contentsOf: try r.feed(chunk))
                i = j
            }
            out.append(contentsOf: r.finish())
            #expect(out.timestamps == whole.timestamps, "chunk \(chunkSize)")
            #expect(out.high == whole.high && out.low == whole.low && out.open == whole.open && out.close == whole.close)
            // Bit for bit: a bar cut by a chunk boundary sums its volume in input order.
            #expect(out.volume.map(\.bitPattern) == whole.volume.map(\.bitPattern), "chunk \(chunkSize)")
        }
    }

    @Test func agreesWithPandasOnRandomData() throws {
        let s = randomSeries(count: 50_000, seed: 42, timeframe: .m1, gaps: true)
        let dir = try TempDir()
        var csv = "timestamp,open,high,low,close,volume\n"
        for i in 0..<s.count {
            csv += "\(s.timestamps[i]),\(s.open[i]),\(s.high[i]),\(s.low[i]),\(s.close[i]),\(s.volume[i])\n"
        }
        let path = try dir.file("r.csv", csv)
        let script = """
            import sys, pandas as pd
            df = pd.read_csv(sys.argv[1])
            df.index = pd.to_datetime(df.pop("timestamp"), unit="us", utc=True)
            agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
            for rule, kwargs in (("15min", {}), ("1h", {}), ("4h", {}), ("1D", {}), ("W-MON", {"label": "left", "closed": "left"})):
                r = df.resample(rule, **kwargs).agg(agg).dropna(subset=["open"])
                ts = (r.index.as_unit("us").asi8)
                print(rule, len(r))
                for t, row in zip(ts, r.itertuples(index=False)):
                    print(t, repr(row.open), repr(row.high), repr(row.low), repr(row.close), repr(row.volume))
            """
        let out = try PythonPeer.run(script, [path])
        var lines = out.split(separator: "\n")[...]
        for tf in [Timeframe.m15, .h1, .h4, .d1, .w1] {
            let head = lines.removeFirst().split(separator: " ")
            let n = Int(head[1])!
            let mine = try Resampler.resample(s, to: tf)
            #expect(mine.count == n, "\(tf)")
            for i in 0..<min(n, mine.count) {
                let f = lines.removeFirst().split(separator: " ")
                #expect(Int64(f[0])! == mine.timestamps[i])
                #expect(Double(f[1])! == mine.open[i] && Double(f[2])! == mine.high[i])
                #expect(Double(f[3])! == mine.low[i] && Double(f[4])! == mine.close[i])
                let v = Double(f[5])!
                #expect(abs(v - mine.volume[i]) <= 1e-9 * max(1, abs(v)))
            }
        }
    }
}

/// A deterministic random walk of valid bars (LCG), optionally with random gaps.
func randomSeries(
    count: Int, seed: UInt64, timeframe: Timeframe, gaps: Bool = false, start: Int64 = 1_704_067_200_000_000
)
    -> OHLCVSeries
{
    var state = seed &* 6_364_136_223_846_793_005 &+ 1
    func next() -> Double {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Double(state >> 11) / Double(1 << 53)
    }
    var ts: [Int64] = [], o: [Double] = [], h: [Double] = [], l: [Double] = [], c: [Double] = [], v: [Double] = []
    var t = start
    var price = 1.1
    for _ in 0..<count {
        let open = price
        let close = (open * (1 + (next() - 0.5) * 0.002) * 100_000).rounded() / 100_000
        ts.append(t); o.append(open); c.append(close)
        h.append(max(open, close) + (next() * 50).rounded() / 100_000)
        l.append(min(open, close) - (next() * 50).rounded() / 100_000)
        v.append((next() * 1000).rounded() / 100)
        price = close
        t += timeframe.fixedDurationMicros! * (gaps && next() < 0.05 ? Int64(2 + next() * 300) : 1)
    }
    return OHLCVSeries(symbol: "RND", timeframe: timeframe, timestamps: ts, open: o, high: h, low: l, close: c, volume: v)
}

struct CalendarResampleTests {
    static let day: Int64 = 86_400_000_000

    @Test func daysToMonthsByHand() throws {
        // 2024-01-30 … 2024-03-02: days of January, February (29 days) and March.
        let jan30: Int64 = 1_706_572_800_000_000
        let ts = (0..<33).map { jan30 + Int64($0) * Self.day }
        let open = ts.indices.map { Double(100 + $0) }
        let close = open.map { $0 + 0.5 }
        let high = open.map { $0 + 2 }
        let low = open.map { $0 - 1 }
        let volume = ts.indices.map { Double($0 + 1) }
        let s = OHLCVSeries(symbol: "BTC", timeframe: .d1, timestamps: ts, open: open, high: high, low: low, close: close, volume: volume)
        let m = try Resampler.resample(s, to: .mo1)
        let feb1 = jan30 + 2 * Self.day, mar1 = feb1 + 29 * Self.day
        #expect(m.timeframe == .mo1)
        #expect(m.timestamps == [1_704_067_200_000_000, feb1, mar1])  // 2024-01-01, 02-01, 03-01
        // January: rows 0–1; February: rows 2–30; March: rows 31–32.
        #expect(m.open == [100, 102, 131])
        #expect(m.close == [101.5, 130.5, 132.5])
        #expect(m.high == [103, 132, 134])
        #expect(m.low == [99, 101, 130])
        let february: Int = (3...31).reduce(0, +)
        let volumes: [Double] = [3, Double(february), 65]
        #expect(m.volume == volumes)
        // Streaming day by day gives the same months.
        var r = Resampler(to: .mo1)
        var streamed = OHLCVSeries.empty(symbol: "BTC", timeframe: .mo1)
        for i in 0..<s.count { streamed.append(contentsOf: try r.feed(s.slice(i, i + 1))) }
        streamed.append(contentsOf: r.finish())
        #expect(streamed == m)
        // Months cannot be made into days.
        #expect(throws: MarketDataError.self) { try Resampler.resample(m, to: .d1) }
        // Nor weeks into months: a week can straddle two months.
        let weeks = try Resampler.resample(s, to: .w1)
        #expect(weeks.timestamps.allSatisfy { Timeframe.w1.isAligned($0) })
        do {
            _ = try Resampler.resample(weeks, to: .mo1)
            Issue.record("weeks resampled to months")
        } catch {
            #expect(error.code == .resample && error.reason.contains("straddle"), "\(error)")
        }
    }

    @Test func minutesToMonthsEqualsMinutesToDaysToMonths() throws {
        let s = randomSeries(count: 120_000, seed: 3, timeframe: .m1, gaps: true)
        let direct = try Resampler.resample(s, to: .mo1)
        let viaDays = try Resampler.resample(try Resampler.resample(s, to: .d1), to: .mo1)
        #expect(direct.count >= 3)
        #expect(direct.timestamps == viaDays.timestamps)
        #expect(direct.open == viaDays.open && direct.high == viaDays.high && direct.low == viaDays.low && direct.close == viaDays.close)
        #expect(zip(direct.volume, viaDays.volume).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })
        #expect(direct.timestamps.allSatisfy { Timeframe.mo1.isAligned($0) })
    }

    @Test func monthsAgreeWithPandas() throws {
        let s = randomSeries(count: 60_000, seed: 11, timeframe: .m1, gaps: true)
        let dir = try TempDir()
        var csv = "timestamp,open,high,low,close,volume\n"
        for i in 0..<s.count {
            csv += "\(s.timestamps[i]),\(s.open[i]),\(s.high[i]),\(s.low[i]),\(s.close[i]),\(s.volume[i])\n"
        }
        let path = try dir.file("r.csv", csv)
        let script = """
            import sys, pandas as pd
            df = pd.read_csv(sys.argv[1])
            df.index = pd.to_datetime(df.pop("timestamp"), unit="us", utc=True)
            agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
            r = df.resample("MS").agg(agg).dropna(subset=["open"])
            for t, row in zip(r.index.as_unit("us").asi8, r.itertuples(index=False)):
                print(t, repr(row.open), repr(row.high), repr(row.low), repr(row.close), repr(row.volume))
            """
        let lines = try PythonPeer.run(script, [path]).split(separator: "\n")
        let mine = try Resampler.resample(s, to: .mo1)
        #expect(mine.count == lines.count && mine.count >= 3)
        for (i, line) in lines.enumerated() where i < mine.count {
            let f = line.split(separator: " ")
            #expect(Int64(f[0])! == mine.timestamps[i])
            #expect(Double(f[1])! == mine.open[i] && Double(f[2])! == mine.high[i])
            #expect(Double(f[3])! == mine.low[i] && Double(f[4])! == mine.close[i])
            #expect(abs(Double(f[5])! - mine.volume[i]) <= 1e-9 * max(1, abs(mine.volume[i])))
        }
    }
}

extension OHLCVSeries {
    /// Bars `from..<to` as a new series.
    func slice(_ from: Int, _ to: Int) -> OHLCVSeries {
        OHLCVSeries(
            symbol: symbol, timeframe: timeframe, timestamps: Array(timestamps[from..<to]), open: Array(open[from..<to]),
            high: Array(high[from..<to]), low: Array(low[from..<to]), close: Array(close[from..<to]),
            volume: Array(volume[from..<to]))
    }
}
