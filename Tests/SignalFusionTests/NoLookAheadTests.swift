import SignalFusion
import Testing

/// No signal at bar t depends on data after t.
struct NoLookAheadTests {
    /// Cut the data at many times C (keeping, on every timeframe, the bars that
    /// closed by C, with their forecasts, and re-detecting patterns on the cut
    /// bars): the signals of every bar that closed by C are exactly those of
    /// the full run.
    @Test func truncatedDataGivesTheSameSignals() throws {
        let base = MarketFixture.base(symbols: 3, bars: 1200, seed: 7)
        var config = FusionConfig()
        config.volatilityLookback = 60
        config.correlationWindow = 30
        config.minHistory = 60
        config.refitEvery = 20
        let full = try SignalFusion.fuse(MarketFixture.inputs(base), config: config)
        let duration: [String: Int64] = [
            "15m": 15 * MarketFixture.minute, "1h": 60 * MarketFixture.minute, "4h": 240 * MarketFixture.minute,
        ]
        var rng = MarketFixture.Random(state: 99)
        var cuts: [Int64] = [0, 1, 16, 17, 63, 64, 65, 200, 1199, 1200].map { Int64($0) * 15 * MarketFixture.minute }
        for _ in 0..<14 { cuts.append(Int64(rng.next() % 1200) * 15 * MarketFixture.minute + Int64(rng.next() % 3) * MarketFixture.minute) }
        var compared = 0, calibrated = 0, resolved = 0
        for cut in cuts {
            let truncated = try SignalFusion.fuse(MarketFixture.inputs(base, cutoff: cut), config: config)
            // Outcomes are compared as known at the cut: resolved by then, else open.
            let expected = full.filter { $0.timestamp + duration[$0.timeframe]! <= cut }.map { $0.known(at: cut) }
            // Bit for bit: every field, the calibrated quality, the prior and the outcome included.
            #expect(truncated.count == expected.count, "cut at \(cut)")
            #expect(truncated == expected, "cut at \(cut)")
            let differing = zip(truncated, expected).enumerated().filter { _, pair in
                let (a, b) = pair
                return a.quality.bitPattern != b.quality.bitPattern || a.qualityPrior.bitPattern != b.qualityPrior.bitPattern
                    || a.outcome.exit != b.outcome.exit || a.outcome.r?.bitPattern != b.outcome.r?.bitPattern
                    || a.outcome.resolvedAt != b.outcome.resolvedAt
            }.map(\.offset)
            #expect(differing.isEmpty, "cut at \(cut): quality, quality_prior or outcome bits differ at \(differing.prefix(5))")
            compared += expected.count
            calibrated += expected.filter { !$0.sources.contains("flag:calibration_warmup") }.count
            resolved += expected.filter { $0.outcome.exit != .open }.count
        }
        #expect(compared > 3000)
        // The calibrated quality and the outcome fields were part of the comparison.
        #expect(calibrated > 1000 && resolved > 1000)
        #expect(full.contains { !$0.sources.contains("flag:calibration_warmup") && $0.quality != $0.qualityPrior })
    }

    /// Changing only the future (bars after some time) changes no earlier signal.
    @Test func changingTheFutureChangesNoEarlierSignal() throws {
        let base = MarketFixture.base(symbols: 2, bars: 800, seed: 11)
        var altered = base
        for s in altered.indices {
            for t in 500..<800 {
                altered[s].close[t] *= 1.05
                altered[s].high[t] *= 1.06
                altered[s].open[t] *= 1.05
                altered[s].low[t] *= 1.04
                altered[s].volume[t] *= 3
                altered[s].sentiment[t] = -altered[s].sentiment[t]
            }
        }
        let cut = Int64(500) * 15 * MarketFixture.minute
        var config = FusionConfig()
        config.minHistory = 40
        let a = try SignalFusion.fuse(MarketFixture.inputs(base), config: config)
        let b = try SignalFusion.fuse(MarketFixture.inputs(altered), config: config)
        let duration: [String: Int64] = [
            "15m": 15 * MarketFixture.minute, "1h": 60 * MarketFixture.minute, "4h": 240 * MarketFixture.minute,
        ]
        let early = { (s: FusedSignal) in s.timestamp + duration[s.timeframe]! <= cut }
        #expect(a.filter(early).map { $0.known(at: cut) } == b.filter(early).map { $0.known(at: cut) })
        #expect(a.filter(early).contains { !$0.sources.contains("flag:calibration_warmup") })
        #expect(a.filter { !early($0) } != b.filter { !early($0) })
    }
}
