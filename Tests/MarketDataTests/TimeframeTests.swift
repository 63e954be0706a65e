import TestSupport
import Testing

@testable import MarketData

struct TimeframeTests {
    @Test func parsesEveryNameAndRejectsOthers() throws {
        #expect(try Timeframe(parsing: "15m") == .m15)
        #expect(try Timeframe(parsing: " 1h ") == .h1)
        #expect(Timeframe.allCases.map(\.rawValue) == ["1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w", "1M"])
        #expect(throws: TimeframeError.self) { try Timeframe(parsing: "2m") }
        do {
            _ = try Timeframe(parsing: "1y")
            Issue.record("1y parsed")
        } catch {
            #expect(error.description.hasSuffix("1m, 5m, 15m, 30m, 1h, 4h, 1d, 1w, 1M"), "\(error)")
        }
    }

    @Test func durationsAndBuckets() {
        #expect(Timeframe.h4.fixedDurationMicros == Int64(4 * 3_600_000_000))
        #expect(Timeframe.mo1.fixedDurationMicros == nil)
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

    @Test func namesAreCaseSensitive() throws {
        #expect(try Timeframe(parsing: "1m") == .m1)
        #expect(try Timeframe(parsing: "1M") == .mo1)
        #expect(Timeframe.m1 < Timeframe.mo1 && Timeframe.w1 < Timeframe.mo1)
        for wrong in ["1H", "1D", "1W", "15M", "4H", "1mo", "1Mo", "1y"] {
            do {
                _ = try Timeframe(parsing: wrong)
                Issue.record("\(wrong) parsed")
            } catch {
                #expect(error.text == wrong)
                #expect(error.description.contains("case-sensitive"), "\(error)")
                #expect(error.description.contains("1M"), "\(error)")
            }
        }
    }

    @Test func calendarMonths() {
        let day: Int64 = 86_400_000_000
        let jan2024: Int64 = 1_704_067_200_000_000  // 2024-01-01 (a Monday)
        let feb2024 = jan2024 + 31 * day
        let mar2024 = feb2024 + 29 * day  // leap year
        let apr2024 = mar2024 + 31 * day
        let tf = Timeframe.mo1
        #expect(tf.bucketStart(feb2024 + 14 * day + 12 * 3_600_000_000) == feb2024)
        #expect(tf.bucketStart(mar2024 - 1) == feb2024)
        #expect(tf.bucketStart(mar2024) == mar2024)
        #expect(tf.closeTime(ofBarOpeningAt: jan2024) == feb2024)
        #expect(tf.closeTime(ofBarOpeningAt: feb2024) == mar2024)
        #expect(tf.closeTime(ofBarOpeningAt: mar2024) == apr2024)
        #expect(tf.closeTime(ofBarOpeningAt: jan2024 - 31 * day) == jan2024)  // December 2023 → January 2024
        #expect(tf.openTime(jan2024, advancedBy: 3) == apr2024)
        #expect(tf.openTime(feb2024 + 5 * day, advancedBy: -1) == jan2024)
        #expect(tf.openTime(jan2024, advancedBy: 12) == 1_735_689_600_000_000)  // 2025-01-01
        #expect(tf.isAligned(feb2024) && !tf.isAligned(feb2024 + day) && !tf.isAligned(feb2024 + 1))
        // Before the epoch: 1969-12-15 is in December 1969, which closes at the epoch.
        #expect(tf.bucketStart(-17 * day) == -31 * day)
        #expect(tf.closeTime(ofBarOpeningAt: -31 * day) == 0)
        #expect(tf.bucketStart(0) == 0 && tf.closeTime(ofBarOpeningAt: 0) == 31 * day)
        // Weeks open on Monday: 2024-01-01 was one, so its week is [Jan 1, Jan 8).
        #expect(Timeframe.w1.bucketStart(jan2024 + 6 * day) == jan2024)
        #expect(Timeframe.w1.closeTime(ofBarOpeningAt: jan2024) == jan2024 + 7 * day)
        #expect(Timeframe.w1.isAligned(jan2024) && !Timeframe.w1.isAligned(jan2024 - day))
    }

    @Test func annualisationAndNesting() {
        #expect(Timeframe.d1.periodsPerYear == 365.25)
        #expect(Timeframe.h1.periodsPerYear == 8766)
        #expect(Timeframe.m15.periodsPerYear == 35064)
        #expect(Timeframe.w1.periodsPerYear == 52)
        #expect(Timeframe.mo1.periodsPerYear == 12)
        #expect(Timeframe.m15.nests(in: .h1) && Timeframe.h4.nests(in: .d1) && Timeframe.d1.nests(in: .w1) && Timeframe.h4.nests(in: .w1))
        #expect(Timeframe.m1.nests(in: .mo1) && Timeframe.h4.nests(in: .mo1) && Timeframe.d1.nests(in: .mo1))
        #expect(!Timeframe.w1.nests(in: .mo1) && !Timeframe.h1.nests(in: .m15) && !Timeframe.mo1.nests(in: .w1))
    }
}
