import TestSupport
import Testing
@testable import MarketData

struct TimeframeTests {
    @Test func parsesEveryNameAndRejectsOthers() throws {
        #expect(try Timeframe(parsing: "15m") == .m15)
        #expect(try Timeframe(parsing: " 1H ") == .h1)
        #expect(Timeframe.allCases.map(\.rawValue) == ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w"])
        #expect(throws: TimeframeError.self) { try Timeframe(parsing: "2m") }
        do {
            _ = try Timeframe(parsing: "1y")
            Issue.record("1y parsed")
        } catch {
            #expect(error.description.contains("allowed: 1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w"))
        }
    }

    @Test func durationsAndBuckets() {
        #expect(Timeframe.h4.durationMicros == 4 * 3_600_000_000)
        // 2024-01-03 (Wednesday) 13:45:10 UTC.
        let t: Int64 = 1_704_289_510_000_000
        #expect(Timeframe.h1.bucketStart(t) == 1_704_286_800_000_000)  // 13:00
        #expect(Timeframe.h4.bucketStart(t) == 1_704_283_200_000_000)  // 12:00
        #expect(Timeframe.d1.bucketStart(t) == 1_704_240_000_000_000)  // 2024-01-03 00:00
        #expect(Timeframe.w1.bucketStart(t) == 1_704_067_200_000_000)  // Monday 2024-01-01
        #expect(Timeframe.w1.bucketStart(1_704_067_200_000_000) == 1_704_067_200_000_000)
        #expect(Timeframe.w1.bucketStart(1_704_067_199_999_999) == 1_704_067_200_000_000 - 7 * 86_400_000_000)
        // Before the epoch: 1969-12-31 23:59 is in the bucket of 23:00.
        #expect(Timeframe.h1.bucketStart(-60_000_000) == -3_600_000_000)
        #expect(Timeframe.w1.bucketStart(0) == -3 * 86_400_000_000)  // Monday 1969-12-29
        #expect(Timeframe.h1.closeTime(ofBarOpeningAt: 0) == 3_600_000_000)
        #expect(Timeframe.m5 < Timeframe.h1)
    }
}
