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

    /// The fast path (constant divisors, nested grids) agrees with the definition
    /// written plainly with `isAligned` and `closeTime`, on random series.
    @Test func agreesWithThePlainDefinition() {
        func reference(_ ts: [Int64]) -> TimeframeInference.Verdict {
            let all = Timeframe.allCases
            var one = [Int64](repeating: 0, count: all.count)
            var off = [TimeframeInference.Gap?](repeating: nil, count: all.count)
            for (i, t) in ts.enumerated() {
                for (k, tf) in all.enumerated() {
                    if i > 0 && tf.isAligned(ts[i - 1]) && tf.isAligned(t) && tf.closeTime(ofBarOpeningAt: ts[i - 1]) == t { one[k] += 1 }
                    if !tf.isAligned(t) && off[k] == nil {
                        off[k] = i == 0 ? .init(row: -1, from: t, to: t) : .init(row: Int64(i - 1), from: ts[i - 1], to: t)
                    }
                }
            }
            var best: Int? = nil
            for k in all.indices where one[k] > 0 && (best == nil || one[k] > one[best!]) { best = k }
            guard let k = best else {
                return .undetermined(firstGap: ts.count > 1 ? .init(row: 0, from: ts[0], to: ts[1]) : nil)
            }
            if let g = off[k] { return .irregular(likely: all[k], gap: g, oneBarGaps: one[k], gaps: Int64(ts.count - 1)) }
            return .timeframe(all[k])
        }
        var state: UInt64 = 99
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        let steps: [Int64] = [
            Self.minute, 5 * Self.minute, 15 * Self.minute, Self.hour, 4 * Self.hour, Self.day, 7 * Self.day, 7 * Self.minute, 30_000_000,
        ]
        for trial in 0..<400 {
            var t: Int64 = [1_704_067_200_000_000, 1_706_745_600_000_000, -86_400_000_000, 1_704_067_200_000_000 + 37 * Self.minute][
                next(4)]
            var ts: [Int64] = []
            let kind = next(steps.count + 1)
            for _ in 0..<(1 + next(60)) {
                ts.append(t)
                if kind == steps.count {
                    t = Timeframe.mo1.openTime(t, advancedBy: Int64(1 + next(3) / 2))  // months, sometimes two
                } else {
                    t += steps[next(10) == 0 ? next(steps.count) : kind] * Int64(1 + next(4) / 3)
                }
            }
            #expect(TimeframeInference.verdict(ts) == reference(ts), "trial \(trial): \(ts)")
        }
    }
}
