/// A bar duration that SignalForge understands: `1m 5m 15m 30m 1h 4h 1d 1w 1M`.
///
/// Names are **case-sensitive**: `1m` is one minute, `1M` one calendar month.
///
/// Buckets are aligned on UTC: a bar of a fixed-length timeframe opens at a
/// multiple of its length since the Unix epoch, except weeks, which open on
/// Monday 00:00 UTC (1970-01-05 was a Monday); a month bar opens on the 1st of
/// its month, 00:00 UTC, and closes when the next month opens (28 to 31 days).
/// So a month has no constant length: use ``bucketStart(_:)``,
/// ``closeTime(ofBarOpeningAt:)`` and ``openTime(_:advancedBy:)`` rather than
/// arithmetic on a duration; ``fixedDurationMicros`` is `nil` for `1M`.
public enum Timeframe: String, CaseIterable, Sendable, Hashable, Comparable, CustomStringConvertible {
    case m1 = "1m"
    case m5 = "5m"
    case m15 = "15m"
    case m30 = "30m"
    case h1 = "1h"
    case h4 = "4h"
    case d1 = "1d"
    case w1 = "1w"
    case mo1 = "1M"

    /// Microseconds in one minute.
    public static let minuteMicros: Int64 = 60_000_000
    /// Microseconds in one day.
    public static let dayMicros: Int64 = 86_400_000_000

    /// Parses a timeframe name such as `"15m"` (case-sensitive; surrounding spaces ignored).
    /// - Parameter text: the name.
    /// - Throws: ``TimeframeError`` naming the allowed values when `text` is not one of them
    ///   (`1H`, `1D` or `1W` are refused: only `m` and `M` differ in meaning).
    public init(parsing text: String) throws(TimeframeError) {
        let trimmed = text.trimmingSpaces()
        guard let tf = Timeframe(rawValue: trimmed) else { throw TimeframeError(text: text) }
        self = tf
    }

    /// Whether the bars have a calendar length (`1M`) rather than a fixed one.
    public var isCalendar: Bool { self == .mo1 }

    /// The bar length in microseconds, or `nil` for `1M` (28 to 31 days).
    public var fixedDurationMicros: Int64? {
        switch self {
        case .m1: return Self.minuteMicros
        case .m5: return 5 * Self.minuteMicros
        case .m15: return 15 * Self.minuteMicros
        case .m30: return 30 * Self.minuteMicros
        case .h1: return 60 * Self.minuteMicros
        case .h4: return 240 * Self.minuteMicros
        case .d1: return Self.dayMicros
        case .w1: return 7 * Self.dayMicros
        case .mo1: return nil
        }
    }

    /// The average bar length in microseconds (a month: 365.2425 / 12 days). Only
    /// for ordering timeframes and estimating sizes, never to place a bar.
    public var nominalDurationMicros: Int64 { fixedDurationMicros ?? 2_629_746_000_000 }

    /// The shortest bar length in microseconds (a month: 28 days).
    public var minimumDurationMicros: Int64 { fixedDurationMicros ?? 28 * Self.dayMicros }

    /// The offset of the bucket grid from the epoch: 4 days for weeks (Monday 1970-01-05), else 0.
    public var originMicros: Int64 { self == .w1 ? 4 * Self.dayMicros : 0 }

    /// Bars in a year, for annualising per-bar figures: `365.25 days / length`
    /// for `1m` … `1d` (so `1d` → 365.25, `1h` → 8,766), 52 for `1w`, 12 for `1M`.
    public var periodsPerYear: Double {
        switch self {
        case .w1: return 52
        case .mo1: return 12
        default: return 365.25 * Double(Self.dayMicros) / Double(fixedDurationMicros!)
        }
    }

