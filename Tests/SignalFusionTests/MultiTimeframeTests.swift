import SignalFusion
import Testing

/// The higher-timeframe join: a 4h bar counts for a 1h signal only from its close.
struct MultiTimeframeTests {
    static let hour: Int64 = 3_600_000_000

    /// 4h closes rising for bars 0–4, then falling hard in bar 5 (opened 20h,
    /// closed 24h), rising again in bar 6. With trend_period 2, the trend is
    /// sign(close − previous EMA): +1 for bars 1–4, −1 for bar 5.
    static func inputs() -> [FusionInput] {
        let closes4h: [Double] = [100, 101, 102, 103, 104, 95, 96]
        let h4 = FusionInput(
            symbol: "X", timeframe: "4h", barDurationMicros: 4 * hour,
            timestamps: closes4h.indices.map { Int64($0) * 4 * hour },
            open: closes4h.map { $0 - 0.5 }, high: closes4h.map { $0 + 1 }, low: closes4h.map { $0 - 10 },
            close: closes4h, volume: closes4h.map { _ in 1 },
            predictions: closes4h.map { _ in 0.01 })
        let n = 28
        let closes1h = (0..<n).map { 100 + 0.1 * Double($0) }
        let h1 = FusionInput(
            symbol: "X", timeframe: "1h", barDurationMicros: hour,
            timestamps: (0..<n).map { Int64($0) * hour },
            open: closes1h, high: closes1h.map { $0 + 0.5 }, low: closes1h.map { $0 - 0.5 },
            close: closes1h, volume: closes1h.map { _ in 1 },
            predictions: [Double](repeating: 0.01, count: n))  // long on every bar
        return [h1, h4]
    }

    @Test func higherTimeframeJoinsOnlyFromItsClose() throws {
        var config = FusionConfig()
        config.atrPeriod = 2
        config.trendPeriod = 2
        let signals = try SignalFusion.fuse(Self.inputs(), config: config)
        func mtf(_ hourOpen: Int64) -> Double? {
            signals.first { $0.timeframe == "1h" && $0.timestamp == hourOpen * Self.hour }?.components.mtfAgreement
        }
        func flagged(_ hourOpen: Int64) -> Bool {
            signals.first { $0.timeframe == "1h" && $0.timestamp == hourOpen * Self.hour }!.sources.contains("flag:mtf_unavailable")
        }
        // Before 8h no 4h bar with a defined trend has closed (bar 0's EMA is undefined).
        #expect(mtf(2) == 0.5 && flagged(2))
        #expect(mtf(6) == 0.5 && flagged(6))
        // The 1h bar 7h–8h sees 4h bar 1 (closed at 8h): rising.
        #expect(mtf(7) == 1 && !flagged(7))
        // 1h bars closing 21h, 22h, 23h: the last closed 4h bar is bar 4 (closed
        // 20h), rising; bar 5, already open and falling, must not count yet.
        #expect(mtf(20) == 1)
        #expect(mtf(21) == 1)
        #expect(mtf(22) == 1)
        // The 1h bar 23h–24h closes with 4h bar 5: falling, against the long.
        #expect(mtf(23) == 0)
        #expect(mtf(26) == 0)
        // The 4h signal at bar 5 (close 24h) sees the 1h bar 23h (rising).
        let h4 = try #require(signals.first { $0.timeframe == "4h" && $0.timestamp == 20 * Self.hour })
        #expect(h4.direction == .long && h4.components.mtfAgreement == 1)
    }
}
