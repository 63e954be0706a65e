/// Infers and checks the timeframe of bars seen chunk by chunk, in time order.
///
/// A gap between two consecutive bars is **one bar** of a timeframe when both
/// open on its grid and the second opens where the first closes (for `1M`: on
/// the 1st of the next month). The inferred timeframe is the one with the most
/// one-bar gaps (on a tie, the finer). Every bar must then open on its grid,
/// so every gap is a whole number of its bars (weekends, holidays and missing
/// bars are fine); the first gap that is not makes the data **irregular**.
/// Data with no one-bar gap at all (a single bar, or bars that are never one
/// bar of any timeframe apart) is **undetermined**: its timeframe must be
/// declared, and is then checked with ``fits(_:)``.
public struct TimeframeInference: Sendable {
    /// Two consecutive bars: the 0-based data row of the first, and both open times.
    public struct Gap: Sendable, Equatable, CustomStringConvertible {
        /// The 0-based data row (record) of the earlier bar; the later one is `row + 1`.
        public var row: Int64
        public var from: Int64
        public var to: Int64

        public var description: String {
            "\(UTCTime.iso8601(from)) → \(UTCTime.iso8601(to)) (\(Self.span(to - from)))"
        }

        /// A length as `3d 4h 5m 6s` (largest units first, zero units left out).
        static func span(_ micros: Int64) -> String {
            var rest = micros
            var parts: [String] = []
            if rest < 0 { return "\(micros) µs" }
            for (unit, size) in [("d", Timeframe.dayMicros), ("h", 3_600_000_000), ("m", Timeframe.minuteMicros), ("s", 1_000_000)]
                as [(String, Int64)]
            {
                if rest >= size {
                    parts.append("\(rest / size)\(unit)")
                    rest %= size
                }
            }
            if rest > 0 { parts.append("\(rest)µs") }
            return parts.isEmpty ? "0s" : parts.joined(separator: " ")
        }
    }

    /// What the bars say about their timeframe.
    public enum Verdict: Sendable, Equatable {
        /// Every bar opens on this timeframe's grid and it has the most one-bar gaps.
        case timeframe(Timeframe)
        /// The bars are mostly `likely` bars apart, but `gap` is not a whole number of them.
        case irregular(likely: Timeframe, gap: Gap, oneBarGaps: Int64, gaps: Int64)
        /// No two consecutive bars are one bar of any timeframe apart (`firstGap`
        /// is nil for a single bar): the timeframe cannot be inferred.
        case undetermined(firstGap: Gap?)
    }

    private static let all = Timeframe.allCases
    private var oneBar = [Int64](repeating: 0, count: Timeframe.allCases.count)
    /// Per timeframe, the first gap whose later bar is off its grid (or the first bar, with `row == -1`).
    private var offGrid = [Gap?](repeating: nil, count: Timeframe.allCases.count)
    private var firstGap: Gap?
    private var last: Int64?
    private var lastOnMonth = false
    private var rows: Int64 = 0

    public init() {}

    /// Feeds the next bars (later than every bar fed before).
    public mutating func feed(_ timestamps: [Int64]) {
        timestamps.withUnsafeBufferPointer { t in
            for i in 0..<t.count { feed(t[i]) }
        }
    }

    /// Which grids `t` is on: `level` counts the nested grids 1m, 5m, 15m, 30m,
    /// 1h, 4h, 1d it is on (each implies the finer ones); weeks and months are on
    /// the day grid too. Constant divisors keep this to a multiply or two per bar.
    @inline(__always)
    private static func grids(_ t: Int64) -> (level: Int, week: Bool, month: Bool) {
        let m: Int64 = 60_000_000
        guard t % m == 0 else { return (0, false, false) }
        guard t % (5 * m) == 0 else { return (1, false, false) }
        guard t % (15 * m) == 0 else { return (2, false, false) }
        guard t % (30 * m) == 0 else { return (3, false, false) }
        guard t % (60 * m) == 0 else { return (4, false, false) }
        guard t % (240 * m) == 0 else { return (5, false, false) }
        guard t % (1_440 * m) == 0 else { return (6, false, false) }
        return (7, (t - 4 * 1_440 * m) % (10_080 * m) == 0, Timeframe.monthStart(t) == t)
    }

    /// One-bar gap lengths of 1m … 1d, 1w (indices of ``Timeframe/allCases``).
    private static let steps: [Int64] = Timeframe.allCases.compactMap(\.fixedDurationMicros)