    /// The open time of the UTC-aligned bar that contains `timestamp`.
    /// - Parameter timestamp: microseconds since the Unix epoch, UTC (negative values allowed).
    /// - Returns: the largest bucket start `≤ timestamp`.
    @inlinable
    public func bucketStart(_ timestamp: Int64) -> Int64 {
        guard let d = fixedDurationMicros else { return Self.monthStart(timestamp) }
        let shifted = timestamp - originMicros
        var q = shifted / d
        if shifted % d < 0 { q -= 1 }
        return q * d + originMicros
    }

    /// The close time of the bar that opens at `openTime`: the next bucket's
    /// open time (for `1M`, the 1st of the next month). A bar's values are known
    /// from this moment on.
    /// - Parameter openTime: a bucket start of this timeframe.
    @inlinable
    public func closeTime(ofBarOpeningAt openTime: Int64) -> Int64 {
        guard let d = fixedDurationMicros else { return Self.addingMonths(1, toMonthStart: Self.monthStart(openTime)) }
        return openTime + d
    }

    /// The open time `bars` buckets after the bucket that contains `openTime`.
    /// - Parameters:
    ///   - openTime: a time; its bucket is the start.
    ///   - bars: buckets to move (may be negative).
    @inlinable
    public func openTime(_ openTime: Int64, advancedBy bars: Int64) -> Int64 {
        guard let d = fixedDurationMicros else { return Self.addingMonths(bars, toMonthStart: Self.monthStart(openTime)) }
        return bucketStart(openTime) + bars * d
    }

    /// Whether `timestamp` is the open time of a bucket of this timeframe.
    @inlinable
    public func isAligned(_ timestamp: Int64) -> Bool {
        guard let d = fixedDurationMicros else {
            return timestamp % Self.dayMicros == 0 && Self.monthStart(timestamp) == timestamp
        }
        return (timestamp - originMicros) % d == 0
    }

    /// Whether every bucket of `coarser` is a whole number of buckets of this
    /// timeframe (so resampling through this timeframe gives the same bars):
    /// `1m … 1d` nest in `1w` and `1M`; `1w` does not nest in `1M`.
    public func nests(in coarser: Timeframe) -> Bool {
        guard self < coarser else { return self == coarser }
        guard let mine = fixedDurationMicros else { return false }
        guard let theirs = coarser.fixedDurationMicros else { return Self.dayMicros % mine == 0 }
        return theirs % mine == 0 && (coarser.originMicros - originMicros) % mine == 0
    }

    /// The 1st of the month of `timestamp`, 00:00 UTC.
    @usableFromInline
    static func monthStart(_ timestamp: Int64) -> Int64 {
        var days = timestamp / Self.dayMicros
        if timestamp % Self.dayMicros < 0 { days -= 1 }
        let (y, m, _) = UTCTime.civilFromDays(days)
        return UTCTime.daysFromCivil(year: y, month: m, day: 1) * Self.dayMicros
    }

    /// The 1st of the month `months` after the month opening at `start`.
    @usableFromInline
    static func addingMonths(_ months: Int64, toMonthStart start: Int64) -> Int64 {
        let (y, m, _) = UTCTime.civilFromDays(start / Self.dayMicros)
        let index = y * 12 + (m - 1) + months
        var year = index / 12
        var month = index % 12
        if month < 0 { month += 12; year -= 1 }
        return UTCTime.daysFromCivil(year: year, month: month + 1, day: 1) * Self.dayMicros
    }

    public static func < (lhs: Timeframe, rhs: Timeframe) -> Bool { lhs.nominalDurationMicros < rhs.nominalDurationMicros }

    public var description: String { rawValue }
}

/// A timeframe name that is not one of `1m 5m 15m 30m 1h 4h 1d 1w 1M`.
public struct TimeframeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text that failed to parse.
    public var text: String

    public var description: String {
        "unknown timeframe '\(text)'; allowed (case-sensitive: 1m is a minute, 1M a month): "
            + Timeframe.allCases.map(\.rawValue).joined(separator: ", ")
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
