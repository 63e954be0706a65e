import Testing
@testable import MarketData

struct TimeframeInferenceTests {
    static let day: Int64 = 86_400_000_000
    static let hour: Int64 = 3_600_000_000
    static let minute: Int64 = 60_000_000
    /// 2012-01-01 00:00 UTC.
    static let jan2012: Int64 = 1_325_376_000_000_000

    /// The first of `count` consecutive months from `start` (a month start).
    static func months(_ count: Int, from start: Int64 = jan2012) -> [Int64] {
        (0..<count).map { Timeframe.mo1.openTime(start, advancedBy: Int64($0)) }
    }

    @Test func monthlyBarsAreMonths() {
        let ts = Self.months(156)  // 2012-01 … 2024-12, like BTCUSD monthly
        #expect(TimeframeInference.verdict(ts) == .timeframe(.mo1))
        // With a missing month (a gap of two months) still monthly.
        var gapped = ts
        gapped.remove(at: 40)
        #expect(TimeframeInference.verdict(gapped) == .timeframe(.mo1))
        // Fed in chunks of any size, the same.
        for size in [1, 7, 100] {
            var inference = TimeframeInference()
            var i = 0
            while i < ts.count {
                inference.feed(Array(ts[i..<min(ts.count, i + size)]))
                i += size
            }
            #expect(inference.verdict == .timeframe(.mo1), "chunks of \(size)")
            #expect(inference.count == 156)
        }
    }

    @Test func weekdaysAreDaysAndMondaysAreWeeks() {
        // 2024-01-01 is a Monday: four weeks of Monday–Friday bars.
        let start: Int64 = 1_704_067_200_000_000
        let weekdays = (0..<28).filter { $0 % 7 < 5 }.map { start + Int64($0) * Self.day }
        #expect(TimeframeInference.verdict(weekdays) == .timeframe(.d1))
        let mondays = (0..<10).map { start + Int64($0) * 7 * Self.day }
        #expect(TimeframeInference.verdict(mondays) == .timeframe(.w1))
        // Weekly bars opening on Sunday are on no week grid: nothing is one bar apart.
        let sundays = mondays.map { $0 - Self.day }
        guard case .undetermined(let gap?) = TimeframeInference.verdict(sundays) else {
            Issue.record("Sunday weeks: \(TimeframeInference.verdict(sundays))")
            return
        }
        #expect(gap.row == 0 && gap.to - gap.from == 7 * Self.day)
    }

    @Test func aBarOffTheGridMakesTheDataIrregular() {
        // Hourly bars, one of them at 10:37.
        let start: Int64 = 1_704_067_200_000_000
        var ts = (0..<24).map { start + Int64($0) * Self.hour }
        ts[10] += 37 * Self.minute
        let verdict = TimeframeInference.verdict(ts)
        guard case .irregular(let likely, let gap, let one, let gaps) = verdict else {
            Issue.record("\(verdict)")
            return
        }
        #expect(likely == .h1 && one == 21 && gaps == 23)
        #expect(gap == TimeframeInference.Gap(row: 9, from: ts[9], to: ts[10]))
        let text = verdict.problem(naming: { "line \($0 + 2)" }) ?? ""
        #expect(text.contains("between line 11 and line 12"), "\(text)")
        #expect(text.contains("2024-01-01T09:00:00Z → 2024-01-01T10:37:00Z (1h 37m)"), "\(text)")
        #expect(text.contains("not a whole number of 1h bars"), "\(text)")
    }

    @Test func gapsThatAreNoTimeframeAreUndetermined() {
        let start: Int64 = 1_704_067_200_000_000
        let ts = [start, start + 7 * Self.minute, start + 20 * Self.minute, start + 31 * Self.minute]
        let verdict = TimeframeInference.verdict(ts)
        #expect(verdict == .undetermined(firstGap: TimeframeInference.Gap(row: 0, from: ts[0], to: ts[1])))
        var inference = TimeframeInference()
        inference.feed(ts)
        #expect(inference.fits(.m1) && !inference.fits(.m5))
        #expect(inference.firstMisfit(.m5) == TimeframeInference.Gap(row: 0, from: ts[0], to: ts[1]))
        #expect(verdict.problem?.contains("between data row 1 and data row 2") == true)
        #expect(TimeframeInference.verdict([start]) == .undetermined(firstGap: nil))
        #expect(TimeframeInference.verdict([]) == .undetermined(firstGap: nil))
        // Seconds off the minute grid: a first bar off every grid is named as such.
        let odd = [start + 30_000_000, start + 90_000_000, start + 150_000_000]
        #expect(TimeframeInference.verdict(odd) == .undetermined(firstGap: TimeframeInference.Gap(row: 0, from: odd[0], to: odd[1])))
    }

    @Test func theMostCommonOneBarGapWinsAndTiesGoToTheFiner() {
        let start: Int64 = 1_704_067_200_000_000
        // 00:00, 01:00, 01:30: one 1h gap and one 30m gap; 30m fits every bar.
        #expect(TimeframeInference.verdict([start, start + Self.hour, start + 90 * Self.minute]) == .timeframe(.m30))
        // Mostly 15m bars with one 5m step: 15m is the likely timeframe, the 5m step breaks it.
        let ts = [0, 15, 30, 45, 60, 65].map { start + Int64($0) * Self.minute }
        guard case .irregular(.m15, let gap, 4, 5) = TimeframeInference.verdict(ts) else {
            Issue.record("\(TimeframeInference.verdict(ts))")
            return
        }
        #expect(gap.row == 4)
    }
}