    @inline(__always)
    private mutating func feed(_ t: Int64) {
        let g = Self.grids(t)
        defer {
            last = t
            lastOnMonth = g.month
            rows += 1
        }
        let week = Self.all.count - 2, month = Self.all.count - 1
        guard let previous = last else {
            let first = Gap(row: -1, from: t, to: t)
            for k in g.level..<week { offGrid[k] = first }
            if !g.week { offGrid[week] = first }
            if !g.month { offGrid[month] = first }
            return
        }
        let gap = t - previous
        if firstGap == nil { firstGap = Gap(row: rows - 1, from: previous, to: t) }
        if g.level < week || !g.week || !g.month {
            let here = Gap(row: rows - 1, from: previous, to: t)
            for k in g.level..<week where offGrid[k] == nil { offGrid[k] = here }
            if !g.week && offGrid[week] == nil { offGrid[week] = here }
            if !g.month && offGrid[month] == nil { offGrid[month] = here }
        }
        // One bar apart: the gap is the bar length and the later bar is on the grid
        // (so the earlier is too); a month: both open a month and the later closes the earlier.
        if gap <= Self.steps[week] {
            for k in 0...week where gap == Self.steps[k] {
                if k < week ? k < g.level : g.week { oneBar[k] += 1 }
                break
            }
        } else if g.month && lastOnMonth && gap <= 31 * Timeframe.dayMicros
            && Timeframe.mo1.closeTime(ofBarOpeningAt: previous) == t
        {
            oneBar[month] += 1
        }
    }

    /// The number of bars fed.
    public var count: Int64 { rows }

    /// The verdict on every bar fed so far.
    public var verdict: Verdict {
        var best: Int? = nil
        for k in Self.all.indices where oneBar[k] > 0 {
            if best == nil || oneBar[k] > oneBar[best!] { best = k }
        }
        guard let k = best else { return .undetermined(firstGap: firstGap) }
        if let gap = offGrid[k] {
            return .irregular(likely: Self.all[k], gap: gap, oneBarGaps: oneBar[k], gaps: max(rows - 1, 0))
        }
        return .timeframe(Self.all[k])
    }

    /// The inferred timeframe, or nil (irregular or undetermined).
    public var result: Timeframe? {
        if case .timeframe(let tf) = verdict { return tf }
        return nil
    }

    /// Whether every bar opens on `timeframe`'s grid (so every gap is a whole number of its bars).
    public func fits(_ timeframe: Timeframe) -> Bool {
        offGrid[Self.all.firstIndex(of: timeframe)!] == nil
    }

    /// The first gap (or the first bar, `row == -1`) off `timeframe`'s grid, or nil.
    public func firstMisfit(_ timeframe: Timeframe) -> Gap? {
        offGrid[Self.all.firstIndex(of: timeframe)!]
    }

    /// Infers the timeframe of a whole series' timestamps.
    public static func verdict(_ timestamps: [Int64]) -> Verdict {
        var inference = TimeframeInference()
        inference.feed(timestamps)
        return inference.verdict
    }
}

extension TimeframeInference.Verdict {
    /// A sentence for an error, naming the gap by its data rows (1-based, the
    /// header not counted); nil for a timeframe.
    public var problem: String? { problem(naming: { "data row \($0 + 1)" }) }

    /// A sentence for an error: why the bars' timeframe cannot be used.
    /// - Parameter name: the name of a 0-based data record, e.g. `"line 14"`.
    /// - Returns: nil for ``timeframe(_:)``.
    public func problem(naming name: (Int64) -> String) -> String? {
        switch self {
        case .timeframe: return nil
        case .irregular(let tf, let gap, let one, let gaps):
            let grid = tf == .w1 ? " (weeks open on Monday 00:00 UTC)" : tf == .mo1 ? " (months open on the 1st, 00:00 UTC)" : ""
            if gap.row < 0 {
                return "the bars fit no timeframe: \(one) of \(gaps) gaps are one \(tf) bar, but the first bar, "
                    + "\(name(0)) (\(UTCTime.iso8601(gap.from))), is not the open time of a \(tf) bar\(grid)"
            }
            return "the bars fit no timeframe: \(one) of \(gaps) gaps are one \(tf) bar, but the gap between "
                + "\(name(gap.row)) and \(name(gap.row + 1)), \(gap), is not a whole number of \(tf) bars\(grid)"
        case .undetermined(let gap?):
            return "the bars fit no timeframe: no two consecutive bars are one bar of any of "
                + Timeframe.allCases.map(\.rawValue).joined(separator: " ")
                + " apart on its UTC grid (weeks open on Monday, months on the 1st); the first gap, between "
                + "\(name(gap.row)) and \(name(gap.row + 1)), is \(gap)"
        case .undetermined(nil):
            return "a single bar does not tell its timeframe"
        }
    }
}

extension UTCTime {
    /// `YYYY-MM-DDTHH:MM:SSZ` (with `.ffffff` when the microseconds are not zero).
    package static func iso8601(_ micros: Int64) -> String {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 27) { buffer in
            let n = formatISO8601(micros, into: buffer.baseAddress!)
            return String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)
        }
    }
}
