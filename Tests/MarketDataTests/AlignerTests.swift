import TestSupport
import Testing

@testable import MarketData

struct AlignerTests {
    func bars(_ symbol: String, _ minutes: [Int64], _ closes: [Double], tf: Timeframe = .m1) -> OHLCVSeries {
        OHLCVSeries(
            symbol: symbol, timeframe: tf, timestamps: minutes.map { $0 * 60_000_000 }, open: closes, high: closes,
            low: closes, close: closes, volume: closes.map { _ in 1 })
    }

    @Test func innerAndOuterJoins() throws {
        let a = bars("EURUSD", [0, 1, 2, 4], [1, 2, 3, 5])
        let b = bars("GBPUSD", [1, 2, 3, 4], [10, 20, 30, 40])
        let inner = try Aligner.align([a, b], join: .inner)
        #expect(inner.timestamps == [1, 2, 4].map { $0 * 60_000_000 })
        #expect(inner.column("eurusd_close") == [2, 3, 5])
        #expect(inner.column("gbpusd_close") == [10, 20, 40])
        #expect(inner.columns.count == 10)
        let outer = try Aligner.align([a, b], join: .outer)
        #expect(outer.timestamps == [0, 1, 2, 3, 4].map { $0 * 60_000_000 })
        let e = try #require(outer.column("eurusd_close"))
        let g = try #require(outer.column("gbpusd_close"))
        #expect(e[0] == 1 && e[1] == 2 && e[2] == 3 && e[3].isNaN && e[4] == 5)
        #expect(g[0].isNaN && g[1] == 10 && g[4] == 40)
        #expect(throws: MarketDataError.self) { try Aligner.align([a, a], join: .inner) }
        #expect(throws: MarketDataError.self) { try Aligner.align([a, bars("X", [0], [1], tf: .h1)], join: .inner) }
    }

    @Test func toleranceGroupsNearbyTimesAtTheLatest() throws {
        let a = OHLCVSeries(
            symbol: "A", timestamps: [0, 60_000_000], open: [1, 2], high: [1, 2], low: [1, 2], close: [1, 2], volume: [1, 1])
        let b = OHLCVSeries(
            symbol: "B", timestamps: [1_000_000, 61_500_000], open: [5, 6], high: [5, 6], low: [5, 6], close: [5, 6],
            volume: [1, 1])
        let exact = try Aligner.align([a, b], join: .inner)
        #expect(exact.count == 0)
        let near = try Aligner.align([a, b], join: .inner, tolerance: 2_000_000)
        #expect(near.timestamps == [1_000_000, 61_500_000])  // stamped with the latest time of each group
        #expect(near.column("a_close") == [1, 2] && near.column("b_close") == [5, 6])
        let tight = try Aligner.align([a, b], join: .outer, tolerance: 1_000_000)
        #expect(tight.timestamps == [1_000_000, 60_000_000, 61_500_000])
    }

    @Test func higherTimeframeAppearsOnlyAfterItsClose() throws {
        // 15m rows from 09:00 to 11:45; 1h bars at 09:00, 10:00, 11:00.
        let q: [Int64] = (0..<12).map { 9 * 3_600_000_000 + Int64($0) * 900_000_000 }
        let hourly = OHLCVSeries(
            symbol: "EURUSD", timeframe: .h1, timestamps: [9, 10, 11].map { Int64($0) * 3_600_000_000 },
            open: [1, 2, 3], high: [1, 2, 3], low: [1, 2, 3], close: [1.5, 2.5, 3.5], volume: [1, 1, 1])
        let cols = try Aligner.joinHigherTimeframe(hourly, onto: q)
        let close = try #require(cols.first { $0.name == "eurusd_1h_close" }).values
        // 09:00–09:45: no hourly bar has closed yet; 10:00–10:45: the 09:00 bar; 11:00–11:45: the 10:00 bar.
        #expect(close[0..<4].allSatisfy { $0.isNaN })
        #expect(Array(close[4..<8]) == [1.5, 1.5, 1.5, 1.5])
        #expect(Array(close[8..<12]) == [2.5, 2.5, 2.5, 2.5])
        // The 11:00 bar (closing at 12:00) is never visible on these rows.
        #expect(!close.contains(3.5))
    }
}
