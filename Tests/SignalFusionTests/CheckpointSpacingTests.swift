import Testing

@testable import SignalFusion

/// Where fusion's long loops reach their checkpoint: often enough that a pause
/// takes effect within milliseconds, and without changing any result.
struct CheckpointSpacingTests {
    struct Stop: Error, Equatable {}

    /// One series' indicators and candidate search: a checkpoint after each of
    /// the four indicator passes, one after sorting the events, and one every
    /// 16,384 bars of the search.
    @Test func theCandidateSearchPassesACheckpointEvery16384Bars() throws {
        let input = try #require(MarketFixture.inputs(MarketFixture.base(symbols: 1, bars: 70_000)).first)
        #expect(input.timeframe == "15m" && input.close.count == 70_000)
        var calls = 0
        let checked = try SeriesState(input, config: FusionConfig()) { () throws(FusionError) in calls += 1 }
        #expect(calls == 5 + 70_000 / SeriesState.checkpointBars)
        // The same state as without checkpoints.
        let plain = try SeriesState(input, config: FusionConfig())
        #expect(checked.candidates.map(\.bar) == plain.candidates.map(\.bar))
        #expect(checked.supporting == plain.supporting)
    }

    /// `fuse` with a checkpoint gives the signals it gives without, and a
    /// checkpoint that throws — early, mid-way or at its last call — ends it with that error.
    @Test func fuseWithACheckpointIsUnchangedAndStops() throws {
        let inputs = MarketFixture.inputs(MarketFixture.base(symbols: 2, bars: 20_000))
        var calls = 0
        let checked = try SignalFusion.fuse(inputs) { () throws(FusionError) in calls += 1 }
        #expect(checked == (try SignalFusion.fuse(inputs)))
        // Every series' check, indicators and search, plus the candidates and the walk.
        #expect(calls >= 2 * inputs.count * 5)
        for stopAt in [1, inputs.count + 1, calls / 2, calls] {
            var left = stopAt
            #expect(throws: FusionError.self) {
                _ = try SignalFusion.fuse(inputs) { () throws(FusionError) in
                    left -= 1
                    if left == 0 { throw FusionError(.invalidInput, field: "test", reason: "stop") }
                }
            }
            #expect(left == 0, "stopped at call \(stopAt)")
        }
    }

    /// The every-bar outcomes (the evaluation's random-entry population): a
    /// checkpoint before every 4,096 bars, the same R multiples as without.
    @Test func everyBarPassesACheckpointEvery4096Bars() throws {
        let bars = MarketFixture.base(symbols: 1, bars: 10_000)[0]
        let atr = [Double](repeating: 0.002, count: bars.count)
        var calls = 0
        let checked = OutcomeLabeler.everyBar(
            open: bars.open, high: bars.high, low: bars.low, close: bars.close, atr: atr, stopMultiple: 2,
            targetMultiple: 3, horizon: 24, costs: TradingCosts()
        ) { calls += 1 }
        #expect(calls == (10_000 + 4_095) / 4_096)
        let plain = OutcomeLabeler.everyBar(
            open: bars.open, high: bars.high, low: bars.low, close: bars.close, atr: atr, stopMultiple: 2,
            targetMultiple: 3, horizon: 24, costs: TradingCosts())
        #expect(checked.long.map(\.bitPattern) == plain.long.map(\.bitPattern))
        #expect(checked.short.map(\.bitPattern) == plain.short.map(\.bitPattern))
        #expect(throws: Stop()) {
            _ = try OutcomeLabeler.everyBar(
                open: bars.open, high: bars.high, low: bars.low, close: bars.close, atr: atr, stopMultiple: 2,
                targetMultiple: 3, horizon: 24, costs: TradingCosts()
            ) { throw Stop() }
        }
    }
    /// The calibration's logistic fit (tens of milliseconds on many signals):
    /// a checkpoint before every Newton step, the same coefficients as without.
    @Test func theQualityFitPassesACheckpointEveryStep() throws {
        let p = QualityModel.featureCount
        var rng = MarketFixture.Random(state: 5)
        let rows = 5_000
        let x = (0..<rows * p).map { $0 % p == 0 ? 1 : rng.normal() }
        let y = (0..<rows).map { i in x[i * p + 1] + 0.5 * rng.normal() > 0 ? 1.0 : 0.0 }
        var checked = QualityModel()
        var calls = 0
        try checked.fit(x: x, y: y, count: rows, lambda: 1, maxSteps: 6) { () throws(FusionError) in calls += 1 }
        var plain = QualityModel()
        try plain.fit(x: x, y: y, count: rows, lambda: 1, maxSteps: 6)
        #expect(calls >= 2 && calls <= 6)
        #expect(checked.beta.map(\.bitPattern) == plain.beta.map(\.bitPattern))
        var stopped = QualityModel()
        #expect(throws: FusionError.self) {
            try stopped.fit(x: x, y: y, count: rows, lambda: 1) { () throws(FusionError) in
                throw FusionError(.invalidInput, field: "test", reason: "stop")
            }
        }
        #expect(stopped.beta == QualityModel().beta)
    }
}
