import Foundation
import MarketData
import Testing

@testable import Stages

struct StageOptionsTests {
    @Test func durations() {
        #expect(MergeOptions.parseDuration("0s") == 0)
        #expect(MergeOptions.parseDuration("30s") == 30_000_000)
        #expect(MergeOptions.parseDuration("1m") == 60_000_000)
        #expect(MergeOptions.parseDuration("500ms") == 500_000)
        #expect(MergeOptions.parseDuration("2h") == 7_200_000_000)
        #expect(MergeOptions.parseDuration("1.5") == 1_500_000)
        #expect(MergeOptions.parseDuration(45) == 45_000_000)
        #expect(MergeOptions.parseDuration("3x") == nil)
        #expect(MergeOptions.parseDuration(true) == nil)
    }

    @Test func mergeOptions() throws {
        let o = try MergeOptions(["join": "outer", "tolerance": "30s", "higher_timeframes": true])
        #expect(o.join == .outer && o.toleranceMicros == 30_000_000 && o.higherTimeframes)
        #expect(try MergeOptions([:]) == MergeOptions())
        #expect(throws: StageError("config.merge.join: must be one of inner, outer")) { try MergeOptions(["join": "left"]) }
        #expect(throws: StageError.self) { try MergeOptions(["tolerance": "-1s"]) }
    }

    @Test func exportOptions() throws {
        let d = try ExportOptions([:])
        #expect(d.formats == [.parquet] && "\(d.compression)".hasPrefix("zstd"))
        let o = try ExportOptions(["formats": ["parquet", "csv"], "gzip": true, "compression": "none"])
        #expect(o.formats == [.parquet, .csvGzip] && "\(o.compression)" == "none")
        #expect(throws: StageError("config.export.formats: 'xlsx' is not one of csv, csv.gz, parquet")) {
            try ExportOptions(["formats": ["xlsx"]])
        }
    }

    @Test func timeframeInference() {
        let m = Timeframe.minuteMicros
        let start = SyntheticMarket.Configuration.defaultStart
        #expect(LoadStage.inferTimeframe([start, start + m, start + 3 * m]) == .m1)
        #expect(LoadStage.inferTimeframe([start, start + 60 * m, start + 180 * m]) == .h1)
        // Off the grid, or a gap that is no timeframe: unknown.
        #expect(LoadStage.inferTimeframe([start + 30 * m, start + 90 * m]) == nil)
        #expect(LoadStage.inferTimeframe([start, start + 2 * m]) == nil)
        #expect(LoadStage.inferTimeframe([start]) == nil)
        // Weeks open on Mondays (2024-01-01 was one).
        #expect(LoadStage.inferTimeframe([start, start + 7 * 1440 * m]) == .w1)
    }

    @Test func requestPlan() throws {
        let request = #"""
            {"name":"x","datasets":[{"symbol":"EURUSD","path":"a.csv"},{"symbol":"GBPUSD","dataset_id":"0b6f7a7e-1111-4222-8333-944455556666"}],
             "timeframes":["1h","15m"],"config":{"merge":{"join":"outer"}}}
            """#
        let plan = try ExperimentPlan(request: Data(request.utf8))
        #expect(plan.symbols == ["EURUSD", "GBPUSD"])
        #expect(plan.timeframes == [.m15, .h1])
        #expect(plan.datasets[1].datasetID != nil && plan.datasets[0].path == "a.csv")
        #expect(plan.options(MergeOptions.self).join == .outer)
    }

    /// The resample stage builds 1h from 15m: the same bars as from 1m.
    @Test func cascadedResamplingEqualsDirect() throws {
        var market = SyntheticMarket(.init(symbols: ["EURUSD"], bars: 10_000, sentiment: true))
        let m1 = try #require(market.next(maxBars: 10_000)?.first)
        for (mid, top) in [(Timeframe.m15, Timeframe.h1), (.h1, .h4), (.h4, .d1), (.d1, .w1), (.m5, .m30)] {
            let direct = try Resampler.resample(m1, to: top)
            let cascaded = try Resampler.resample(try Resampler.resample(m1, to: mid), to: top)
            #expect(direct == cascaded, "\(mid) → \(top)")
        }
    }
}

/// The options types check ranges with their own schema: no second copy of a range.
struct OptionsRangeTests {
    @Test func rangesComeFromTheSchema() throws {
        #expect(throws: StageError("config.patterns.swing_window: expected an integer in 1...50")) {
            try PatternsOptions(["swing_window": 51])
        }
        #expect(throws: StageError("config.patterns.peak_tolerance: expected a number in (0, 1)")) {
            try PatternsOptions(["peak_tolerance": 1.0])
        }
        #expect(throws: StageError("config.features.macd.fast: expected an integer in 2...100000")) {
            try FeaturesOptions(["macd": ["fast": 1]])
        }
        #expect(throws: StageError("config.features.sma: expected an integer in 1...100000")) {
            try FeaturesOptions(["sma": [20, 0]])
        }
        #expect(throws: StageError("config.features.bollinger.width: unknown key (known: period, stddev)")) {
            try FeaturesOptions(["bollinger": ["width": 2]])
        }
        #expect(try PatternsOptions(["swing_window": 50, "max_span": 10]).swingWindow == 50)
        #expect(try FeaturesOptions(["sma": 5, "bollinger": ["stddev": 2.5]]).bollingerStddev == 2.5)
    }
}
